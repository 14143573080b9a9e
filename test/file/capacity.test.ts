// MappedFile.open with a capacity (.NET's CreateFromFile(path, mode, name, capacity)): a smaller file
// grows, preallocated; a larger one is left alone; a full disk fails before anything changes.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MappedFile } from '../../dist/index.js';
import { fixtureFolder, randomBytes, sha256 } from '../helpers/raw.js';

const DIST = new URL('../../dist/index.js', import.meta.url).href;
const KiB = 1024;
const MiB = 1024 * KiB;

const folder = fixtureFolder();
const { fixture } = folder;
afterAll(() => folder.cleanup());

/** Bytes the file system holds for the file (st_blocks is in 512-byte units). */
const allocated = (file: string) => fs.statSync(file).blocks * 512;

describe('capacity', () => {
  it('grows a smaller file to the capacity, allocated on disk, keeping its bytes', () => {
    const bytes = randomBytes(10_000, 3);
    const file = fixture(bytes);
    using mapped = MappedFile.open(file, { access: 'readwrite', capacity: 3 * MiB + 5 });
    expect(mapped.size).toBe(3 * MiB + 5);
    expect(fs.statSync(file).size).toBe(3 * MiB + 5);
    expect(allocated(file)).toBeGreaterThanOrEqual(3 * MiB + 5);
    using window = mapped.map();
    const view = Buffer.from(window.buffer);
    expect(view.subarray(0, bytes.length).equals(bytes)).toBe(true);
    expect(view.subarray(bytes.length).every((byte) => byte === 0)).toBe(true);
    view[3 * MiB + 4] = 0xee;
    window.flush();
    expect(fs.readFileSync(file)[3 * MiB + 4]).toBe(0xee);
  });

  it('grows with a bigint capacity, and on a worker thread with openAsync', async () => {
    const file = fixture(randomBytes(4096, 4));
    MappedFile.open(file, { access: 'readwrite', capacity: 8192n }).close();
    expect(fs.statSync(file).size).toBe(8192);
    const mapped = await MappedFile.openAsync(file, { access: 'readwrite', capacity: MiB });
    expect(mapped.size).toBe(MiB);
    expect(allocated(file)).toBeGreaterThanOrEqual(MiB);
    mapped.close();
  });

  it('never shrinks: a capacity at or below the size changes nothing', () => {
    const file = fixture(randomBytes(20_000, 5));
    const before = sha256(file);
    for (const capacity of [0, 1, 19_999, 20_000]) {
      using mapped = MappedFile.open(file, { access: 'readwrite', capacity });
      expect(mapped.size).toBe(20_000);
    }
    expect(sha256(file)).toBe(before);
  });

  it("needs 'readwrite', and refuses before opening", () => {
    const file = fixture(randomBytes(100, 6));
    for (const access of ['read', 'copy'] as const) {
      expect(() => MappedFile.open(file, { access, capacity: 4096 })).toThrow(
        expect.objectContaining({
          code: 'ERR_READ_ONLY',
          message: `cannot grow ${file} to a capacity: it is opened '${access}' (capacity needs 'readwrite')`,
        }),
      );
    }
    expect(() => MappedFile.open(file, { capacity: 4096 })).toThrow(
      expect.objectContaining({ code: 'ERR_READ_ONLY' }),
    );
    expect(fs.statSync(file).size).toBe(100);
  });

  it.each([
    [-1, '-1 of type number'],
    [1.5, '1.5 of type number'],
    ['1M', '"1M" of type string'],
  ])('refuses the capacity %j', (capacity, shown) => {
    const file = fixture(randomBytes(100, 7));
    expect(() => MappedFile.open(file, { access: 'readwrite', capacity: capacity as number })).toThrow(
      `Expected a whole number of bytes from 0 to 2^53 - 1 for capacity but received ${shown}`,
    );
  });

  it('a capacity past what the file system allows is EFBIG, and the file keeps its size', () => {
    const bytes = randomBytes(1000, 8);
    const file = fixture(bytes);
    const blocks = fs.statSync(file).blocks;
    expect(() => MappedFile.open(file, { access: 'readwrite', capacity: Number.MAX_SAFE_INTEGER })).toThrow(
      expect.objectContaining({
        code: 'EFBIG',
        message: `cannot grow ${file} to ${Number.MAX_SAFE_INTEGER} bytes: file too large`,
      }),
    );
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    expect(fs.statSync(file).blocks).toBe(blocks);
  });

  // A small file system in a mount namespace of its own, so nothing needs unmounting: a 1 MiB tmpfs
  // (as root directly, as another user inside a user namespace where that user is root), and as
  // root also an 8 MiB ext4 on a loop device, where a failed allocation keeps the blocks it got.
  const fileSystems: [string, (dir: string, image: string) => string][] = [
    ['tmpfs', (dir) => `mount -t tmpfs -o size=${MiB} tmpfs ${dir}`],
  ];
  if (process.geteuid?.() === 0 && fs.existsSync('/dev/loop-control')) {
    fileSystems.push([
      'ext4',
      (dir, image) =>
        `truncate -s ${8 * MiB} ${image} && mkfs.ext4 -q ${image} && mount -o loop ${image} ${dir}`,
    ]);
  }

  it.each(fileSystems)(
    'a full disk (%s) is ENOSPC before anything changes: same size, same bytes, same free space, no name left',
    (_, mount) => {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rawbright-full-'));
      const dir = path.join(work, 'mnt');
      fs.mkdirSync(dir);
      try {
        const script = `
        import fs from 'node:fs';
        const { MappedFile } = await import(${JSON.stringify(DIST)});
        const dir = ${JSON.stringify(dir)};
        const file = dir + '/image.raw';
        const bytes = Buffer.alloc(${100 * KiB});
        for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 255;
        fs.writeFileSync(file, bytes);
        fs.mkdirSync(dir + '/run', { mode: 0o700 });
        const state = () => ({ size: fs.statSync(file).size, same: fs.readFileSync(file).equals(bytes),
          blocks: fs.statSync(file).blocks, free: fs.statfsSync(dir).bfree });
        const attempt = async (action) => { try { (await action()).close(); return 'opened'; } catch (e) { return { code: e.code, message: e.message }; } };
        MappedFile.open(file, { name: 'Full' }).close(); // the registry folder exists before the state is taken
        const before = state();
        const sync = await attempt(() => MappedFile.open(file, { access: 'readwrite', capacity: ${64 * MiB}, name: 'Full' }));
        const afterSync = state();
        const async = await attempt(() => MappedFile.openAsync(file, { access: 'readwrite', capacity: ${32 * MiB} }));
        const afterAsync = state();
        const name = await attempt(() => MappedFile.openExisting('Full'));
        const fits = await attempt(() => MappedFile.open(file, { access: 'readwrite', capacity: ${512 * KiB} }));
        console.log(JSON.stringify({ before, sync, afterSync, async, afterAsync, name, fits, grown: fs.statSync(file).size,
          kept: fs.readFileSync(file).subarray(0, bytes.length).equals(bytes) }));
      `;
        const namespace = process.geteuid?.() === 0 ? ['--mount'] : ['--user', '--map-root-user', '--mount'];
        const shell = `${mount(dir, path.join(work, 'image'))} && exec "$0" "$@"`;
        const result = spawnSync(
          'unshare',
          [...namespace, 'sh', '-c', shell, process.execPath, '--input-type=module', '-e', script],
          {
            encoding: 'utf8',
            timeout: 60_000,
            env: { ...process.env, XDG_RUNTIME_DIR: path.join(dir, 'run') },
          },
        );
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        const outcome = JSON.parse(result.stdout);
        const file = path.join(dir, 'image.raw');
        expect(outcome.before).toMatchObject({ size: 100 * KiB, same: true });
        expect(outcome.sync).toEqual({
          code: 'ENOSPC',
          message: `cannot grow ${file} to ${64 * MiB} bytes: no space left on device`,
        });
        expect(outcome.async).toEqual({
          code: 'ENOSPC',
          message: `cannot grow ${file} to ${32 * MiB} bytes: no space left on device`,
        });
        // Same size, same bytes, same blocks, and the free space is what it was: nothing half-allocated is kept.
        expect(outcome.afterSync).toEqual(outcome.before);
        expect(outcome.afterAsync).toEqual(outcome.before);
        // The refused open released the name it had registered.
        expect(outcome.name).toEqual({ code: 'ENOENT', message: "no open map is named 'Full'" });
        expect(outcome.fits).toBe('opened');
        expect(outcome.grown).toBe(512 * KiB);
        expect(outcome.kept).toBe(true);
        // The file system lived in the child's mount namespace only.
        expect(fs.readdirSync(dir)).toEqual([]);
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    },
  );
});
