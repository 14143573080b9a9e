/**
 * A refused allocation gives back what it got. posix_fallocate on ext4 that runs out of space part
 * way keeps the blocks it did allocate (the issue: a 1 GiB sparse file on a 96 MB ext4, 0 bytes free
 * after the refused run). tmpfs undoes a failed fallocate itself, so the test needs a file system
 * that does not: a 16 MiB ext4 image, loop-mounted (root).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statfsSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brightenFile } from '../../dist/brighten/pipeline.js';
import { MappedFile } from '../../dist/file/mapped-file.js';
import { tempDir } from '../helpers/raw.js';

const tmp = tempDir();
const mount = join(tmp.dir, 'ext4');

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (this test needs root and loop devices): ${result.stderr}`,
    );
  }
}

beforeAll(() => {
  const image = join(tmp.dir, 'ext4.img');
  closeSync(openSync(image, 'w'));
  run('truncate', ['-s', '16M', image]);
  run('mkfs.ext4', ['-q', '-F', image]);
  mkdirSync(mount);
  run('mount', ['-o', 'loop', image, mount]);
});

afterAll(() => {
  spawnSync('umount', [mount]);
  tmp.cleanup();
});

/** A 64 MiB sparse file (on a 16 MiB file system) with data in two 4 KiB pages. */
function sparseFile(name: string): { path: string; data: Buffer } {
  const path = join(mount, name);
  const fd = openSync(path, 'w');
  const data = Buffer.alloc(4096);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
  writeSync(fd, data, 0, data.length, 8 << 20);
  writeSync(fd, data, 0, data.length, (64 << 20) - 4096);
  closeSync(fd);
  return { path, data };
}

const free = () => statfsSync(mount).bfree;

/**
 * Back to before, but for at most one file-system block of extent-tree metadata that punching the
 * holes leaves (this 16 MiB ext4 has 1 KiB blocks; without the give-back, 27,000+ sectors stayed).
 */
function expectGivenBack(path: string, before: { blocks: number; free: number }): void {
  const blockSectors = statfsSync(mount).bsize / 512;
  expect(statSync(path).blocks).toBeGreaterThanOrEqual(before.blocks);
  expect(statSync(path).blocks).toBeLessThanOrEqual(before.blocks + blockSectors);
  expect(free()).toBeGreaterThanOrEqual(before.free - 1);
}

describe('a refused allocation gives back the blocks it got', () => {
  it('allocate() on a sparse file larger than the disk: ENOSPC, blocks and free space as before, data kept', () => {
    const { path, data } = sparseFile('a.raw');
    const before = { blocks: statSync(path).blocks, free: free(), size: statSync(path).size };
    expect(before.blocks).toBe(16); // two 4 KiB pages in 512-byte units: the file really is sparse
    const file = MappedFile.open(path, { access: 'readwrite' });
    try {
      expect(() => file.allocate(0, 64 << 20)).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    } finally {
      file.close();
    }
    expectGivenBack(path, before);
    expect(statSync(path).size).toBe(before.size);
    const bytes = readFileSync(path);
    expect(bytes.subarray(8 << 20, (8 << 20) + 4096).equals(data)).toBe(true);
    expect(bytes.subarray((64 << 20) - 4096).equals(data)).toBe(true);
    expect(bytes.subarray(0, 8 << 20).every((b) => b === 0)).toBe(true);
  });

  it('allocate() past the end that fails: the size is cut back and the space given back', () => {
    const { path } = sparseFile('b.raw');
    const before = { blocks: statSync(path).blocks, free: free(), size: statSync(path).size };
    const file = MappedFile.open(path, { access: 'readwrite' });
    try {
      expect(() => file.allocate(32 << 20, 64 << 20)).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    } finally {
      file.close();
    }
    expect({ blocks: statSync(path).blocks, free: free(), size: statSync(path).size }).toEqual(before);
  });

  it('brightenFile refused for lack of space leaves the disk as free as before and the file unchanged', async () => {
    const { path } = sparseFile('c.raw');
    const original = readFileSync(path);
    const before = { blocks: statSync(path).blocks, free: free() };
    await expect(brightenFile(path, { by: 100 })).rejects.toMatchObject({ code: 'ENOSPC' });
    expectGivenBack(path, before);
    expect(readFileSync(path).equals(original)).toBe(true);
  });

  it('an allocation that fits still allocates every block', () => {
    const path = join(mount, 'd.raw');
    closeSync(openSync(path, 'w'));
    run('truncate', ['-s', '1M', path]);
    const file = MappedFile.open(path, { access: 'readwrite' });
    try {
      file.allocate(0, 1 << 20);
    } finally {
      file.close();
    }
    expect(statSync(path).blocks).toBe(2048);
  });
});
