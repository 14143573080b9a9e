import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;

describe('rawbright brighten options', () => {
  it('reports a mistyped option as unknown, not as a missing --by', () => {
    const result = spawnSync('node', [CLI, 'brighten', 'x.raw', '--bye', '10'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^rawbright: unknown option '--bye'/);
    expect(result.stderr).not.toMatch(/required option/);
  });

  it('still reports a missing --by', () => {
    const result = spawnSync('node', [CLI, 'brighten', 'x.raw'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("rawbright: required option '--by <n>' not specified\n");
  });
});
