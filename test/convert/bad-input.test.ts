import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  createImage,
  exportImage,
  imageInfo,
  importImage,
  previewImage,
  readSidecar,
} from '../../dist/index.js';
import { COFFEE, folder, rejection, snapshot } from '../helpers/convert.js';

describe('bad input: one clear error with a code, and nothing written', () => {
  async function expectRefusal(
    dir: string,
    action: () => Promise<unknown>,
    code: string,
    message: RegExp,
  ): Promise<void> {
    const before = snapshot(dir);
    const error = await rejection(action());
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('\n');
    expect(snapshot(dir)).toEqual(before);
  }

  it('import: a truncated PNG, a garbled PNG, a text file, a missing file, a missing folder', async () => {
    const dir = folder();
    const good = readFileSync(COFFEE);
    writeFileSync(join(dir, 'truncated.png'), good.subarray(0, good.length >> 1));
    const garbled = Buffer.from(good);
    for (let i = 2000; i < garbled.length - 2000; i += 997) garbled[i] ^= 0x5a;
    writeFileSync(join(dir, 'garbled.png'), garbled);
    writeFileSync(join(dir, 'notes.png'), 'not an image at all\n');
    await expectRefusal(
      dir,
      () => importImage(join(dir, 'truncated.png'), join(dir, 'o.raw')),
      'ERR_CORRUPT_IMAGE',
      /^cannot decode .*truncated\.png: /,
    );
    await expectRefusal(
      dir,
      () => importImage(join(dir, 'garbled.png'), join(dir, 'o.raw')),
      'ERR_CORRUPT_IMAGE',
      /garbled\.png/,
    );
    await expectRefusal(
      dir,
      () => importImage(join(dir, 'notes.png'), join(dir, 'o.raw')),
      'ERR_UNSUPPORTED_FORMAT',
      /notes\.png is not in an image format sharp can read$/,
    );
    await expectRefusal(
      dir,
      () => importImage(join(dir, 'none.png'), join(dir, 'o.raw')),
      'ENOENT',
      /^cannot open .*none\.png: no such file or directory$/,
    );
    await expectRefusal(
      dir,
      () => importImage(COFFEE, join(dir, 'no', 'o.raw')),
      'ENOENT',
      /the folder .*no does not exist$/,
    );
  });

  it('import, export, preview, create: an existing output without overwrite is left untouched', async () => {
    const dir = folder();
    await createImage(join(dir, 'a.raw'), { width: 8, height: 8 });
    writeFileSync(join(dir, 'taken.png'), 'mine');
    writeFileSync(join(dir, 'only-sidecar.raw.json'), 'mine');
    await expectRefusal(
      dir,
      () => importImage(COFFEE, join(dir, 'a.raw')),
      'EEXIST',
      /a\.raw already exists; pass overwrite: true to replace it/,
    );
    await expectRefusal(
      dir,
      () => importImage(COFFEE, join(dir, 'only-sidecar.raw')),
      'EEXIST',
      /only-sidecar\.raw\.json already exists/,
    );
    await expectRefusal(
      dir,
      () => exportImage(join(dir, 'a.raw'), join(dir, 'taken.png')),
      'EEXIST',
      /taken\.png already exists/,
    );
    await expectRefusal(
      dir,
      () => previewImage(join(dir, 'a.raw'), join(dir, 'taken.png')),
      'EEXIST',
      /taken\.png already exists/,
    );
    await expectRefusal(
      dir,
      () => createImage(join(dir, 'a.raw'), { width: 2, height: 2 }),
      'EEXIST',
      /a\.raw already exists/,
    );
  });

  it('with overwrite, replaces the output and its sidecar', async () => {
    const dir = folder();
    await createImage(join(dir, 'a.raw'), { width: 8, height: 8 });
    await importImage(COFFEE, join(dir, 'a.raw'), { overwrite: true });
    expect((await readSidecar(join(dir, 'a.raw')))?.width).toBe(600);
    await createImage(join(dir, 'a.raw'), { width: 3, height: 2, type: 'int16', overwrite: true });
    expect(await readSidecar(join(dir, 'a.raw'))).toMatchObject({ width: 3, height: 2, sampleType: 'int16' });
    writeFileSync(join(dir, 'out.png'), 'old');
    await exportImage(join(dir, 'a.raw'), join(dir, 'out.png'), { overwrite: true });
    expect((await sharp(join(dir, 'out.png')).metadata()).width).toBe(3);
    await previewImage(join(dir, 'a.raw'), join(dir, 'out.png'), { overwrite: true });
    expect((await sharp(join(dir, 'out.png')).metadata()).depth).toBe('uchar');
    expect(readdirSync(dir).sort()).toEqual(['a.raw', 'a.raw.json', 'out.png']);
  });

  it('export, preview and info: missing, corrupt, mismatched or contradicted sidecars', async () => {
    const dir = folder();
    const raw = join(dir, 'r.raw');
    writeFileSync(raw, Buffer.alloc(4 * 3 * 8));
    const out = join(dir, 'o.png');
    await expectRefusal(
      dir,
      () => exportImage(raw, out),
      'ERR_SIDECAR_MISSING',
      /r\.raw has no sidecar \(.*r\.raw\.json\); give its width and height/,
    );
    await expectRefusal(dir, () => previewImage(raw, out), 'ERR_SIDECAR_MISSING', /has no sidecar/);
    await expectRefusal(dir, () => imageInfo(raw), 'ERR_SIDECAR_MISSING', /has no sidecar/);
    await expectRefusal(
      dir,
      () => exportImage(raw, out, { width: 4, height: 4 }),
      'ERR_SIZE_MISMATCH',
      /^4x4 pixels make 128 bytes but .*r\.raw holds 96 bytes$/,
    );
    writeFileSync(`${raw}.json`, '{"width": 4, "height": 3');
    await expectRefusal(
      dir,
      () => exportImage(raw, out),
      'ERR_SIDECAR_INVALID',
      /r\.raw\.json is not valid JSON$/,
    );
    writeFileSync(
      `${raw}.json`,
      JSON.stringify({ width: 4, height: 4, channels: 4, sampleType: 'uint16', byteOrder: 'little' }),
    );
    await expectRefusal(
      dir,
      () => exportImage(raw, out),
      'ERR_SIDECAR_MISMATCH',
      /says 4x4 pixels \(128 bytes\) but the raw file holds 96 bytes$/,
    );
    await expectRefusal(dir, () => imageInfo(raw), 'ERR_SIDECAR_MISMATCH', /says 4x4 pixels/);
    writeFileSync(
      `${raw}.json`,
      JSON.stringify({ width: 4, height: 3, channels: 4, sampleType: 'uint16', byteOrder: 'little' }),
    );
    await expectRefusal(
      dir,
      () => exportImage(raw, out, { type: 'int16', width: 4 }),
      'ERR_SIDECAR_CONFLICT',
      /says 4x3 uint16 but the options say type int16$/,
    );
    await expectRefusal(dir, () => exportImage(join(dir, 'gone.raw'), out), 'ENOENT', /gone\.raw/);
    await expectRefusal(dir, () => imageInfo(join(dir, 'gone.raw')), 'ENOENT', /gone\.raw/);
  });

  it('export: an unsupported output format, the input itself, a bad compression level', async () => {
    const dir = folder();
    const raw = join(dir, 'r.raw');
    await createImage(raw, { width: 4, height: 3 });
    await expectRefusal(
      dir,
      () => exportImage(raw, join(dir, 'o.jpg')),
      'ERR_UNSUPPORTED_FORMAT',
      /must end in \.png, \.tif or \.tiff$/,
    );
    await expectRefusal(
      dir,
      () => previewImage(raw, join(dir, 'o.tif')),
      'ERR_UNSUPPORTED_FORMAT',
      /must end in \.png$/,
    );
    await expectRefusal(
      dir,
      () => exportImage(raw, raw, { overwrite: true }),
      'ERR_UNSUPPORTED_FORMAT',
      /r\.raw/,
    );
    const png = join(dir, 'r.png');
    await expectRefusal(
      dir,
      () => exportImage(png, png, { overwrite: true }),
      'ERR_SAME_FILE',
      /onto itself$/,
    );
    await expectRefusal(
      dir,
      () => exportImage(raw, join(dir, 'o.png'), { compressionLevel: 10 }),
      'ERR_INVALID_ARG_VALUE',
      /for compressionLevel/,
    );
  });
});
