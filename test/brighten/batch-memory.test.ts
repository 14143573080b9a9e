// Memory stays flat over a batch (issue #13): brightenFiles over many small files holds no fd, no
// mapping and no memory per file, on the calling thread (400 files: four rounds over the same 100) and
// with a worker thread a file (200 files). The batch runs in a child process with a fixed young
// generation (--max-semi-space-size=1), so V8's growth of its own young generation under a steady
// allocation rate (bounded, up to 32 MiB, and not the batch's) is not taken for a leak.
// Measured (64 KiB files, `node --expose-gc --max-semi-space-size=1 test/helpers/batch-memory-child.mjs
// DIR 50 5 worker`): in thread, fds 20 -> 20, maps 145 -> 149 (V8 heap pages), RSS ~2 KiB a file; with
// workers, ~3.5 KiB a file, and 32.6 KiB a file before workers took their parent's wasm module. A leaked
// fd, mapping, wasm memory or 64 KiB buffer per file fails the checks below by a wide margin.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/raw.js';

const CHILD = fileURLToPath(new URL('../helpers/batch-memory-child.mjs', import.meta.url));
const tmp = tempDir();
afterAll(() => tmp.cleanup());

interface Sample {
  files: number;
  fds: number;
  maps: number;
  rss: number;
  heapUsed: number;
  external: number;
}

function runChild(files: number, rounds: number, mode: 'inThread' | 'worker'): Sample[] {
  const result = spawnSync(
    process.execPath,
    ['--expose-gc', '--max-semi-space-size=1', CHILD, tmp.dir, String(files), String(rounds), mode],
    { encoding: 'utf8' },
  );
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const samples: Sample[] = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(samples.map((s) => s.files)).toEqual(Array.from({ length: rounds }, (_, i) => (i + 1) * files));
  return samples;
}

function expectFlat(samples: Sample[]): void {
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const files = last.files - first.files;
  // Every fd a file's run opens (the file, its journal, its lock) is closed.
  expect(samples.map((s) => s.fds)).toEqual(samples.map(() => first.fds));
  // Each file's mappings (its windows, a wasm memory) are unmapped: a few new V8 heap pages at most,
  // where one leaked mapping a file would add hundreds.
  expect(last.maps - first.maps).toBeLessThanOrEqual(16);
  // RSS: below 16 KiB a file (measured 2-4; one 64 KiB window or buffer kept a file would be 64).
  expect((last.rss - first.rss) / files).toBeLessThan(16 * 1024);
  // Memory outside the JS heap (Buffers, ArrayBuffers, wasm memories) and the heap itself stay flat.
  expect(last.external - first.external).toBeLessThan(4 * 1024 * 1024);
  expect(last.heapUsed - first.heapUsed).toBeLessThan(4 * 1024 * 1024);
}

describe('a batch of small files holds no fd, no mapping and no memory per file', () => {
  it('on the calling thread: after 400 files as after the first 100', () => {
    expectFlat(runChild(100, 4, 'inThread'));
  });

  it('with a worker thread a file: after 250 files as after the first 50', () => {
    expectFlat(runChild(50, 5, 'worker'));
  });
});
