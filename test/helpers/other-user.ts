/**
 * Running rawbright as a user without privileges, for the permission checks.
 *
 * As root (CI), the child runs as `nobody` through setpriv. nobody may not be able to reach the clone
 * (a private 0700 folder, such as /root), so it runs a world-readable copy of what rawbright needs at
 * run time: package.json, dist/, the addon, the wasm and the runtime dependencies. As any other user,
 * the child is that user itself: it has no privileges to lose, and setpriv could not change its ids.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const NOBODY = 65534;
/** Loaded only by `bench --chart`, and large: left out of the copy. */
const NOT_NEEDED = new Set(['vega', 'vega-lite']);

export interface UnprivilegedUser {
  /** The uid the child runs as. */
  readonly uid: number;
  /** True when the child is another user than the one running the tests (the tests run as root). */
  readonly isOtherUser: boolean;
  /** The absolute path of a file of the package as the child sees it, e.g. `dist/cli/index.js`. */
  path(relative: string): string;
  /** The command and arguments that run `node ...nodeArgs` as this user. */
  command(nodeArgs: string[]): [string, string[]];
  /** Removes the copy, if one was made. */
  cleanup(): void;
}

/** The runtime dependency closure of the package, as folder names under node_modules. */
function runtimeDependencies(): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || NOT_NEEDED.has(name)) return;
    const manifest = join(ROOT, 'node_modules', name, 'package.json');
    if (!existsSync(manifest)) return; // An optional dependency for another platform.
    seen.add(name);
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep);
  };
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep);
  return [...seen];
}

function hasSetpriv(): boolean {
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * An unprivileged user to run rawbright as.
 * @throws when running as root without setpriv (util-linux): the checks could not be made honestly.
 */
export function unprivilegedUser(): UnprivilegedUser {
  if (process.getuid?.() !== 0) {
    const uid = process.getuid?.() ?? -1;
    return {
      uid,
      isOtherUser: false,
      path: (relative) => join(ROOT, relative),
      command: (nodeArgs) => [process.execPath, nodeArgs],
      cleanup: () => {},
    };
  }
  if (!hasSetpriv()) {
    throw new Error(
      'the permission checks run as nobody through setpriv (util-linux), which is not installed',
    );
  }
  const copy = mkdtempSync(join(tmpdir(), 'rawbright-world-'));
  const parts = ['package.json', 'dist', 'build/Release/rawbright.node', 'build/wasm'];
  for (const part of parts) cpSync(join(ROOT, part), join(copy, part), { recursive: true });
  for (const dep of runtimeDependencies()) {
    cpSync(join(ROOT, 'node_modules', dep), join(copy, 'node_modules', dep), { recursive: true });
  }
  // Readable (and folders searchable) by everyone, writable by nobody but root.
  execFileSync('chmod', ['-R', 'a+rX,go-w', copy]);
  chmodSync(copy, 0o755);
  return {
    uid: NOBODY,
    isOtherUser: true,
    path: (relative) => join(copy, relative),
    command: (nodeArgs) => [
      'setpriv',
      [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, ...nodeArgs],
    ],
    cleanup: () => rmSync(copy, { recursive: true, force: true }),
  };
}
