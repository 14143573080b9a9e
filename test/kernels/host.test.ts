import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../../dist/addon.js';
import { MappedFile } from '../../dist/file/mapped-file.js';
import { KernelHost, OVERLAY_ALIGNMENT } from '../../dist/kernels/host.js';
import { type BrightenParams, createKernel } from '../../dist/kernels/index.js';
import { expectedBrighten, randomBytes, tempDir, writeRaw } from '../helpers/raw.js';

const MiB = 1024 * 1024;
const tmp = tempDir();
afterAll(() => tmp.cleanup());
const hash = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const params = { delta: 2500, type: 'uint16', channels: 'rgb' } as const;

describe.each(['wasm-simd', 'wasm', 'js', 'native'] as const)('KernelHost with the %s kernel', (kernel) => {
  const input = randomBytes(6 * MiB, 17);

  it('overlays a window with no copy: the file changes exactly there and nowhere else', () => {
    const path = join(tmp.dir, `overlay-${kernel}.raw`);
    writeRaw(path, input);
    const host = new KernelHost({ arenaBytes: 4 * MiB, kernel });
    const file = MappedFile.open(path, { access: 'readwrite' });
    const offset = MiB + 8 * 123;
    const length = 3 * MiB + 8 * 5;
    const region = host.overlay(file, offset, length);
    expect(region.placement).toBe('overlay');
    // Zero copy: a byte written through the file (pwrite) is visible in the arena at once.
    const probe = Buffer.from([0xab]);
    file.write(offset + 8, probe);
    expect(host.view(region)[8]).toBe(0xab);
    file.write(offset + 8, input.subarray(offset + 8, offset + 9));
    host.brighten(region, params);
    host.release();
    file.close();
    const after = readFileSync(path);
    expect(hash(after.subarray(0, offset))).toBe(hash(input.subarray(0, offset)));
    expect(hash(after.subarray(offset + length))).toBe(hash(input.subarray(offset + length)));
    expect(after.equals(expectedBrighten(input, params.delta, 'uint16', 'rgb', offset, length))).toBe(true);
  });

  it('passes every layout parameter through to the kernel (3 bands, big-endian, per-band deltas, max)', () => {
    const path = join(tmp.dir, `layout-${kernel}.raw`);
    writeRaw(path, input);
    const host = new KernelHost({ arenaBytes: 2 * MiB, kernel });
    const file = MappedFile.open(path, { access: 'readwrite' });
    const offset = 6 * 1001;
    const length = 6 * 200_003;
    const layout: BrightenParams = {
      delta: [900, -900, 30000],
      type: 'uint16',
      bands: 3,
      byteOrder: 'big',
      max: 4095,
    };
    const region = host.overlay(file, offset, length);
    host.brighten(region, layout);
    host.release();
    file.close();
    // The js kernel on a copy of the same bytes (test/kernels/layouts.test.ts checks it against the formula).
    const want = new Uint8Array(input).slice();
    createKernel('js', new WebAssembly.Memory({ initial: 1 })).brighten(want.buffer, offset, length, layout);
    const after = readFileSync(path);
    expect(hash(after)).toBe(hash(want));
    expect(hash(after)).not.toBe(hash(input));
  });

  it('a read-only file overlaid and brightened in memory stays untouched', () => {
    const path = join(tmp.dir, `readonly-${kernel}.raw`);
    writeRaw(path, input);
    const host = new KernelHost({ arenaBytes: 2 * MiB, kernel });
    const file = MappedFile.open(path, { access: 'read' });
    const region = host.overlay(file, 0, 2 * MiB);
    host.brighten(region, params);
    const brightened = Buffer.from(host.view(region));
    expect(brightened.equals(expectedBrighten(input.subarray(0, 2 * MiB), params.delta))).toBe(true);
    host.release();
    file.close();
    expect(readFileSync(path).equals(input)).toBe(true);
  });
});

describe('KernelHost overlays', () => {
  it('every overlay is placed so that its address and file offset agree modulo 2 MiB', () => {
    const path = join(tmp.dir, 'align.raw');
    writeRaw(path, randomBytes(24 * MiB, 4));
    const host = new KernelHost({ arenaBytes: 4 * MiB, kernel: 'wasm-simd' });
    const file = MappedFile.open(path, { access: 'readwrite' });
    for (const offset of [0, 4096, 8, 2 * MiB - 8, 3 * MiB + 4096 * 7, 5 * MiB + 8 * 999, 20 * MiB]) {
      const region = host.overlay(file, offset, 4 * MiB - 4096);
      const fileStart = offset - (offset % native.pageSize);
      expect(Number(region.mappedAddress! % BigInt(OVERLAY_ALIGNMENT))).toBe(fileStart % OVERLAY_ALIGNMENT);
      expect(region.pointer - (offset - fileStart)).toBe(
        Number(region.mappedAddress! - native.address(host.memory.buffer)),
      );
      host.release();
    }
    file.close();
  });

  it('unaligned placement is possible only when asked for (benchmark lever)', () => {
    const path = join(tmp.dir, 'unaligned.raw');
    writeRaw(path, randomBytes(8 * MiB, 4));
    const host = new KernelHost({ arenaBytes: 4 * MiB, kernel: 'wasm-simd', alignOverlays: false });
    const file = MappedFile.open(path, { access: 'readwrite' });
    const region = host.overlay(file, MiB, MiB);
    expect(region.pointer).toBe(2 * MiB);
    host.release();
    file.close();
  });

  it('the arena reads as zeros after release, never as the file', () => {
    const path = join(tmp.dir, 'restore.raw');
    writeRaw(path, Buffer.alloc(4 * MiB, 0x5a));
    const host = new KernelHost({ arenaBytes: 4 * MiB, kernel: 'wasm-simd' });
    const file = MappedFile.open(path, { access: 'readwrite' });
    const liveBefore = native.liveOverlays();
    for (let i = 0; i < 20; i++) {
      const region = host.overlay(file, (i % 4) * 4096, 2 * MiB);
      expect(host.view(region)[0]).toBe(0x5a);
      host.release();
      const arena = new Uint8Array(host.memory.buffer, region.pointer, region.length);
      expect(arena.every((b) => b === 0)).toBe(true);
    }
    expect(native.liveOverlays()).toBe(liveBefore);
    file.close();
  });

  it('works at an offset past 4 GiB in a sparse file', () => {
    const path = join(tmp.dir, 'sparse.raw');
    const fd = openSync(path, 'w+');
    ftruncateSync(fd, 6 * 1024 ** 3);
    const offset = 2 ** 32 + 8 * 1000;
    const pixels = randomBytes(MiB, 8);
    writeSync(fd, pixels, 0, pixels.length, offset);
    const host = new KernelHost({ arenaBytes: 2 * MiB, kernel: 'wasm-simd' });
    const file = MappedFile.open(path, { access: 'readwrite' });
    const region = host.overlay(file, offset, MiB);
    host.brighten(region, params);
    host.release();
    file.close();
    const back = Buffer.alloc(MiB + 16);
    readSync(fd, back, 0, back.length, offset - 8);
    closeSync(fd);
    expect(back.subarray(0, 8).every((b) => b === 0)).toBe(true);
    expect(back.subarray(8, 8 + MiB).equals(expectedBrighten(pixels, params.delta))).toBe(true);
    expect(back.subarray(8 + MiB).every((b) => b === 0)).toBe(true);
  });

  it('refuses a region after it is released or replaced, so an old region never touches new pages', () => {
    const path = join(tmp.dir, 'stale.raw');
    writeRaw(path, randomBytes(4 * MiB, 6));
    const host = new KernelHost({ arenaBytes: 2 * MiB, kernel: 'wasm-simd' });
    const file = MappedFile.open(path, { access: 'readwrite' });
    const first = host.overlay(file, 0, MiB);
    host.brighten({ ...first, pointer: first.pointer + 8, length: 64 }, params);
    expect(() => host.brighten({ ...first, length: MiB + 8 }, params)).toThrow(
      expect.objectContaining({ code: 'ERR_REGION_RELEASED' }),
    );
    host.release();
    expect(() => host.brighten(first, params)).toThrow(
      expect.objectContaining({ code: 'ERR_REGION_RELEASED' }),
    );
    const second = host.overlay(file, 2 * MiB, MiB);
    expect(() => host.brighten(first, params)).toThrow(
      expect.objectContaining({ code: 'ERR_REGION_RELEASED' }),
    );
    host.brighten(second, params);
    host.release();
    file.close();
  });

  it('copies in and out through the arena (the pread path)', () => {
    const input = randomBytes(3 * MiB, 12);
    const path = join(tmp.dir, 'copy.raw');
    writeRaw(path, input);
    const host = new KernelHost({ arenaBytes: 2 * MiB, kernel: 'wasm-simd' });
    const file = MappedFile.open(path, { access: 'readwrite' });
    const region = host.copyIn(file, 8, MiB);
    expect(region.placement).toBe('copy');
    host.brighten(region, params);
    host.copyOut(region, file, 8);
    host.release();
    file.close();
    expect(readFileSync(path).equals(expectedBrighten(input, params.delta, 'uint16', 'rgb', 8, MiB))).toBe(
      true,
    );
  });

  it('refuses regions larger than the arena, past the end of the file, or while one is live', () => {
    const path = join(tmp.dir, 'refuse.raw');
    writeRaw(path, randomBytes(2 * MiB, 1));
    const host = new KernelHost({ arenaBytes: MiB, kernel: 'wasm-simd' });
    const file = MappedFile.open(path, { access: 'readwrite' });
    expect(() => host.overlay(file, 0, 2 * MiB)).toThrow(
      expect.objectContaining({ code: 'ERR_WINDOW_TOO_LARGE' }),
    );
    expect(() => host.overlay(file, 2 * MiB - 4096, 8192)).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    host.overlay(file, 0, 4096);
    expect(() => host.overlay(file, 4096, 4096)).toThrow(
      expect.objectContaining({ code: 'ERR_OVERLAY_BUSY' }),
    );
    host.release();
    file.close();
    expect(() => new KernelHost({ arenaBytes: 5 * 1024 ** 3, kernel: 'js' })).toThrow(
      expect.objectContaining({ code: 'ERR_WINDOW_TOO_LARGE' }),
    );
  });
});
