/** Full disks, the long version: every command at every fill level of a small tmpfs, and under every `ulimit -f` step. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/raw.js';
import {
  DISK_CASES,
  FREE_POINTS,
  mountTmpfs,
  runDiskCase,
  TMPFS_BYTES,
  ULIMIT_POINTS,
  unmount,
} from './full-disk.js';
import { record } from './tally.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('full disk', () => {
  it.each(DISK_CASES.map((c) => [c.name, c] as const))(
    '%s on a small tmpfs filled to each point',
    (name, c) => {
      const mount = join(tmp.dir, 'tmpfs');
      const reason = mountTmpfs(mount, TMPFS_BYTES);
      if (reason !== undefined) {
        // Not root, or no mount permission (a container): say so, and count nothing.
        console.warn(`full disk on tmpfs, ${name}: skipped (${reason})`);
        record({ what: `full disk (tmpfs), ${name}`, tried: 0, survived: 0, note: `skipped: ${reason}` });
        return;
      }
      const outcomes = [];
      try {
        for (const free of FREE_POINTS) {
          outcomes.push({ free, ...runDiskCase(c, join(tmp.dir, 'work'), mount, { free }) });
        }
      } finally {
        unmount(mount);
      }
      const refused = outcomes.filter((o) => o.result === 'refused');
      record({
        what: `full disk (tmpfs), ${name}`,
        tried: refused.length,
        survived: refused.filter((o) => o.problems.length === 0).length,
        note: `${outcomes.length - refused.length} more fill levels left room: completed, identical`,
      });
      expect(outcomes.filter((o) => o.problems.length > 0)).toEqual([]);
      // The sweep crosses the boundary: some points are too full, the last one has room.
      expect(refused.length).toBeGreaterThan(0);
      expect(outcomes.at(-1)?.result).toBe('completed');
    },
  );

  it.each(DISK_CASES.map((c) => [c.name, c] as const))('%s under each ulimit -f', (name, c) => {
    const limited = join(tmp.dir, 'limited');
    mkdirSync(limited, { recursive: true });
    const outcomes = ULIMIT_POINTS.map((ulimitKiB) => ({
      ulimitKiB,
      ...runDiskCase(c, join(tmp.dir, 'work'), limited, { ulimitKiB }),
    }));
    const refused = outcomes.filter((o) => o.result === 'refused');
    record({
      what: `file size limit (ulimit -f), ${name}`,
      tried: refused.length,
      survived: refused.filter((o) => o.problems.length === 0).length,
      note: `${outcomes.length - refused.length} more limits left room: completed, identical`,
    });
    expect(outcomes.filter((o) => o.problems.length > 0)).toEqual([]);
    expect(refused.length).toBeGreaterThan(0);
    expect(outcomes.at(-1)?.result).toBe('completed');
  });
});
