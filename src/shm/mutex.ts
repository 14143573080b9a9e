/**
 * A standalone named mutex, like .NET's `new Mutex(initiallyOwned, name)` / `Mutex.OpenExisting`:
 * a shared memory region with no data and one robust lock (shared-memory.ts), so a dead owner is
 * reported to the next locker as abandoned.
 */
import { RawbrightError } from '../errors.js';
import {
  type LockOptions,
  type Mutex,
  type MutexGuard,
  type OpenSharedMemoryOptions,
  SharedMemory,
} from './shared-memory.js';

export interface NamedMutexOptions extends OpenSharedMemoryOptions {
  /** Permission bits of a mutex this call creates [0o600]. */
  mode?: number;
}

const token = Symbol('NamedMutex');

export class NamedMutex implements Disposable {
  readonly name: string;
  readonly path: string;
  readonly created: boolean;
  readonly #region: SharedMemory;
  readonly #mutex: Mutex;

  /** @internal */
  constructor(given: symbol, region: SharedMemory) {
    if (given !== token) {
      throw new RawbrightError(
        'ERR_ILLEGAL_CONSTRUCTOR',
        'use NamedMutex.create, NamedMutex.open or NamedMutex.createOrOpen',
      );
    }
    if (region.size !== 0 || region.mutexCount !== 1) {
      region.close();
      throw new RawbrightError(
        'ERR_IPC_INVALID',
        `shared memory region "${region.name}" is not a named mutex`,
        {
          path: region.path,
        },
      );
    }
    this.#region = region;
    this.#mutex = region.mutex;
    this.name = region.name;
    this.path = region.path;
    this.created = region.created;
  }

  static #options(options?: NamedMutexOptions): { mode?: number; trustOwner?: number } {
    const given: { mode?: number; trustOwner?: number } = {};
    if (options?.mode !== undefined) given.mode = options.mode;
    if (options?.trustOwner !== undefined) given.trustOwner = options.trustOwner;
    return given;
  }

  /** Creates a named mutex. @throws `EEXIST` if the name is in use. */
  static create(name: string, options?: NamedMutexOptions): NamedMutex {
    return new NamedMutex(token, SharedMemory.create(name, 0, NamedMutex.#options(options)));
  }
  /** Opens an existing named mutex. @throws `ENOENT`; `ERR_IPC_INVALID` if the region is not one. */
  static open(name: string, options?: OpenSharedMemoryOptions): NamedMutex {
    return new NamedMutex(token, SharedMemory.open(name, NamedMutex.#options(options)));
  }
  static createOrOpen(name: string, options?: NamedMutexOptions): NamedMutex {
    return new NamedMutex(token, SharedMemory.createOrOpen(name, 0, NamedMutex.#options(options)));
  }

  get closed(): boolean {
    return this.#region.closed;
  }

  /** Whether this object holds the lock. */
  get locked(): boolean {
    return this.#mutex.locked;
  }

  /** Takes the lock, waiting (without blocking the event loop); the guard tells whether it was abandoned. */
  lock(options?: LockOptions): Promise<MutexGuard> {
    return this.#mutex.lock(options);
  }

  /** Takes the lock if it is free now, else null. */
  tryLock(): MutexGuard | null {
    return this.#mutex.tryLock();
  }

  /** Releases the lock held by this object. */
  unlock(): void {
    this.#mutex.unlock();
  }

  /** Closes it here; a lock still held is released as abandoned. */
  close(): void {
    this.#region.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
