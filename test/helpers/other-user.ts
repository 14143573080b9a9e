/**
 * Running rawbright as a user without privileges, for the permission checks.
 *
 * As root (CI), the child runs as `nobody` through setpriv, from a world-readable copy of what the
 * command line needs (the clone may be in a private 0700 folder, such as /root). As any other user,
 * the child is that user itself: it has no privileges to lose, and setpriv could not change its ids.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AS_SECOND_USER, SECOND_UID, secondUserUnavailable, worldReadableCopy } from './second-user.js';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);

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

/**
 * An unprivileged user to run rawbright as.
 * @throws when running as root without a working setpriv (util-linux): the checks could not be made honestly.
 */
export function unprivilegedUser(): UnprivilegedUser {
  if (process.getuid?.() !== 0) {
    return {
      uid: process.getuid?.() ?? -1,
      isOtherUser: false,
      path: (relative) => join(ROOT, relative),
      command: (nodeArgs) => [process.execPath, nodeArgs],
      cleanup: () => {},
    };
  }
  const unavailable = secondUserUnavailable();
  if (unavailable !== undefined) throw new Error(`the permission checks run as nobody, which ${unavailable}`);
  const copy = worldReadableCopy({ cli: true });
  return {
    uid: SECOND_UID,
    isOtherUser: true,
    path: (relative) => join(copy, relative),
    command: (nodeArgs) => ['setpriv', [...AS_SECOND_USER, process.execPath, ...nodeArgs]],
    cleanup: () => rmSync(copy, { recursive: true, force: true }),
  };
}
