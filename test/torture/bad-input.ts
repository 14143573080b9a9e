/**
 * Bad input, across the CLI and the API: each case must end with a non-zero exit (or a rejected
 * promise) carrying one line that names the problem, never a signal death or a hang, and must leave
 * every file in its folder byte-identical (nothing changed, created or removed). These extend the
 * tables of test/cli-brighten.test.ts and test/pipeline.test.ts with what those do not try: special
 * files, odd paths, corrupt journals and sidecars, numbers at the edges.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { MappedFile } from '../../dist/file/mapped-file.js';
import { brightenFile, brightenFiles, resumeFile } from '../../dist/index.js';
import { randomBytes, writeRaw } from '../helpers/raw.js';
import { CLI } from './kill-harness.js';
import { modelRun } from './protocol-model.js';
import { MODEL_INPUT, MODEL_RUN } from './protocol-sweep.js';

type Invocation = { cli: string[]; shell?: string } | { api: () => Promise<unknown> };

export interface BadInputCase {
  name: string;
  /** Builds the scene in an empty folder and says what to run. */
  setup(dir: string): Invocation;
  /** The exit status (CLI) [1]. */
  status?: number;
  /** The error code (API). */
  code?: string;
  message: RegExp;
}

const RAW = 'image.raw';
const SIDECAR = { width: 10, height: 10, channels: 4, sampleType: 'uint16', byteOrder: 'little' };

/** A 10×10 image with a good sidecar, the scene most cases start from. */
function image(dir: string): string {
  const path = join(dir, RAW);
  writeRaw(path, randomBytes(800, 42));
  return path;
}

function withSidecar(dir: string, text: string | Buffer): string {
  const path = image(dir);
  writeFileSync(`${path}.json`, text);
  return path;
}

function mkfifo(path: string): void {
  const result = spawnSync('mkfifo', [path]);
  if (result.status !== 0) throw new Error(`mkfifo failed: ${result.stderr}`);
}

/** An image whose in-place run was killed part way (journal left, 2 slots). */
function interrupted(dir: string): string {
  const path = join(dir, RAW);
  writeRaw(path, MODEL_INPUT);
  modelRun(path, { ...MODEL_RUN, workers: 2 }, 23, 3);
  return path;
}

const brighten = (path: string, ...args: string[]) => ({ cli: ['brighten', path, ...args] });
/** The scene is made first (arguments run in order), then the invocation is returned. */
const after = (_scene: unknown, invocation: Invocation): Invocation => invocation;
/** An API call on a scene made now (before the folder's snapshot), not when the call runs. */
const api = (path: string, call: (path: string) => Promise<unknown>) => ({ api: () => call(path) });

export const BAD_INPUT_CASES: BadInputCase[] = [
  // Paths that are not regular files.
  {
    name: 'a symlink to /dev/zero',
    setup: (d) => after(symlinkSync('/dev/zero', join(d, RAW)), brighten(join(d, RAW), '--by', '1')),
    message: /cannot map .*image\.raw: it is not a regular file/,
  },
  {
    name: 'a symlink to /dev/null',
    setup: (d) => after(symlinkSync('/dev/null', join(d, RAW)), brighten(join(d, RAW), '--by', '1')),
    message: /it is not a regular file/,
  },
  {
    name: 'a FIFO (must not block)',
    setup: (d) => after(mkfifo(join(d, RAW)), brighten(join(d, RAW), '--by', '1')),
    message: /it is not a regular file/,
  },
  {
    name: 'a symlink to a FIFO',
    setup: (d) =>
      after(
        [mkfifo(join(d, 'fifo')), symlinkSync('fifo', join(d, RAW))],
        brighten(join(d, RAW), '--by', '1'),
      ),
    message: /it is not a regular file/,
  },
  {
    name: 'a dangling symlink',
    setup: (d) => after(symlinkSync('nowhere.raw', join(d, RAW)), brighten(join(d, RAW), '--by', '1')),
    message: /no such file or directory/,
  },
  {
    name: 'a symlink loop',
    setup: (d) => after(symlinkSync(RAW, join(d, RAW)), brighten(join(d, RAW), '--by', '1')),
    message: /symbolic links/i,
  },
  {
    name: 'a path that is not UTF-8 (Node decodes argv as UTF-8: the name cannot be reached)',
    setup: (d) => {
      writeFileSync(Buffer.from(`${d}/\xff\xfe.raw`, 'latin1'), randomBytes(800, 1));
      return { cli: [], shell: `node "${CLI}" brighten $'${d}/\\xff\\xfe.raw' --by 1` };
    },
    message: /no such file or directory/,
  },
  {
    name: 'a missing path with a newline in its name (still one line)',
    setup: (d) => brighten(join(d, 'two\nlines.raw'), '--by', '1'),
    message: /two\\nlines\.raw: no such file or directory/,
  },
  {
    name: 'a sparse 4 GiB file plus 4 bytes (not whole pixels)',
    setup: (d) => {
      const path = join(d, RAW);
      writeFileSync(path, '');
      truncateSync(path, 2 ** 32 + 4);
      return brighten(path, '--by', '1');
    },
    message: /4294967300 bytes, not a whole number of 8-byte RGBA16 pixels/,
  },
  // Numbers at the edges.
  {
    name: '--by -0',
    setup: (d) => brighten(image(d), '--by', '-0'),
    status: 2,
    message: /--by must be a whole number, not "-0"/,
  },
  {
    name: '--by 1e3',
    setup: (d) => brighten(image(d), '--by', '1e3'),
    status: 2,
    message: /--by must be a whole number/,
  },
  {
    name: '--by 0x10',
    setup: (d) => brighten(image(d), '--by', '0x10'),
    status: 2,
    message: /--by must be a whole number/,
  },
  {
    name: '--by 99999999999999999999',
    setup: (d) => brighten(image(d), '--by', '99999999999999999999'),
    status: 2,
    message: /--by is out of range/,
  },
  {
    name: '--window 1.5 (fractional bytes)',
    setup: (d) => brighten(image(d), '--by', '1', '--window', '1.5'),
    status: 2,
    message: /--window must be a whole number of bytes/,
  },
  {
    name: '--window 3000.027T (not whole bytes)',
    setup: (d) => brighten(image(d), '--by', '1', '--window', '3000.027T'),
    status: 2,
    message: /--window must be a whole number of bytes/,
  },
  {
    name: '--window -8',
    setup: (d) => brighten(image(d), '--by', '1', '--window', '-8'),
    status: 2,
    message: /--window must be a whole number of bytes/,
  },
  {
    name: '--window 99999999999999999999TiB',
    setup: (d) => brighten(image(d), '--by', '1', '--window', '99999999999999999999TiB'),
    status: 2,
    message: /--window must be a whole number of bytes/,
  },
  {
    name: '--window 12 (not a multiple of 8)',
    setup: (d) => brighten(image(d), '--by', '1', '--window', '12'),
    status: 2,
    message: /multiple of 8/,
  },
  {
    name: '--offset 2^53 + 1',
    setup: (d) => brighten(image(d), '--by', '1', '--offset', '9007199254740993'),
    status: 2,
    message: /--offset must be a whole number of bytes/,
  },
  {
    name: '--length 12 (not whole pixels)',
    setup: (d) => brighten(image(d), '--by', '1', '--offset', '8', '--length', '12'),
    status: 2,
    message: /^rawbright: --length must be a multiple of 8 bytes/,
  },
  {
    name: '--workers 100000',
    setup: (d) => brighten(image(d), '--by', '1', '--workers', '100000'),
    status: 2,
    message: /^rawbright: --workers must be .* not 100000$/,
  },
  {
    name: '--workers -1',
    setup: (d) => brighten(image(d), '--by', '1', '--workers', '-1'),
    status: 2,
    message: /--workers must be at least 1/,
  },
  // Corrupt sidecars.
  {
    name: 'a sidecar that is not JSON',
    setup: (d) => brighten(withSidecar(d, '{width: 10'), '--by', '1'),
    message: /is not valid JSON/,
  },
  {
    name: 'a sidecar that is not UTF-8',
    setup: (d) => brighten(withSidecar(d, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), '--by', '1'),
    message: /is not UTF-8 text/,
  },
  {
    name: 'a sidecar with an unknown field',
    setup: (d) => brighten(withSidecar(d, JSON.stringify({ ...SIDECAR, depth: 16 })), '--by', '1'),
    message: /has an unknown field "depth"/,
  },
  {
    name: 'a sidecar with width -0',
    setup: (d) =>
      brighten(
        withSidecar(d, '{"width":-0,"height":10,"channels":4,"sampleType":"uint16","byteOrder":"little"}'),
        '--by',
        '1',
      ),
    message: /gives width 0; expected a whole number/,
  },
  {
    name: 'a sidecar with width 1e300',
    setup: (d) => brighten(withSidecar(d, JSON.stringify({ ...SIDECAR, width: 1e300 })), '--by', '1'),
    message: /gives width 1e\+300/,
  },
  {
    name: 'a sidecar that is a FIFO (used to hang)',
    setup: (d) => after(mkfifo(join(d, `${RAW}.json`)), brighten(image(d), '--by', '1')),
    message: /cannot read the sidecar .*: it is not a regular file/,
  },
  {
    name: 'a sidecar that is a symlink to /dev/zero (used to read until memory ran out)',
    setup: (d) => after(symlinkSync('/dev/zero', join(d, `${RAW}.json`)), brighten(image(d), '--by', '1')),
    message: /cannot read the sidecar .*: it is not a regular file/,
  },
  {
    name: 'a sidecar that contradicts the file size',
    setup: (d) => brighten(withSidecar(d, JSON.stringify({ ...SIDECAR, width: 11 })), '--by', '1'),
    message: /says 11x10 pixels \(880 bytes\) but the raw file holds 800 bytes/,
  },
  // Corrupt journals.
  {
    name: 'resume: a journal of garbage',
    setup: (d) => {
      const path = image(d);
      writeFileSync(`${path}.rawbright-journal`, randomBytes(20_000, 9));
      return { cli: ['resume', path] };
    },
    message: /is corrupt \(its header is not a rawbright journal\); the file was left as it is/,
  },
  {
    name: 'resume: a journal cut to 100 bytes',
    setup: (d) => {
      const path = interrupted(d);
      truncateSync(`${path}.rawbright-journal`, 100);
      return { cli: ['resume', path] };
    },
    message: /is corrupt \(it is shorter than its header\)/,
  },
  {
    name: 'resume: a journal cut short after its header',
    setup: (d) => {
      const path = interrupted(d);
      truncateSync(`${path}.rawbright-journal`, 3 * 4096);
      return { cli: ['resume', path] };
    },
    message: /is corrupt \(its size does not match its parameters\)/,
  },
  {
    name: 'resume: a journal with a flipped parameter byte',
    setup: (d) => {
      const path = interrupted(d);
      const journal = readFileSync(`${path}.rawbright-journal`);
      journal[40] ^= 0x01;
      writeFileSync(`${path}.rawbright-journal`, journal);
      return { cli: ['resume', path] };
    },
    message: /is corrupt \(its header checksum does not match\)/,
  },
  {
    name: 'resume: a journal that belongs to another file',
    setup: (d) => {
      const path = interrupted(d);
      mkdirSync(join(d, 'other'));
      const other = join(d, 'other', RAW);
      writeRaw(other, MODEL_INPUT);
      writeFileSync(`${other}.rawbright-journal`, readFileSync(`${path}.rawbright-journal`));
      return { cli: ['resume', other] };
    },
    message: /belongs to another file or size than .*; nothing was changed/,
  },
  {
    name: 'resume: a journal that is a directory',
    setup: (d) => after(mkdirSync(join(d, `${RAW}.rawbright-journal`)), { cli: ['resume', image(d)] }),
    message: /is not a regular file, so it is not applied/,
  },
  {
    name: 'resume: a journal that is a symlink to /dev/zero',
    setup: (d) =>
      after(symlinkSync('/dev/zero', join(d, `${RAW}.rawbright-journal`)), { cli: ['resume', image(d)] }),
    message: /is a symbolic link, so it is not applied/,
  },
  {
    name: 'brighten a file whose run was interrupted',
    setup: (d) => brighten(interrupted(d), '--by', '1'),
    message: /has an interrupted run: finish it with 'rawbright resume/,
  },
  // Outputs that are not regular files.
  {
    name: '--out a FIFO with --overwrite (used to replace it)',
    setup: (d) =>
      after(
        mkfifo(join(d, 'out.raw')),
        brighten(image(d), '--by', '1', '--out', join(d, 'out.raw'), '--overwrite'),
      ),
    message: /cannot overwrite .*out\.raw: it is not a regular file/,
  },
  {
    name: '--out a symlink to /dev/null with --overwrite (used to replace it)',
    setup: (d) =>
      after(
        symlinkSync('/dev/null', join(d, 'out.raw')),
        brighten(image(d), '--by', '1', '--out', join(d, 'out.raw'), '--overwrite'),
      ),
    message: /cannot overwrite .*out\.raw: it is not a regular file/,
  },
  {
    name: '--out a directory with --overwrite',
    setup: (d) =>
      after(
        mkdirSync(join(d, 'out.raw')),
        brighten(image(d), '--by', '1', '--out', join(d, 'out.raw'), '--overwrite'),
      ),
    message: /cannot write .*out\.raw: it is a directory/,
  },
  {
    name: 'import from a FIFO (must not block)',
    setup: (d) =>
      after(mkfifo(join(d, 'in.png')), { cli: ['import', join(d, 'in.png'), join(d, 'out.raw')] }),
    message: /in\.png.*not a regular file/,
  },
  {
    name: 'export to a FIFO with --overwrite',
    setup: (d) =>
      after(mkfifo(join(d, 'out.png')), {
        cli: ['export', image(d), join(d, 'out.png'), '--width', '10', '--height', '10', '--overwrite'],
      }),
    message: /cannot overwrite .*out\.png: it is not a regular file/,
  },
  {
    name: 'create --width -0',
    setup: (d) => ({ cli: ['create', join(d, 'new.raw'), '--width', '-0', '--height', '1'] }),
    status: 2,
    message: /--width must be a whole number, not "-0"/,
  },
  // The API.
  {
    name: 'API: by as a bigint',
    setup: (d) => api(image(d), (path) => brightenFile(path, { by: 1n as never })),
    code: 'ERR_INVALID_ARG_VALUE',
    message: /for by but received 1n of type bigint/,
  },
  {
    name: 'API: by NaN',
    setup: (d) => api(image(d), (path) => brightenFile(path, { by: Number.NaN })),
    code: 'ERR_INVALID_ARG_VALUE',
    message: /for by but received NaN/,
  },
  {
    name: 'API: by Infinity',
    setup: (d) => api(image(d), (path) => brightenFile(path, { by: Number.POSITIVE_INFINITY })),
    code: 'ERR_INVALID_ARG_VALUE',
    message: /for by but received Infinity/,
  },
  {
    name: 'API: window -0',
    setup: (d) => api(image(d), (path) => brightenFile(path, { by: 1, window: -0 })),
    code: 'ERR_INVALID_ARG_VALUE',
    message: /a size from 8 bytes to 4 GiB for window but received 0/,
  },
  {
    name: 'API: offset -8',
    setup: (d) => api(image(d), (path) => brightenFile(path, { by: 1, offset: -8 })),
    code: 'ERR_INVALID_ARG_VALUE',
    message: /for offset but received -8/,
  },
  {
    name: 'API: length 2^53',
    setup: (d) => api(image(d), (path) => brightenFile(path, { by: 1, length: 2 ** 53 })),
    code: 'ERR_INVALID_ARG_VALUE',
    message: /for length but received 9007199254740992/,
  },
  {
    name: 'API: window 2^64 as a bigint',
    setup: (d) => api(image(d), (path) => brightenFile(path, { by: 1, window: 2n ** 64n })),
    code: 'ERR_INVALID_ARG_VALUE',
    message: /for window but received 18446744073709551616n/,
  },
  {
    // A Buffer or a file: URL is a path, as in fs; a URL of another scheme is not.
    name: 'API: an https: URL as the path',
    setup: (d) => api(image(d), () => brightenFile(new URL('https://example.com/a.raw'), { by: 1 })),
    code: 'ERR_INVALID_URL_SCHEME',
    message: /^Expected a file: URL for path but received "https:\/\/example\.com\/a\.raw"/,
  },
  {
    name: 'API: a path with a NUL byte',
    setup: (d) => api(image(d), (path) => brightenFile(`${path}\0.evil`, { by: 1 })),
    code: 'ERR_INVALID_ARG_VALUE',
    message: /without NUL bytes, a Buffer or a file: URL\) for path/,
  },
  {
    name: 'API: options null',
    setup: (d) => api(image(d), (path) => brightenFile(path, null as never)),
    code: 'ERR_INVALID_ARG_VALUE',
    message: /an object for options but received null/,
  },
  {
    name: 'API: out ""',
    setup: (d) => api(image(d), (path) => brightenFile(path, { by: 1, out: '' })),
    code: 'ERR_INVALID_ARG_VALUE',
    message: /for out but received ""/,
  },
  {
    name: 'API: resumeFile workers 0',
    setup: (d) => api(interrupted(d), (path) => resumeFile(path, { workers: 0 })),
    code: 'ERR_INVALID_ARG_VALUE',
    message: /for workers but received 0/,
  },
  {
    name: 'API: brightenFiles with a string',
    setup: (d) => api(image(d), (path) => brightenFiles(path as never, { by: 1 })),
    code: 'ERR_INVALID_ARG_VALUE',
    message: /an array of paths for paths/,
  },
  {
    name: 'API: MappedFile.open of a FIFO',
    setup: (d) => after(mkfifo(join(d, 'fifo')), { api: async () => MappedFile.open(join(d, 'fifo')) }),
    code: 'ENODEV',
    message: /cannot map .*fifo: it is not a regular file/,
  },
];

/** Every name in a folder (and below) with what it is: a regular file's hash, a link's target, or its type. */
function snapshot(dir: Buffer | string, prefix = ''): string[] {
  const base = Buffer.isBuffer(dir) ? dir : Buffer.from(dir);
  return readdirSync(base, { encoding: 'buffer' }).flatMap((entry) => {
    const path = Buffer.concat([base, Buffer.from('/'), entry]);
    const name = `${prefix}${entry.toString('latin1')}`;
    const info = lstatSync(path);
    if (info.isDirectory()) return [`${name} dir`, ...snapshot(path, `${name}/`)];
    const what = info.isSymbolicLink()
      ? `-> ${readlinkSync(path)}`
      : info.isFile()
        ? info.size > 64 * 1024 * 1024
          ? `${info.size} bytes, modified ${info.mtimeMs}`
          : createHash('sha256').update(readFileSync(path)).digest('hex')
        : `mode ${info.mode.toString(8)}`;
    return [`${name} ${what}`];
  });
}

/** Runs a command and collects its output, killing it after 20 s (a hang). */
function runChild(
  argv: string[],
): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stderr });
    });
  });
}

/** Runs one case in `dir` (empty) and lists what went wrong. */
export async function runBadInput(c: BadInputCase, dir: string): Promise<string[]> {
  const invocation = c.setup(dir);
  const before = snapshot(dir).sort().join('\n');
  const problems: string[] = [];
  if ('api' in invocation) {
    try {
      await invocation.api();
      problems.push('no error');
    } catch (error) {
      const e = error as { code?: unknown; message?: string; name?: string };
      if (e.name !== 'RawbrightError') problems.push(`a ${e.name}, not a RawbrightError`);
      if (e.code !== c.code) problems.push(`code ${String(e.code)}, not ${c.code}`);
      if (!c.message.test(e.message ?? '')) problems.push(`message ${JSON.stringify(e.message)}`);
      if ((e.message ?? '').includes('\n')) problems.push('the message is not one line');
    }
  } else {
    const result = await runChild(
      invocation.shell !== undefined ? ['bash', '-c', invocation.shell] : ['node', CLI, ...invocation.cli],
    );
    if (result.signal !== null)
      problems.push(`ended by ${result.signal}${result.signal === 'SIGKILL' ? ' (hung)' : ''}`);
    if (result.status !== (c.status ?? 1)) problems.push(`exit ${result.status}, not ${c.status ?? 1}`);
    const lines = (result.stderr ?? '').split('\n').filter((line) => line !== '');
    if (lines.length !== 1)
      problems.push(`stderr has ${lines.length} lines: ${JSON.stringify(result.stderr)}`);
    else if (!lines[0].startsWith('rawbright: ') || !c.message.test(lines[0])) {
      problems.push(`stderr ${JSON.stringify(lines[0])}`);
    }
  }
  if (snapshot(dir).sort().join('\n') !== before) problems.push('the folder changed');
  return problems;
}
