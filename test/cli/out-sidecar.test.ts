// `brighten --out` / `adjust --out` of a raw file with a sidecar: the output gets its own sidecar, so
// `info` and `export` read it as they read the input.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, folder } from '../helpers/convert.js';

function rawbright(...args: string[]) {
  return spawnSync('node', [CLI, ...args], { encoding: 'utf8' });
}

describe('--out and sidecars', () => {
  it('brighten --out writes the output sidecar; info reads the output', () => {
    const dir = folder();
    const raw = join(dir, 'in.raw');
    expect(rawbright('create', raw, '--width', '64', '--height', '32', '--type', 'int16').status).toBe(0);
    const out = join(dir, 'bright.raw');
    const run = rawbright('brighten', raw, '--by', '100', '--out', out);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(readFileSync(`${out}.json`, 'utf8'))).toEqual(
      JSON.parse(readFileSync(`${raw}.json`, 'utf8')),
    );
    const info = rawbright('info', out, '--json');
    expect(info.status).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ width: 64, height: 32, sampleType: 'int16' });
    // Replacing the output replaces its sidecar too.
    expect(rawbright('adjust', raw, '--gain', '2', '--out', out, '--overwrite').status).toBe(0);
    expect(rawbright('info', out).status).toBe(0);
  });

  it('no sidecar on the input, none on the output', () => {
    const dir = folder();
    const raw = join(dir, 'plain.raw');
    writeFileSync(raw, Buffer.alloc(8 * 100));
    const out = join(dir, 'plain-out.raw');
    expect(rawbright('brighten', raw, '--by', '1', '--out', out).status).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(existsSync(`${out}.json`)).toBe(false);
  });
});
