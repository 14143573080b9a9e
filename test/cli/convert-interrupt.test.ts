// Ctrl-C / SIGTERM during a conversion: the temporary files go, the exit code is 130; and the progress bar
// appears on a terminal only.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, folder } from '../helpers/convert.js';

const TEMPORARY = /\.rawbright-.*\.(tmp|v)$/;

/** Starts the CLI, waits for a temporary file in `dir`, sends `signal`, and resolves with the exit. */
function interruptWhenWriting(
  dir: string,
  args: string[],
  signal: NodeJS.Signals,
): Promise<{ code: number | null; stderr: string; sawTemporary: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sawTemporary = false;
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const poll = setInterval(() => {
      if (readdirSync(dir).some((name) => TEMPORARY.test(name))) {
        sawTemporary = true;
        clearInterval(poll);
        // A moment more, so the work is well under way (mapped windows, open handles).
        setTimeout(() => child.kill(signal), 100);
      }
    }, 5);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ code, stderr, sawTemporary });
    });
  });
}

describe('an interrupted conversion', () => {
  it('create: SIGINT removes the temporary files and exits 130', async () => {
    const dir = folder();
    const result = await interruptWhenWriting(
      dir,
      ['create', join(dir, 'big.raw'), '--width', '16384', '--height', '8192', '--pattern', 'noise'],
      'SIGINT',
    );
    expect(result.sawTemporary).toBe(true);
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/^rawbright: interrupted; removed \d temporary files?\n$/);
    expect(readdirSync(dir)).toEqual([]);
  }, 60_000);

  it('export: SIGINT and SIGTERM remove the half-written image and exit 130', async () => {
    const dir = folder();
    const raw = join(dir, 'src.raw');
    const made = spawnSync('node', [
      CLI,
      'create',
      raw,
      '--width',
      '8192',
      '--height',
      '4096',
      '--pattern',
      'noise',
    ]);
    expect(made.status).toBe(0);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const result = await interruptWhenWriting(
        dir,
        ['export', raw, join(dir, 'out.png'), '--compression', '9'],
        signal,
      );
      expect(result.sawTemporary).toBe(true);
      expect(result.code).toBe(130);
      expect(readdirSync(dir).sort()).toEqual(['src.raw', 'src.raw.json']);
    }
  }, 120_000);

  it('a progress bar on a terminal only', () => {
    const dir = folder();
    const piped = spawnSync(
      'node',
      [CLI, 'create', join(dir, 'a.raw'), '--width', '4096', '--height', '4096'],
      {
        encoding: 'utf8',
      },
    );
    expect(piped.status).toBe(0);
    expect(piped.stderr).toBe('');
    // `script` gives the child a terminal; what the terminal shows comes back on our stdout.
    const command = `node ${CLI} create ${join(dir, 'b.raw')} --width 8192 --height 8192`;
    const onTerminal = spawnSync('script', ['-qec', command, '/dev/null'], {
      encoding: 'utf8',
      env: { ...process.env, COLUMNS: '80' },
    });
    expect(onTerminal.status).toBe(0);
    expect(onTerminal.stdout).toMatch(/\[[█░]+\] \d+%/);
    expect(onTerminal.stdout).toMatch(/created .*b\.raw: 8192x8192/);
  }, 60_000);
});
