// `brighten --dry-run` / `adjust --dry-run`: a plan per file, and nothing on the disk changes.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, folder, snapshot } from '../helpers/convert.js';

function rawbright(...args: string[]) {
  return spawnSync('node', [CLI, ...args], { encoding: 'utf8' });
}

describe('--dry-run', () => {
  it('prints the plan of each file and changes nothing (no journal, no mark, no run log)', () => {
    const dir = folder();
    const raw = join(dir, 'a.raw');
    expect(rawbright('create', raw, '--width', '512', '--height', '512').status).toBe(0);
    const before = snapshot(dir);
    const text = rawbright('brighten', raw, '--by', '5', '--dry-run', '--window', '512KiB', '--workers', '2');
    expect(text.stderr).toBe('');
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(
      /^would change .*a\.raw: raw \(uint16, little-endian, 4 bands \(RGBA\), from its sidecar\), 2 MiB of 2 MiB, 4 windows of 512 KiB, 2 workers, \w+, journal [\d.]+ [KM]iB, needs [\d.]+ [KM]iB free space \([\d.]+ \w+ free\)\n$/,
    );
    expect(snapshot(dir)).toEqual(before);

    const plain = join(dir, 'plain.raw');
    writeFileSync(plain, Buffer.alloc(8 * 64));
    const before2 = snapshot(dir);
    const json = rawbright(
      'adjust',
      raw,
      plain,
      'missing.raw',
      '--gain',
      '2',
      '--dry-run',
      '--json',
      '--no-journal',
    );
    expect(json.status).toBe(1);
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      status: 'done',
      format: 'raw',
      bytes: 2 * 1024 * 1024,
      windows: 1,
      workers: 1,
      journal: { used: false, bytes: 0 },
      freeSpaceNeeded: 0,
    });
    expect(lines[1]).toMatchObject({ status: 'done', layout: expect.stringMatching(/^uint16/), bytes: 512 });
    expect(lines[2]).toMatchObject({ status: 'failed', code: 'ENOENT' });
    expect(snapshot(dir)).toEqual(before2);

    // With a journal, the plan's size is the one a run needs; into --out, the whole copy.
    const out = JSON.parse(
      rawbright('brighten', raw, '--by', '1', '--dry-run', '--json', '--out', join(dir, 'o.raw')).stdout,
    );
    expect(out).toMatchObject({
      out: join(dir, 'o.raw'),
      freeSpaceNeeded: 2 * 1024 * 1024,
      journal: { used: false },
    });
    const inPlace = JSON.parse(rawbright('brighten', raw, '--by', '1', '--dry-run', '--json').stdout);
    expect(inPlace.journal.used).toBe(true);
    // A slot: its header page and a ring of the 48 KiB chunk the kernel records.
    expect(inPlace.journal.bytes).toBeGreaterThan(48 * 1024);
    expect(inPlace.freeSpaceNeeded).toBe(inPlace.journal.bytes);
    expect(snapshot(dir)).toEqual(before2);
    // The real run afterwards is not refused as already done.
    expect(rawbright('brighten', raw, '--by', '1').status).toBe(0);
  });

  it('bad options are refused as a run would refuse them', () => {
    const dir = folder();
    const raw = join(dir, 'b.raw');
    writeFileSync(raw, Buffer.alloc(12));
    const result = rawbright('brighten', raw, '--by', '1', '--dry-run');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^rawbright: .*b\.raw.*\n$/);
  });
});
