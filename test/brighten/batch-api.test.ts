import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { brightenFiles } from '../../dist/index.js';
import { expectedBrighten, randomBytes, tempDir, writeRaw } from '../helpers/raw.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const input = randomBytes(64 * 1024, 31);

describe('brightenFiles', () => {
  it('throws the first failure by default', async () => {
    const a = join(tmp.dir, 'first-a.raw');
    writeRaw(a, input);
    await expect(brightenFiles([join(tmp.dir, 'none.raw'), a], { by: 3 })).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(readFileSync(a).equals(input)).toBe(true);
  });

  it('with continueOnError, gives every file its turn and one outcome each', async () => {
    const [a, b] = ['go-a.raw', 'go-b.raw'].map((name) => join(tmp.dir, name));
    writeRaw(a!, input);
    writeRaw(b!, input);
    const missing = join(tmp.dir, 'gone.raw');
    const outcomes = await brightenFiles([a!, missing, b!], { by: 9, continueOnError: true });
    expect(outcomes.map((o) => o.path)).toEqual([a, missing, b]);
    expect(outcomes[0]).toMatchObject({ report: { path: a, bytes: input.length } });
    expect(outcomes[1]).toMatchObject({ error: { code: 'ENOENT' } });
    expect('report' in outcomes[2]! && outcomes[2].report.bytes).toBe(input.length);
    expect(readFileSync(b!).equals(expectedBrighten(input, 9))).toBe(true);
  });

  it('with continueOnError, still stops when the run is aborted', async () => {
    const a = join(tmp.dir, 'abort-a.raw');
    writeRaw(a, input);
    const controller = new AbortController();
    controller.abort();
    await expect(
      brightenFiles([a], { by: 9, continueOnError: true, signal: controller.signal }),
    ).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });
});
