/** The bad-input table (bad-input.ts), counted for the tally. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { tempDir } from '../helpers/raw.js';
import { BAD_INPUT_CASES, runBadInput } from './bad-input.js';
import { record } from './tally.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

it('every bad input: one line, non-zero, no signal or hang, every file unchanged', async () => {
  const failures: string[] = [];
  let survived = 0;
  for (const [i, c] of BAD_INPUT_CASES.entries()) {
    const dir = join(tmp.dir, `case-${i}`);
    mkdirSync(dir);
    const problems = await runBadInput(c, dir);
    if (problems.length === 0) survived++;
    else failures.push(`${c.name}: ${problems.join('; ')}`);
  }
  const api = BAD_INPUT_CASES.filter((c) => c.name.startsWith('API')).length;
  record({
    what: 'bad input (CLI and API)',
    tried: BAD_INPUT_CASES.length,
    survived,
    note: `${BAD_INPUT_CASES.length - api} through the CLI, ${api} through the API`,
  });
  expect(failures).toEqual([]);
});
