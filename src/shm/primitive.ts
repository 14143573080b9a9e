/**
 * What Event and Semaphore share: a small shared memory region whose data starts with
 *   word 0 magic, word 1 layout version (1), then the primitive's own words (see each file),
 * and a pool of kernel waiters on it.
 */
import { RawbrightError } from '../errors.js';
import { type OpenSharedMemoryOptions, SharedMemory } from './shared-memory.js';
import { WordWaiter } from './wait.js';

const PRIMITIVE_BYTES = 64;
const LAYOUT_VERSION = 1;
// How long open() waits for a creator to finish writing the header.
const OPEN_WAIT_MS = 1000;

export interface PrimitiveOptions extends OpenSharedMemoryOptions {
  /** Permission bits of a region this call creates [0o600]. */
  mode?: number;
}

export type How = 'create' | 'open' | 'createOrOpen';

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export interface Attached {
  region: SharedMemory;
  words: Int32Array;
  waiter: WordWaiter;
}

/**
 * Opens or creates the region and checks (or writes, then publishes with the magic last) its header.
 * `init` fills the primitive's words of a region this call created.
 */
export function attach(
  kind: string,
  magic: number,
  how: How,
  name: string,
  options: PrimitiveOptions | undefined,
  init: (words: Int32Array) => void,
): Attached {
  const given: { mode?: number; trustOwner?: number } = {};
  if (options?.mode !== undefined) given.mode = options.mode;
  if (options?.trustOwner !== undefined) given.trustOwner = options.trustOwner;
  const region =
    how === 'create'
      ? SharedMemory.create(name, PRIMITIVE_BYTES, given)
      : how === 'open'
        ? SharedMemory.open(name, given)
        : SharedMemory.createOrOpen(name, PRIMITIVE_BYTES, given);
  const words = new Int32Array(region.buffer, 0, region.size >= PRIMITIVE_BYTES ? PRIMITIVE_BYTES / 4 : 0);
  if (region.created) {
    init(words);
    words[1] = LAYOUT_VERSION;
    Atomics.store(words, 0, magic);
  } else if (words.length > 0) {
    const start = performance.now();
    while (Atomics.load(words, 0) === 0 && performance.now() - start < OPEN_WAIT_MS) sleepSync(1);
  }
  if (region.size !== PRIMITIVE_BYTES || Atomics.load(words, 0) !== magic || words[1] !== LAYOUT_VERSION) {
    region.close();
    throw new RawbrightError('ERR_IPC_INVALID', `shared memory region "${name}" is not ${kind}`, {
      path: region.path,
    });
  }
  return { region, words, waiter: new WordWaiter(region.buffer) };
}

export function closedError(kind: string, name: string, path: string): RawbrightError {
  return new RawbrightError('ERR_CLOSED', `${kind} "${name}" is closed`, { path });
}
