// The progress bar: fits an 80-column terminal with a long path, sizes in a fitting unit, and a clean
// terminal after Ctrl-C.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fitLabel, formatAmount } from '../../src/cli/progress.js';
import { CLI, folder } from '../helpers/convert.js';

/** Runs `command` on a pseudo-terminal (`script`) of `columns` columns; resolves with what it showed. */
function onTerminal(command: string, columns: number): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', `stty cols ${columns} rows 24; ${command}`, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.on('data', (chunk) => {
      screen += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, screen }));
  });
}

const ESC = String.fromCharCode(27);
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escapes are the point.
const ESCAPES = /\u001b\[[0-9;?]*[A-Za-z]|\u001b[78]/g;

describe('the progress bar', () => {
  it('shortens a long label in the middle and shows sizes in the unit of the total', () => {
    expect(fitLabel('short.raw', 20)).toBe('short.raw');
    const long = `/data/${'deep/'.repeat(20)}final-scan-0042.raw`;
    const fitted = fitLabel(long, 30);
    expect([...fitted]).toHaveLength(30);
    expect(fitted).toMatch(/^\/data.*…\/final-scan-0042\.raw$/);
    expect(formatAmount(512, 800)).toBe('512/800 B');
    expect(formatAmount(1024 * 1024, 8 * 1024 * 1024)).toBe('1024.00/8192.00 KiB');
    expect(formatAmount(3 * 1024 ** 3, 6 * 1024 ** 3)).toBe('3072.00/6144.00 MiB');
    expect(formatAmount(1024 ** 4, 6 * 1024 ** 4)).toBe('1024.00/6144.00 GiB');
    expect(formatAmount(1024 ** 4, 12 * 1024 ** 4)).toBe('1.00/12.00 TiB');
  });

  it('fits 80 columns with a long path: GB/s and ETA stay on the line', async () => {
    const dir = join(folder(), 'a-very-long-folder-name-for-the-scans-of-the-whole-archive-of-2026');
    mkdirSync(dir);
    const raw = join(dir, 'an-equally-long-file-name-for-one-scan.raw');
    writeFileSync(raw, Buffer.alloc(32 * 1024 * 1024));
    const { code, screen } = await onTerminal(
      `node ${CLI} brighten ${raw} --by 5 --window 256KiB --kernel js --durable`,
      80,
    );
    expect(code).toBe(0);
    const frames = screen
      .replaceAll(`${ESC}[1G`, '\n')
      .split(/\r|\n/)
      .map((line) => line.replace(ESCAPES, ''))
      .filter((line) => line.includes('%'));
    expect(frames.length).toBeGreaterThan(0);
    for (const frame of frames) {
      expect([...frame].length).toBeLessThanOrEqual(80);
      expect(frame).toMatch(/^\S*…\S*\.raw \[.*\] \d+% \| [\d.]+\/32\.00 MiB \| [\d.-]+ GB\/s \| ETA \S+$/);
    }
  }, 60_000);

  it('Ctrl-C: the bar is cleared before the "stopping" message, which stays on screen', async () => {
    const dir = folder();
    const raw = join(dir, 'big.raw');
    writeFileSync(raw, Buffer.alloc(64 * 1024 * 1024));
    // The shell sends SIGINT once the run is under way, as a terminal's Ctrl-C would.
    const { screen } = await onTerminal(
      `node ${CLI} brighten ${raw} --by 5 --window 64KiB --kernel js --durable & sleep 1.5; kill -INT $!; wait $!; echo "exit=$?"`,
      80,
    );
    expect(screen).toMatch(/exit=130/);
    const at = screen.indexOf('rawbright: stopping after the current window...');
    expect(at).toBeGreaterThan(0);
    const after = screen.slice(at).replaceAll(`${ESC}[?25h`, '');
    // Nothing moves the cursor back over the message or clears it.
    expect(after.includes(ESC)).toBe(false);
    expect(after.replaceAll('\r\n', '\n').includes('\r')).toBe(false);
  }, 60_000);
});
