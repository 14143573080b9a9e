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

/**
 * The per-user folder of name registrations: `$XDG_RUNTIME_DIR/rawbright` when the session has a
 * runtime folder (private to the user by the XDG rules), else `/dev/shm/rawbright-<uid>`, else
 * `<tmpdir>/rawbright-<uid>`. Processes that share names must agree on XDG_RUNTIME_DIR (children
 * inherit it). The native side makes the folder 0700 and refuses one another user could change.
 */
export function mapNamesDirectory(): string {
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime !== undefined && isAbsolute(runtime)) return join(runtime, 'rawbright');
  const uid = process.geteuid?.() ?? 0;
  try {
    if (statSync('/dev/shm').isDirectory()) return `/dev/shm/rawbright-${uid}`;
  } catch {
    // No /dev/shm (not Linux, or a minimal container): the temporary folder serves.
  }
  return join(tmpdir(), `rawbright-${uid}`);
}

/**
 * Handles that hold a name, weakly. At exit their names are released, so a process that ends
 * without closing its files leaves no registration behind; one that is killed leaves a stale one,
 * which the next `open` or `openExisting` of the name reclaims (its lock died with the process).
 */
const named = new Set<WeakRef<NativeFileHandle>>();
let exitHook = false;

export function trackNamed(handle: NativeFileHandle): void {
  named.add(new WeakRef(handle));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const entry of named) entry.deref()?.close();
  });
}

/** Forgets closed handles, so a long-running process that names many files keeps a short list. */
export function untrackClosed(): void {
  for (const entry of named) {
    const handle = entry.deref();
    if (handle === undefined || handle.isClosed()) named.delete(entry);
  }
}
