// Memory stays flat over a batch (issue #13): brightenFiles on the calling thread over 400 small files
// (four rounds over the same 100) holds no fd, no mapping and no memory per file. The batch runs in a
// child process with a fixed young generation (--max-semi-space-size=1), so V8's growth of its own
// young generation under a steady allocation rate (bounded, up to 32 MiB, and not the batch's) is not
// taken for a leak. Measured (64 KiB files): fds 20 → 20, maps 145 → 149 (V8 heap pages), RSS about
// +0.9 MiB from 100 to 800 files (~2 KiB a file, the JS heap flat). A leaked fd, mapping, wasm memory or
// 64 KiB buffer per file fails the checks below by a wide margin.
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

describe('a batch of small files on the calling thread', () => {
  it('holds no fd, no mapping and no memory per file: after 400 files as after the first 100', () => {
    const result = spawnSync(
      process.execPath,
      ['--expose-gc', '--max-semi-space-size=1', CHILD, tmp.dir, '100', '4'],
      { encoding: 'utf8' },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const samples: Sample[] = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(samples.map((s) => s.files)).toEqual([100, 200, 300, 400]);
    const first = samples[0]!;
    const last = samples.at(-1)!;
    const files = last.files - first.files;
    // Every fd a file's run opens (the file, its journal, its lock) is closed.
    expect(samples.map((s) => s.fds)).toEqual(samples.map(() => first.fds));
    // Each file's mappings (its windows, a wasm memory) are unmapped: a few new V8 heap pages at most,
    // where one leaked mapping a file would add 300.
    expect(last.maps - first.maps).toBeLessThanOrEqual(16);
    // RSS: below 16 KiB a file (measured ~2-3; one 64 KiB window or buffer kept a file would be 64).
    expect((last.rss - first.rss) / files).toBeLessThan(16 * 1024);
    // Memory outside the JS heap (Buffers, ArrayBuffers, wasm memories) and the heap itself stay flat.
    expect(last.external - first.external).toBeLessThan(4 * 1024 * 1024);
    expect(last.heapUsed - first.heapUsed).toBeLessThan(4 * 1024 * 1024);
  });
});
