/**
 * Loads a CommonJS bundle of dist/bin/ with V8's code cache: the bytecode V8 compiled for the bundle in an
 * earlier run, the functions compiled lazily during that run included, is kept in a file and handed back to
 * V8, which skips parsing and compiling them. On a small file this is about a tenth of the whole process on
 * Node 20, which has no compile cache of its own; on Node 24 it took 0.82x the time of Node's own
 * (`module.enableCompileCache`), which keeps only what was compiled before the bundle first ran.
 *
 * Safe by construction: the cache file's name carries a CRC-32 and the length of the bundle's source (and a
 * CRC-32 of its folder), the Node version and the architecture, and V8 itself refuses data made by another V8,
 * with other V8 flags or for another source length (then the bundle is compiled as usual and the cache written
 * again: a run with other flags, `--cpu-prof` say, rewrites it once). The folder is the user's
 * own (`rawbright-code-cache-UID` in the temporary folder, mode 0700, checked to be a real folder of this user
 * that nobody else can write to); where it is not, nothing is read or written. Any failure to read or write
 * the cache only costs the compile. `NODE_DISABLE_COMPILE_CACHE=1` turns it off, as it does Node's own.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { constants, Script } from 'node:vm';
import { crc32 } from 'node:zlib';

/** The user's own cache folder, made if missing; undefined where it cannot be trusted. */
function cacheFolder(): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const folder = join(tmpdir(), `rawbright-code-cache-${uid}`);
  try {
    mkdirSync(folder, { mode: 0o700 });
  } catch {
    // It exists (checked next), or cannot be made (checked next too).
  }
  try {
    const stat = lstatSync(folder);
    return stat.isDirectory() && stat.uid === uid && (stat.mode & 0o077) === 0 ? folder : undefined;
  } catch {
    return undefined;
  }
}

/** The end of the cache files' names for this Node: its version and the architecture. */
const NODE_SUFFIX = `-${process.version}-${process.arch}.v8cache`;

/**
 * The start of the cache files' names of the bundle at `path`: its name and a CRC-32 of its folder, so two
 * installs of rawbright on one machine keep a cache each (instead of replacing each other's at every run).
 */
function bundlePrefix(path: string): string {
  return `${basename(path)}-${crc32(dirname(path)).toString(16)}-`;
}

/** Where the code cache of `source` (the bundle at `path`) is kept, for this Node. */
function cachePath(folder: string, path: string, source: string): string {
  return join(folder, `${bundlePrefix(path)}${crc32(source).toString(16)}-${source.length}${NODE_SUFFIX}`);
}

/**
 * Writes `data` to `path` atomically (a temporary name, then a rename) and removes this Node's caches of other
 * builds of the same bundle, those whose names start with `prefix` (other Node versions keep theirs: each is
 * used by its own Node); a failure is ignored.
 */
function writeQuietly(path: string, prefix: string, data: Buffer): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, data, { mode: 0o600, flag: 'wx' });
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
 * missing or refused.
 */
export function requireWithCodeCache(path: string): void {
  const source = readFileSync(path, 'utf8');
  const folder = process.env.NODE_DISABLE_COMPILE_CACHE ? undefined : cacheFolder();
  const cache = folder === undefined ? undefined : cachePath(folder, path, source);
  let cachedData: Buffer | undefined;
  if (cache !== undefined) {
    try {
      cachedData = readFileSync(cache);
    } catch {
      // No cache yet.
    }
  }
  const script = new Script(Module.wrap(source), {
    filename: path,
    cachedData,
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (cache !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    process.once('exit', () => writeQuietly(cache, bundlePrefix(path), script.createCachedData()));
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
