/**
 * Fault injection, the quick version run by `npm test` (the long one is `npm run torture`, in
 * test/torture/): kills at modelled and real random moments, full disks, races, truncation and bad
 * input. Each case checks that nothing is lost: the result is byte-identical to an uninterrupted run,
 * or the refusal is one clear line and the inputs are unchanged.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../../dist/addon.js';
import { journalPathFor } from '../../dist/brighten/journal.js';
import { MappedFile } from '../../dist/file/mapped-file.js';
import { expectedBrighten, randomBytes, tempDir, writeRaw } from '../helpers/raw.js';
import { BAD_INPUT_CASES, runBadInput } from '../torture/bad-input.js';
import { DISK_CASES, mountTmpfs, runDiskCase, unmount } from '../torture/full-disk.js';
import { CLI } from '../torture/kill-harness.js';
import {
  conversionKills,
  IN_PLACE_CONFIGS,
  inPlaceKills,
  type KillTally,
  outOfPlaceKills,
} from '../torture/kill-suites.js';
import { playCase, STEPS_PER_RUN } from '../torture/protocol-sweep.js';
import { raceOnce } from '../torture/races.js';
import { killHolders } from '../torture/shared-memory.js';
import { cooperatingTruncation, type TruncationOutcome, truncateDuringRun } from '../torture/truncation.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('the journal protocol, killed in a run and again in its resume', () => {
  it('every sampled pair of kill points resumes to the uninterrupted bytes', async () => {
    // Deterministic sample of the torture suite's sweep: kill the run after s1 steps, its resume
    // (with another worker count) after s2 steps, then resume to the end.
    const failures: string[] = [];
    let killedTwice = 0;
    for (let i = 0; i < 240; i++) {
      const [runWorkers, resumeWorkers] = [
        [2, 1],
        [2, 2],
        [3, 2],
        [1, 1],
      ][i % 4];
      const c = {
        runWorkers,
        resumeWorkers,
        runSteps: (i * 37) % (STEPS_PER_RUN + 1),
        resumeSteps: (i * 53) % (STEPS_PER_RUN + 1),
        seed: i + 1,
        realResume: i % 40 === 0,
      };
      const outcome = await playCase(tmp.dir, c, `model-${i}`);
      if (outcome.killedRun && outcome.killedResume) killedTwice++;
      if (!outcome.identical) failures.push(JSON.stringify(c));
    }
    expect(failures).toEqual([]);
    expect(killedTwice).toBeGreaterThan(100);
  });
});

describe('a kill between creating the journal and writing it', () => {
  it('leaves an all-zero journal that resume removes, and the file is untouched', () => {
    // The journal appears with its full size at once (preallocated, then linked) and gets its header
    // a moment later: a kill in between leaves zeros, which used to block both resume and brighten.
    const path = join(tmp.dir, 'unwritten.raw');
    const input = randomBytes(1024 * 1024, 8);
    writeRaw(path, input);
    MappedFile.create(journalPathFor(path), { size: 3 * 4096 + 1024 * 1024 }).close();
    const blocked = spawnSync('node', [CLI, 'brighten', path, '--by', '5'], { encoding: 'utf8' });
    expect(blocked.status).toBe(1);
    expect(blocked.stderr).toMatch(/has an interrupted run: finish it with 'rawbright resume/);
    const resume = spawnSync('node', [CLI, 'resume', path], { encoding: 'utf8' });
    expect(resume.stderr).toBe('');
    expect(resume.status).toBe(0);
    expect(resume.stdout).toMatch(/nothing to resume/);
    expect(existsSync(journalPathFor(path))).toBe(false);
    expect(readFileSync(path).equals(input)).toBe(true);
    expect(spawnSync('node', [CLI, 'brighten', path, '--by', '5']).status).toBe(0);
    expect(readFileSync(path).equals(expectedBrighten(input, 5))).toBe(true);
  });

  it('a journal with any byte set is still refused as corrupt, not removed', () => {
    const path = join(tmp.dir, 'damaged.raw');
    writeRaw(path, randomBytes(64 * 1024, 9));
    const journal = MappedFile.create(journalPathFor(path), { size: 3 * 4096 + 64 * 1024 });
    journal.write(3 * 4096 + 100, Uint8Array.of(1));
    journal.close();
    const resume = spawnSync('node', [CLI, 'resume', path], { encoding: 'utf8' });
    expect(resume.status).toBe(1);
    expect(resume.stderr).toMatch(/is corrupt \(its header is not a rawbright journal\)/);
    expect(existsSync(journalPathFor(path))).toBe(true);
  });
});

describe('kill -9 at random moments (the long version: npm run torture)', () => {
  const landed: KillTally[] = [];
  afterAll(() => {
    // Most kills must land inside a run, or the test proves little (checked when all cases ran).
    const during = landed.reduce((sum, t) => sum + t.during, 0);
    if (landed.length === 5) expect(during).toBeGreaterThanOrEqual(3);
  });

  it.each(IN_PLACE_CONFIGS.slice(0, 4).map((config, i) => [config.name, config, i] as const))(
    'in place, %s: resume gives the uninterrupted bytes',
    async (_name, config, i) => {
      const result = await inPlaceKills(tmp.dir, { ...config, size: 32 * 1024 * 1024 }, 1, 1000 + i);
      landed.push(result);
      expect(result.failures).toEqual([]);
      expect(result.survived).toBe(result.tried);
    },
  );

  it.each(['import'] as const)('%s: an interrupted output is never a finished one', async (conversion) => {
    const result = await conversionKills(tmp.dir, conversion, 1, 3000);
    expect(result.failures).toEqual([]);
  });

  it('out of place: an interrupted --out is never a finished one, and the rerun completes it', async () => {
    const result = await outOfPlaceKills(tmp.dir, 1, 2000);
    landed.push(result);
    expect(result.failures).toEqual([]);
    expect(result.survived).toBe(1);
  });
});

describe('full disk: refused with ENOSPC or EFBIG before anything changes (long version: npm run torture)', () => {
  // The commands the issue names; npm run torture runs every case at every fill level.
  const quick = DISK_CASES.filter((c) => !/TIFF|import/.test(c.name));

  it.each(quick.filter((c) => !/sparse/.test(c.name)).map((c) => [c.name, c] as const))(
    '%s under ulimit -f 512',
    (_name, c) => {
      const limited = join(tmp.dir, 'limited');
      mkdirSync(limited, { recursive: true });
      expect(runDiskCase(c, join(tmp.dir, 'work'), limited, { ulimitKiB: 512 })).toEqual({
        result: 'refused',
        problems: [],
      });
    },
  );

  it('on a nearly full tmpfs: each refused with 64 KiB free, and completes with room', () => {
    const mount = join(tmp.dir, 'tmpfs');
    const reason = mountTmpfs(mount, 10 * 1024 * 1024);
    if (reason !== undefined) {
      // Not root, or no mount permission (a container): the ulimit cases above still ran.
      console.warn(`full disk on tmpfs: not tried (${reason})`);
      return;
    }
    try {
      for (const c of quick) {
        expect(runDiskCase(c, join(tmp.dir, 'work'), mount, { free: 64 * 1024 }), c.name).toEqual({
          result: 'refused',
          problems: [],
        });
      }
      expect(runDiskCase(quick[2], join(tmp.dir, 'work'), mount, { free: 7 * 1024 * 1024 })).toEqual({
        result: 'completed',
        problems: [],
      });
    } finally {
      unmount(mount);
    }
  });
});

describe('races on one file (long version: npm run torture)', () => {
  it.each([
    ['in-place', 'brighten'],
    ['in-place', 'resume'],
    ['in-place', 'create --overwrite'],
  ] as const)(
    'while a %s run is live, %s is refused at once and the run finishes whole',
    async (first, contender) => {
      const outcome = await raceOnce(tmp.dir, first, contender, 0);
      expect(outcome.problems).toEqual([]);
    },
  );
});

describe('bad input: one line, a non-zero exit, no signal, every file unchanged', () => {
  // Concurrent: each case has its own folder, and most are a process that fails at once.
  it.concurrent.each(BAD_INPUT_CASES.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    const dir = join(tmp.dir, `bad-${i}`);
    mkdirSync(dir);
    expect(await runBadInput(c, dir)).toEqual([]);
  });

  it('the table has at least 30 cases', () => {
    expect(BAD_INPUT_CASES.length).toBeGreaterThanOrEqual(30);
  });
});

describe('truncation by another process while a file is brightened (long version: npm run torture)', () => {
  const dir = join(tmp.dir, 'truncation');
  mkdirSync(dir, { recursive: true });

  it('a cooperating process (one that takes the lock) is refused, and the run ends whole', async () => {
    expect(await cooperatingTruncation(dir)).toEqual([]);
  });

  it.each([
    ['image (in place)', 'mmap'],
    ['journal', 'mmap'],
  ] as const)(
    'cutting the %s under %s: one line, no signal, nothing written past the new end',
    async (target, strategy) => {
      const outcome = await truncateDuringRun(dir, target, strategy, 4096);
      expect(outcome.problems).toEqual([]);
      expect(outcome.signal).toBeNull();
    },
  );

  it('without the SIGBUS guard the same cut kills the process with SIGBUS (what the guard prevents)', async () => {
    const outcomes: TruncationOutcome[] = [];
    // The cut usually lands inside a window; try a few times so it does at least once.
    for (let i = 0; i < 4 && !outcomes.some((o) => o.signal === 'SIGBUS'); i++) {
      outcomes.push(await truncateDuringRun(dir, 'image (in place)', 'mmap', 4096, false));
    }
    expect(outcomes.map((o) => o.signal)).toContain('SIGBUS');
  });

  it('a window of a file truncated under it reads zeros and says so, and the process lives', () => {
    const path = join(dir, 'window.raw');
    writeRaw(path, Buffer.alloc(1024 * 1024, 7));
    const file = MappedFile.open(path);
    try {
      const window = file.map();
      const bytes = new Uint8Array(window.buffer);
      expect([bytes[500_000], window.faulted]).toEqual([7, false]);
      truncateSync(path, 4096);
      expect([bytes[4000], bytes[500_000], window.faulted]).toEqual([7, 0, true]);
      window.close();
      expect(window.faulted).toBe(false);
    } finally {
      file.close();
    }
  });

  it("V8's own wasm trap handler (SIGSEGV) still turns an out-of-bounds access into a RuntimeError", () => {
    expect(native.sigbusGuard).toBe(true);
    // (module (memory 1) (func (export "f") (result i32) (i32.load (i32.const 65536)))): one byte past the end.
    const bytes = Uint8Array.from([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02,
      0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0a, 0x0b, 0x01,
      0x09, 0x00, 0x41, 0x80, 0x80, 0x04, 0x28, 0x02, 0x00, 0x0b,
    ]);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    expect(() => (instance.exports.f as () => number)()).toThrow(/memory access out of bounds/);
  });
});

describe('shared-memory users killed while holding the mutex (long version: npm run torture)', () => {
  it('the mutex never wedges, exclusion holds, and every death inside is reported as abandoned', async () => {
    const outcome = await killHolders(3, 8, 1);
    expect(outcome.problems).toEqual([]);
    expect(outcome.transactions).toBeGreaterThan(0);
  });
});
