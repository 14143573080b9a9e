/**
 * Runs a script as a second local user (uid/gid 65534, "nobody") to test what another user can do to
 * shared memory. The clone may live in a folder that user cannot enter, so the script runs from a
 * world-readable copy of what it needs: dist/, the addon, a package.json of type module, and the
 * scripts, in a fresh folder under os.tmpdir().
 *
 * This needs root (to switch users) and util-linux's setpriv; {@link secondUserUnavailable} says
 * which is missing, so tests that need it can say why they cannot run.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LineChild, startLineChild } from './line-child.js';

export const SECOND_UID = 65534;
const SECOND_GID = 65534;

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SETPRIV_ARGS = [`--reuid=${SECOND_UID}`, `--regid=${SECOND_GID}`, '--clear-groups'];

let cachedReason: string | undefined | null = null;

/** Why a second user cannot be used here, or undefined if it can. */
export function secondUserUnavailable(): string | undefined {
  if (cachedReason !== null) return cachedReason;
  cachedReason = probe();
  return cachedReason;
}

function probe(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  const uid = process.getuid?.();
  if (uid !== 0) return `needs root to run a child as uid ${SECOND_UID} (this process is uid ${uid})`;
  const result = spawnSync(
    'setpriv',
    [...SETPRIV_ARGS, process.execPath, '-e', 'process.stdout.write(String(process.getuid()))'],
    { encoding: 'utf8' },
  );
  if (result.error !== undefined)
    return `needs setpriv (util-linux) to switch users: ${result.error.message}`;
  if (result.stdout !== String(SECOND_UID)) {
    return `setpriv could not run ${process.execPath} as uid ${SECOND_UID}: ${result.stderr.trim() || `exit ${result.status}`}`;
  }
  return undefined;
}

function openUp(path: string): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  if (stat.isDirectory()) {
    chmodSync(path, 0o755);
    for (const entry of readdirSync(path)) openUp(join(path, entry));
  } else {
    chmodSync(path, 0o644);
  }
}

/** Loaded only by `bench --chart`, and large: left out of a copy for the CLI. */
const NOT_NEEDED = new Set(['vega', 'vega-lite']);

/** The runtime dependency closure of the package, as folder names under node_modules. */
function runtimeDependencies(): string[] {
  const seen = new Set<string>();
  const dependenciesOf = (manifest: string) => {
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    return Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies });
  };
  const visit = (name: string) => {
    const manifest = join(REPO, 'node_modules', name, 'package.json');
    // Optional dependencies for other platforms are not installed.
    if (seen.has(name) || NOT_NEEDED.has(name) || !existsSync(manifest)) return;
    seen.add(name);
    for (const dependency of dependenciesOf(manifest)) visit(dependency);
  };
  for (const dependency of dependenciesOf(join(REPO, 'package.json'))) visit(dependency);
  return [...seen];
}

/**
 * A world-readable copy of the built library in a fresh folder under os.tmpdir(): dist/, the addon and
 * a package.json of type module; with `cli`, also the wasm, the real package.json and the runtime
 * dependencies, which the command line needs. Its files are made readable by everyone.
 */
export function worldReadableCopy(options: { cli?: boolean } = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'rawbright-second-user-'));
  cpSync(join(REPO, 'dist'), join(root, 'dist'), { recursive: true });
  mkdirSync(join(root, 'build', 'Release'), { recursive: true });
  copyFileSync(
    join(REPO, 'build', 'Release', 'rawbright.node'),
    join(root, 'build', 'Release', 'rawbright.node'),
  );
  if (options.cli) {
    cpSync(join(REPO, 'build', 'wasm'), join(root, 'build', 'wasm'), { recursive: true });
    copyFileSync(join(REPO, 'package.json'), join(root, 'package.json'));
    for (const dependency of runtimeDependencies()) {
      cpSync(join(REPO, 'node_modules', dependency), join(root, 'node_modules', dependency), {
        recursive: true,
      });
    }
  } else {
    writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
  }
  openUp(root);
  return root;
}

/** The setpriv arguments that run a command as the second user. */
export const AS_SECOND_USER: readonly string[] = SETPRIV_ARGS;

/** A world-readable copy of the built library plus SCRIPTS (paths), run as the second user. */
export class SecondUser implements Disposable {
  readonly root: string;

  constructor(scripts: string[]) {
    this.root = worldReadableCopy();
    for (const script of scripts) copyFileSync(script, join(this.root, basename(script)));
    openUp(this.root);
  }

  /** Starts `node <script> ...args` as the second user; SCRIPT is the base name of a copied script. */
  start(script: string, ...args: (string | number)[]): LineChild {
    return startLineChild(
      'setpriv',
      [...SETPRIV_ARGS, process.execPath, join(this.root, script), ...args.map(String)],
      `${script} ${args.join(' ')} (as uid ${SECOND_UID})`,
    );
  }

  [Symbol.dispose](): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
