import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { importImage } from '../../dist/index.js';
import { createKernel, KERNEL_NAMES, wasmDataEnd } from '../../dist/kernels/index.js';
import { ASTRONAUT, folder, samples16 } from '../helpers/convert.js';

describe('brightening a 16-bit image (rgba) equals sharp’s own linear(1, delta)', () => {
  it.each(KERNEL_NAMES)('%s kernel', async (name) => {
    const dir = folder();
    await importImage(ASTRONAUT, join(dir, 'a.raw'));
    const original = readFileSync(join(dir, 'a.raw'));
    const offset = Math.ceil(wasmDataEnd() / 65536) * 65536;
    const memory = new WebAssembly.Memory({ initial: (offset + original.length) / 65536 + 1 });
    const kernel = createKernel(name, memory);
    for (const delta of [12345, -20000, 65535, -65535]) {
      const view = new Uint8Array(memory.buffer, offset, original.length);
      view.set(original);
      kernel.brighten(memory.buffer, offset, original.length, { delta, type: 'uint16', channels: 'rgba' });
      const reference = await sharp(samples16(original), { raw: { width: 512, height: 512, channels: 4 } })
        .linear([1, 1, 1, 1], [delta, delta, delta, delta])
        .toColourspace('rgb16')
        .raw({ depth: 'ushort' })
        .toBuffer();
      expect(Buffer.from(view).equals(reference)).toBe(true);
      expect(reference.equals(original)).toBe(false);
    }
  });
});
