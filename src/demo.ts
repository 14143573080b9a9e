/**
 * `npm start`: the main job on the bundled photo. Imports it to raw, brightens the raw in place
 * through mapped windows with the wasm SIMD kernel, exports the result, draws a before/after
 * picture, and compares the kernels on a buffer in memory.
 *
 *   node dist/demo.js [OUTPUT_FOLDER]      (default: ./rawbright-demo)
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { runKernelBench } from './bench/kernel-bench.js';
import { brightenFile } from './brighten/pipeline.js';
import { exportImage } from './convert/export.js';
import { importImage } from './convert/import.js';
import { previewImage } from './convert/preview.js';

const PHOTO = fileURLToPath(new URL('../samples/astronaut.png', import.meta.url));
const DELTA = 12000;
const GAP = 16;

/** Puts two pictures side by side on a dark background. */
async function sideBySide(left: string, right: string, out: string): Promise<void> {
  const [a, b] = await Promise.all([sharp(left).metadata(), sharp(right).metadata()]);
  const width = (a.width ?? 0) + GAP + (b.width ?? 0);
  const height = Math.max(a.height ?? 0, b.height ?? 0);
  await sharp({ create: { width, height, channels: 4, background: { r: 24, g: 24, b: 24, alpha: 1 } } })
    .composite([
      { input: left, left: 0, top: 0 },
      { input: right, left: (a.width ?? 0) + GAP, top: 0 },
    ])
    .png()
    .toFile(out);
}

async function main(): Promise<void> {
  const folder = resolve(process.argv[2] ?? 'rawbright-demo');
  mkdirSync(folder, { recursive: true });
  const shown = (path: string) => relative(process.cwd(), path) || '.';
  const raw = join(folder, 'astronaut.raw');
  const original = join(folder, 'astronaut-original.raw');

  const imported = await importImage(PHOTO, raw, { overwrite: true });
  console.log(
    `imported ${shown(PHOTO)} -> ${shown(raw)} (${imported.width}x${imported.height}, 16-bit RGBA)`,
  );
  copyFileSync(raw, original);
  copyFileSync(`${raw}.json`, `${original}.json`);

  // Small windows so that even this small photo goes through several mapped windows.
  const report = await brightenFile(raw, {
    by: DELTA,
    kernel: 'wasm-simd',
    strategy: 'mmap',
    window: 256 * 1024,
  });
  console.log(
    `brightened ${shown(raw)} in place by +${DELTA}: ${report.windows} windows overlaid into wasm memory ` +
      `(${report.strategy}, ${report.kernel}), ${(report.seconds * 1000).toFixed(1)} ms`,
  );

  const exported = join(folder, 'astronaut-brightened.png');
  await exportImage(raw, exported, { overwrite: true });
  const before = join(folder, 'before.png');
  const after = join(folder, 'after.png');
  await previewImage(original, before, { width: 512, overwrite: true });
  await previewImage(raw, after, { width: 512, overwrite: true });
  const comparison = join(folder, 'before-after.png');
  await sideBySide(before, after, comparison);

  console.log('\ncomparing the kernels on a 64 MiB buffer in memory (3 runs, median GB/s):');
  const bench = runKernelBench({ sizeBytes: 64 * 1024 * 1024, runs: 3 });
  const js = bench.kernels.js.gbps.median;
  for (const name of ['js', 'wasm', 'wasm-simd', 'native'] as const) {
    const median = bench.kernels[name].gbps.median;
    console.log(
      `  ${name.padEnd(10)} ${median.toFixed(2).padStart(6)} GB/s  ${(median / js).toFixed(1).padStart(5)}x js`,
    );
  }

  console.log(`\noutputs in ${shown(folder)}/:`);
  console.log(`  ${shown(raw)}                the brightened raw image (+ .json sidecar)`);
  console.log(`  ${shown(exported)}  16-bit PNG of the result`);
  console.log(`  ${shown(comparison)}           before (left) and after (right)`);
  console.log('\nfull benchmark: npm run bench');
}

main().catch((error: Error & { code?: string }) => {
  console.error(`rawbright demo: ${error.message}${error.code ? ` (${error.code})` : ''}`);
  process.exitCode = 1;
});
