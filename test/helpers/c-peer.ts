// The C peer of the shared-memory tests (test/shm/c-peer.c), built from the project's C header with every
// warning an error: a peer that needs a cast or ignores a result is a header others cannot use cleanly.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const C_PEER = fileURLToPath(new URL('../shm/c-peer.c', import.meta.url));

/** Compiles the C peer to `binary` (cc -O2 -Wall -Wextra -Werror); fails the test on any diagnostic. */
export function compileCPeer(binary: string): void {
  const build = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', binary, C_PEER], {
    encoding: 'utf8',
  });
  expect(build.stderr).toBe('');
  expect(build.status).toBe(0);
}
