/**
 * Every API function that takes a path takes it as Node's fs does: a string, a Buffer or a file: URL, and
 * refuses a URL of another scheme with a code.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  adjustFile,
  adjustFiles,
  brightenFile,
  brightenFiles,
  createImage,
  exportImage,
  imageInfo,
  importImage,
  MappedFile,
  previewImage,
  readSidecar,
  resumeFile,
  sidecarPath,
  writeSidecar,
} from '../../dist/index.js';
import { expectedBrighten, randomBytes, tempDir, writeRaw } from '../helpers/raw.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

let counter = 0;
/** A new raw file of random RGBA uint16 pixels, 16x8, with no sidecar; a name with a space, to be escaped in URLs. */
function fixture(): { path: string; bytes: Buffer } {
  const path = join(tmp.dir, `img ${counter++}.raw`);
  const bytes = randomBytes(16 * 8 * 8, counter);
  writeRaw(path, bytes);
  return { path, bytes };
}

const forms = {
  URL: (path: string) => pathToFileURL(path),
  Buffer: (path: string) => Buffer.from(path),
} as const;

describe.each(Object.entries(forms))('a path as a %s', (_, as) => {
  it('brightenFile, with out as one too, and resumeFile', async () => {
    const { path, bytes } = fixture();
    const report = await brightenFile(as(path), { by: 100 });
    expect(report.path).toBe(path);
    expect(readFileSync(path).equals(expectedBrighten(bytes, 100))).toBe(true);
    const out = `${path}.out`;
    const outReport = await brightenFile(as(path), { by: 1, out: as(out) });
    expect(outReport.out).toBe(out);
    expect(readFileSync(out).equals(expectedBrighten(bytes, 101))).toBe(true);
    expect(await resumeFile(as(path))).toEqual({ resumed: false, path });
  });

  it('brightenFiles and adjustFiles (the same file by two forms counts once)', async () => {
    const { path, bytes } = fixture();
    const reports = await brightenFiles([as(path), path], { by: 7 });
    expect(reports.map((r) => r.path)).toEqual([path]);
    expect(readFileSync(path).equals(expectedBrighten(bytes, 7))).toBe(true);
    const adjusted = await adjustFiles([as(path)], { ops: [{ op: 'add', value: 3 }] });
    expect(adjusted.map((r) => r.path)).toEqual([path]);
    expect(readFileSync(path).equals(expectedBrighten(bytes, 10))).toBe(true);
    await adjustFile(as(path), { ops: [{ op: 'add', value: -10 }] });
    expect(readFileSync(path).equals(expectedBrighten(expectedBrighten(bytes, 10), -10))).toBe(true);
    const outcomes = await brightenFiles([as(path), as(join(tmp.dir, 'missing.raw'))], {
      by: 1,
      continueOnError: true,
    });
    expect(outcomes.map((o) => ('error' in o ? (o.error as { code: string }).code : 'done'))).toEqual([
      'done',
      'ENOENT',
    ]);
    expect(outcomes.map((o) => o.path)).toEqual([path, join(tmp.dir, 'missing.raw')]);
  });

  it('MappedFile.open, openAsync, create and createAsync', async () => {
    const { path, bytes } = fixture();
    using opened = MappedFile.open(as(path));
    expect(opened.path).toBe(path);
    expect(opened.size).toBe(bytes.length);
    using openedAsync = await MappedFile.openAsync(as(path));
    expect(openedAsync.path).toBe(path);
    const created = join(tmp.dir, `created ${counter++}.bin`);
    MappedFile.create(as(created), { size: 64 }).close();
    expect(readFileSync(created).length).toBe(64);
    const createdAsync = join(tmp.dir, `created ${counter++}.bin`);
    (await MappedFile.createAsync(as(createdAsync), { size: 16 })).close();
    expect(readFileSync(createdAsync).length).toBe(16);
  });

  it('the conversions, info and the sidecar functions', async () => {
    const raw = join(tmp.dir, `made ${counter++}.raw`);
    const made = await createImage(as(raw), { width: 16, height: 8, pattern: 'noise' });
    expect(made.output).toBe(raw);
    expect(sidecarPath(as(raw))).toBe(`${raw}.json`);
    expect(await readSidecar(as(raw))).toMatchObject({ width: 16, height: 8 });
    expect(await writeSidecar(as(raw), { ...(await readSidecar(raw))! })).toBe(`${raw}.json`);
    expect(await imageInfo(as(raw))).toMatchObject({ path: raw, width: 16, height: 8 });
    const png = join(tmp.dir, `made ${counter++}.png`);
    expect((await exportImage(as(raw), as(png))).output).toBe(png);
    const back = join(tmp.dir, `back ${counter++}.raw`);
    expect((await importImage(as(png), as(back))).output).toBe(back);
    expect(readFileSync(back).equals(readFileSync(raw))).toBe(true);
    const preview = join(tmp.dir, `preview ${counter++}.png`);
    expect((await previewImage(as(raw), as(preview), { width: 4 })).output).toBe(preview);
    expect(existsSync(preview)).toBe(true);
  });
});

describe('a path that is not one', () => {
  const http = new URL('https://example.com/scan.raw');
  it.each([
    ['brightenFile', () => brightenFile(http, { by: 1 })],
    ['brightenFile out', () => brightenFile(fixture().path, { by: 1, out: http })],
    ['adjustFile', () => adjustFile(http, { ops: [{ op: 'invert' }] })],
    ['resumeFile', () => resumeFile(http)],
    ['MappedFile.open', async () => MappedFile.open(http)],
    ['MappedFile.create', async () => MappedFile.create(http, { size: 8 })],
    ['createImage', () => createImage(http, { width: 1, height: 1 })],
    ['exportImage', () => exportImage(fixture().path, http, { width: 16, height: 8 })],
    ['imageInfo', () => imageInfo(http)],
    ['importImage', () => importImage(http, join(tmp.dir, 'never.raw'))],
    ['previewImage', () => previewImage(http, join(tmp.dir, 'never.png'))],
    ['readSidecar', () => readSidecar(http)],
  ] as const)('%s refuses a non-file URL with ERR_INVALID_URL_SCHEME', async (_, run) => {
    await expect(run()).rejects.toMatchObject({
      name: 'RawbrightError',
      code: 'ERR_INVALID_URL_SCHEME',
      message: expect.stringMatching(
        /^Expected a file: URL for \w+ but received "https:\/\/example\.com\/scan\.raw" \(https: URL\)$/,
      ),
    });
  });

  it('the message names the argument and the URL', async () => {
    await expect(brightenFile(http, { by: 1 })).rejects.toThrow(
      /^Expected a file: URL for path but received "https:\/\/example\.com\/scan\.raw" \(https: URL\)$/,
    );
  });

  it('a file: URL with a host is ERR_INVALID_FILE_URL_PATH; an empty Buffer and a NUL byte are refused', async () => {
    await expect(brightenFile(new URL('file://server/share/a.raw'), { by: 1 })).rejects.toMatchObject({
      code: 'ERR_INVALID_FILE_URL_PATH',
    });
    await expect(brightenFile(Buffer.alloc(0), { by: 1 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
    });
    await expect(brightenFile(Buffer.from('a\0b'), { by: 1 })).rejects.toThrow(
      /^Expected a path \(a non-empty string without NUL bytes, a Buffer or a file: URL\) for path but received /,
    );
    // A non-file URL in a batch that goes on past failures is that file's failure, not the batch's.
    const { path } = fixture();
    const outcomes = await brightenFiles([path, new URL('http://x/y')], { by: 1, continueOnError: true });
    expect(outcomes.map((o) => ('error' in o ? (o.error as { code: string }).code : 'done'))).toEqual([
      'done',
      'ERR_INVALID_URL_SCHEME',
    ]);
  });
});
