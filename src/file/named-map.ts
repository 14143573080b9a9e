/**
 * Names for open files, like the `mapName` of .NET's `MemoryMappedFile.CreateFromFile` and
 * `OpenExisting`: where the registry lives, which names are valid, and releasing names at exit.
 * The registry itself (files, locks, liveness) is native/named_map.cc.
 */
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { NativeFileHandle } from '../addon.js';
import { invalidParameterError } from '../errors.js';

/** The longest map name. */
export const MAX_MAP_NAME_LENGTH = 200;
const NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** Checks a map name: 1 to 200 letters, digits, `-`, `_` and `.`, not starting with `.`. */
export function mapName(name: string, value: unknown): string {
  if (typeof value === 'string' && value.length <= MAX_MAP_NAME_LENGTH && NAME.test(value)) return value;
  throw invalidParameterError(
    name,
    `a map name (1 to ${MAX_MAP_NAME_LENGTH} letters, digits, '-', '_' and '.', not starting with '.')`,
    value,
  );
}

function ownedBy(folder: string, uid: number): boolean {
  try {
    const stats = statSync(folder);
    return stats.isDirectory() && stats.uid === uid;
  } catch {
    return false;
  }
}

/**
 * The per-user folder of name registrations: `$XDG_RUNTIME_DIR/rawbright` when the session has a
 * runtime folder (private to the user by the XDG rules), else `/dev/shm/rawbright-<uid>`, else
 * `<tmpdir>/rawbright-<uid>`. XDG_RUNTIME_DIR counts only when it is a folder this user owns.
 * Processes that share names must agree on it (children inherit it). The native side makes the
 * folder 0700 and refuses one another user could change.
 */
export function mapNamesDirectory(): string {
  const uid = process.geteuid?.() ?? 0;
  const runtime = process.env.XDG_RUNTIME_DIR;
  // Another user's runtime folder (sudo keeping the caller's environment) is not this user's.
  if (runtime !== undefined && isAbsolute(runtime) && ownedBy(runtime, uid))
    return join(runtime, 'rawbright');
  try {
    if (statSync('/dev/shm').isDirectory()) return `/dev/shm/rawbright-${uid}`;
  } catch {
    // No /dev/shm (not Linux, or a minimal container): the temporary folder serves.
  }
  return join(tmpdir(), `rawbright-${uid}`);
}

/**
 * Handles that hold a name, weakly. At exit their names are released (the files stay open for any
 * later 'exit' handler), so a process that ends without closing its files, even by process.exit()
 * or an uncaught exception, leaves no registration behind; one that is killed leaves a stale one,
 * which the next `open` or `openExisting` of the name reclaims (its lock died with the process).
 */
const named = new Set<WeakRef<NativeFileHandle>>();
let exitHook = false;

export function trackNamed(handle: NativeFileHandle): void {
  // Forget closed and collected handles first, so a process that names many files keeps a short list.
  for (const entry of named) {
    const held = entry.deref();
    if (held === undefined || held.isClosed()) named.delete(entry);
  }
  named.add(new WeakRef(handle));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const entry of named) entry.deref()?.releaseName();
  });
}
