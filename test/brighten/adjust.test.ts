// adjustFile / adjustFiles (issue 15): a chain through brighten's pipeline, checked against the float64 reference
// (test/helpers/adjust-reference.ts); bad ops change nothing; a SIGKILLed adjust resumes to the same bytes.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type AdjustOp, adjustFile, adjustFiles, brightenFile, resumeFile } from '../../dist/index.js';
import { reference } from '../helpers/adjust-reference.js';
import { randomBytes, sha256, tempDir, writeRaw } from '../helpers/raw.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);
let serial = 0;
const journalOf = (path: string): string => `${realpathSync(path)}.rawbright-journal`;
const fixture = (bytes: Buffer): string => {
  const path = join(dir, `f${serial++}.raw`);
  writeRaw(path, bytes);
  return path;
};

/** The chain on a headerless RGBA file, sample by sample; alpha stays unless `alpha`. */
function expectedAdjust(input: Buffer, ops: AdjustOp[], type: 'uint16' | 'int16', alpha = false): Buffer {
  const out = Buffer.from(input);
  const [lo, hi] = type === 'uint16' ? [0, 65535] : [-32768, 32767];
  for (let i = 0; i < out.length; i += 2) {
    const band = (i >> 1) % 4;
    if (band === 3 && !alpha) continue;
    const x = type === 'uint16' ? out.readUInt16LE(i) : out.readInt16LE(i);
    const y = reference(ops, band, x, lo as number, hi as number);
    if (type === 'uint16') out.writeUInt16LE(y, i);
    else out.writeInt16LE(y, i);
  }
  return out;
}

const CHAIN: AdjustOp[] = [
  { op: 'levels', black: [900, 1000, 1100, 0], white: 60000 },
  { op: 'gain', value: 1.08 },
  { op: 'gamma', value: [2.2, 1.8, 1.4, 1] },
  { op: 'add', value: -12.5 },
  { op: 'invert' },
];

describe('adjustFile', () => {
  for (const type of ['uint16', 'int16'] as const) {
    it(`applies a chain in place, ${type}, every kernel the same bytes`, async () => {
      const input = randomBytes(3 * 1024 * 1024 + 8 * 7, 7);
      const want = expectedAdjust(input, CHAIN, type);
      for (const kernel of ['js', 'wasm', 'wasm-simd', 'native'] as const) {
        const path = fixture(input);
        const report = await adjustFile(path, { ops: CHAIN, type, kernel, window: 1024 * 1024 });
        expect(report.path).toBe(path);
        expect(readFileSync(path).equals(want), kernel).toBe(true);
        expect(existsSync(journalOf(path))).toBe(false);
      }
    });
  }

  it('changes alpha when asked, and writes out of place', async () => {
    const input = randomBytes(64 * 1024, 3);
    const path = fixture(input);
    const out = join(dir, 'out.raw');
    await adjustFile(path, { ops: [{ op: 'invert' }], alpha: true, out });
    expect(readFileSync(out).equals(expectedAdjust(input, [{ op: 'invert' }], 'uint16', true))).toBe(true);
    expect(readFileSync(path).equals(input)).toBe(true);
  });

  it('add alone equals brighten byte for byte', async () => {
    const input = randomBytes(256 * 1024, 5);
    const a = fixture(input);
    const b = fixture(input);
    await adjustFile(a, { ops: [{ op: 'add', value: 3000 }], type: 'int16' });
    await brightenFile(b, { by: 3000, type: 'int16' });
    expect(sha256(a)).toBe(sha256(b));
  });

  it('takes a value per band but alpha when alpha is left alone', async () => {
    const input = randomBytes(64 * 1024, 15);
    const path = fixture(input);
    const ops: AdjustOp[] = [{ op: 'gain', value: [1.1, 1, 0.9] }];
    await adjustFile(path, { ops });
    expect(
      readFileSync(path).equals(expectedAdjust(input, [{ op: 'gain', value: [1.1, 1, 0.9, 7] }], 'uint16')),
    ).toBe(true);
  });

  it('adjustFiles adjusts each file once', async () => {
    const input = randomBytes(64 * 1024, 9);
    const a = fixture(input);
    const b = fixture(input);
    const reports = await adjustFiles([a, b, a], { ops: [{ op: 'gain', value: 0.5 }] });
    expect(reports).toHaveLength(2);
    const want = expectedAdjust(input, [{ op: 'gain', value: 0.5 }], 'uint16');
    expect(readFileSync(a).equals(want) && readFileSync(b).equals(want)).toBe(true);
  });

  const bad: [string, unknown, boolean?][] = [
    ['gain below 0', [{ op: 'gain', value: -1 }]],
    ['levels B ≥ W', [{ op: 'levels', black: 100, white: 100 }]],
    ['gamma 0', [{ op: 'gamma', value: 0 }]],
    ['NaN', [{ op: 'add', value: Number.NaN }]],
    ['Infinity', [{ op: 'gain', value: Number.POSITIVE_INFINITY }]],
    ['more values than bands', [{ op: 'gain', value: [1, 1, 1, 1, 1] }]],
    ['2 values for 4 bands', [{ op: 'gain', value: [1, 1] }]],
    ['3 values for 4 bands with alpha', [{ op: 'gain', value: [1, 1, 1] }], true],
    ['unknown op', [{ op: 'blur' }]],
    ['no ops', []],
  ];
  for (const [name, ops, alpha] of bad) {
    it(`refuses ${name} and changes nothing`, async () => {
      const input = randomBytes(64 * 1024, 11);
      const path = fixture(input);
      const error = await adjustFile(path, { ops: ops as AdjustOp[], alpha: alpha === true }).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      expect((error as Error).message).not.toContain('\n');
      expect(readFileSync(path).equals(input)).toBe(true);
      expect(existsSync(journalOf(path))).toBe(false);
    });
  }
});

/** A module file for the child (worker threads inherit execArgv, so no --input-type=module -e). */
function childScript(text: string): string {
  const path = join(dir, 'child.mjs');
  writeFileSync(path, text);
  return path;
}

describe('a SIGKILLed adjust', () => {
  it('resumes to exactly the bytes of an uninterrupted run', async () => {
    const input = randomBytes(8 * 1024 * 1024, 13);
    const path = fixture(input);
    const index = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
    // The child kills itself with SIGKILL after its second window: no cleanup runs.
    const script = `
      import { adjustFile } from ${JSON.stringify(index)};
      await adjustFile(process.env.ADJUST_PATH, {
        ops: JSON.parse(process.env.ADJUST_OPS),
        window: 256 * 1024,
        workers: 1,
        onProgress: (p) => { if (p.windowsDone === 2) process.kill(process.pid, 'SIGKILL'); },
      });
    `;
    const child = spawn(process.execPath, [childScript(script)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ADJUST_PATH: path, ADJUST_OPS: JSON.stringify(CHAIN) },
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const signal = await new Promise<NodeJS.Signals | null>((done) => child.on('close', (_, s) => done(s)));
    expect({ signal, stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
    const want = expectedAdjust(input, CHAIN, 'uint16');
    expect(readFileSync(path).equals(want)).toBe(false);
    const report = await resumeFile(path);
    expect(report.resumed).toBe(true);
    expect(readFileSync(path).equals(want)).toBe(true);
  }, 60_000);
});
