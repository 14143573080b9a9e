/**
 * Loads a CommonJS bundle of dist/bin/ with V8's code cache: the bytecode V8 compiled for the bundle in an
 * earlier run, the functions compiled lazily during that run included, is kept in a file and handed back to
 * V8, which skips parsing and compiling them. On a small file this is about a tenth of the whole process on
 * Node 20, which has no compile cache of its own; on Node 24 it took 0.82x the time of Node's own
 * (`module.enableCompileCache`), which keeps only what was compiled before the bundle first ran.
 *
 * Safe by construction: the cache file holds a copy of the bundle's source, compared byte for byte with the
 * bundle before its data is used (no checksum to compute: `node:zlib`, whose `crc32` did it, costs about 3 ms
 * to load on Node 24, more than the compare and the larger read); its name carries a CRC-32 of the bundle's
 * folder, the Node version and the architecture, and V8 itself refuses data made by another V8 or with other
 * V8 flags (then the bundle is compiled as usual and the cache written again: a run with other flags,
 * `--cpu-prof` say, rewrites it once). The folder is the user's own (`rawbright-code-cache-UID` in the
 * temporary folder, mode 0700, checked to be a real folder of this user that nobody else can write to);
 * where it is not, nothing is read or written. Any failure to read or write the cache only costs the
 * compile. `NODE_DISABLE_COMPILE_CACHE=1` turns it off, as it does Node's own.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type Module from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { constants, Script } from 'node:vm';

/**
 * Node's CommonJS module class. In the bin, a CommonJS bundle, the class of the bundle's own `module`:
 * importing `node:module` also loads Node's ES module loader and source maps on Node 22 (0.5 ms of a small
 * file's run; 0.2 ms on Node 24). Elsewhere (dist/cli/code-cache.js, an ES module) from `node:module`.
 */
function moduleClass(): typeof Module {
  return typeof module === 'object' && module !== null && typeof module.constructor === 'function'
    ? (module.constructor as typeof Module)
    : process.getBuiltinModule('node:module').Module;
}

/** The user's own cache folder, made if missing; undefined where it cannot be trusted. */
function cacheFolder(): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const folder = join(tmpdir(), `rawbright-code-cache-${uid}`);
  const trusted = () => {
    const stat = lstatSync(folder, { throwIfNoEntry: false });
    if (stat === undefined) return undefined;
    return stat.isDirectory() && stat.uid === uid && (stat.mode & 0o077) === 0;
  };
  try {
    const found = trusted();
    if (found !== undefined) return found ? folder : undefined;
    mkdirSync(folder, { mode: 0o700 });
  } catch {
    // Made by someone else meanwhile (checked next), or it cannot be made (checked next too).
  }
  try {
    return trusted() === true ? folder : undefined;
  } catch {
    return undefined;
  }
}

/** CRC-32 (zlib's) of the UTF-8 bytes of a short string, bit by bit: `node:zlib` is not loaded for it. */
function crc32OfText(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'utf8')) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return ~crc >>> 0;
}

/** The end of the cache files' names for this Node: its version and the architecture. */
const NODE_SUFFIX = `-${process.version}-${process.arch}.v8cache`;

/**
 * The start of the cache files' names of the bundle at `path`: its name and a CRC-32 of its folder, so two
 * installs of rawbright on one machine keep a cache each (instead of replacing each other's at every run).
 */
function bundlePrefix(path: string): string {
  return `${basename(path)}-${crc32OfText(dirname(path)).toString(16)}-`;
}

/** Where the code cache of the bundle at `path` is kept, for this Node. */
function cachePath(folder: string, path: string): string {
  return join(folder, `${bundlePrefix(path).slice(0, -1)}${NODE_SUFFIX}`);
}

/**
 * A cache file: this mark, the source's length in bytes (uint32 little-endian), the source, then V8's data.
 * (The mark changes with the layout.)
 */
const MARK = Buffer.from('RBCODE01', 'latin1');
const HEADER_BYTES = MARK.length + 4;

/** V8's data in the cache file `file` when the file was made for exactly `source`; else undefined. */
function cachedDataFor(file: Buffer, source: Buffer): Buffer | undefined {
  if (file.length < HEADER_BYTES || !file.subarray(0, MARK.length).equals(MARK)) return undefined;
  const length = file.readUInt32LE(MARK.length);
  if (length !== source.length || file.length <= HEADER_BYTES + length) return undefined;
  return file.subarray(HEADER_BYTES, HEADER_BYTES + length).equals(source)
    ? file.subarray(HEADER_BYTES + length)
    : undefined;
}

/**
 * Writes the cache file `path` for `source` and V8's `data` atomically (a temporary name, then a rename)
 * and removes this Node's other cache files of the same bundle, those whose names start with `prefix` (the
 * named ones of earlier releases; other Node versions keep theirs: each is used by its own Node); a failure
 * is ignored.
 */
function writeQuietly(path: string, prefix: string, source: Buffer, data: Buffer): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    MARK.copy(header);
    header.writeUInt32LE(source.length, MARK.length);
    writeFileSync(temporary, Buffer.concat([header, source, data]), { mode: 0o600, flag: 'wx' });
    renameSync(temporary, path);
    for (const name of readdirSync(dirname(path))) {
      if (name.startsWith(prefix) && name.endsWith(NODE_SUFFIX) && name !== basename(path)) {
        rmSync(join(dirname(path), name), { force: true });
      }
    }
  } catch {
    rmSync(temporary, { force: true });
  }
}

/**
 * Runs the CommonJS file `path` as `require(path)` would, with V8's code cache when one can be kept. Its
 * cache is written when the process exits (so it holds every function the run compiled), and only when it was
 * missing, made for another source or refused.
 */
export function requireWithCodeCache(path: string): void {
  const bytes = readFileSync(path);
  const source = bytes.toString('utf8');
  const folder = process.env.NODE_DISABLE_COMPILE_CACHE ? undefined : cacheFolder();
  const cache = folder === undefined ? undefined : cachePath(folder, path);
  let cachedData: Buffer | undefined;
  if (cache !== undefined) {
    try {
      cachedData = cachedDataFor(readFileSync(cache), bytes);
    } catch {
      // No cache yet.
    }
  }
  const Module = moduleClass();
  const script = new Script(Module.wrap(source), {
    filename: path,
    cachedData,
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (cache !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    process.once('exit', () => writeQuietly(cache, bundlePrefix(path), bytes, script.createCachedData()));
  }
  const module = new Module(path);
  module.filename = path;
  module.paths = (Module as unknown as { _nodeModulePaths(from: string): string[] })._nodeModulePaths(
    dirname(path),
  );
  const run = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: Module,
    filename: string,
    dirname: string,
  ) => void;
  run.call(module.exports, module.exports, Module.createRequire(path), module, path, dirname(path));
}
