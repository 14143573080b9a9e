/**
 * A named counting semaphore between processes, like .NET's Semaphore. Permits have no owner: a
 * process that dies holding some does not give them back.
 *
 * Layout (after the common header of primitive.ts): word 2 maximum count, word 3 count (futex),
 * word 4 waiters sleeping.
 */
import { invalidParameterError, RawbrightError } from '../errors.js';
import { isInteger } from '../validate.js';
import { type Attached, attach, closedError, type How, type PrimitiveOptions } from './primitive.js';
import { checkWaitOptions, timeoutError, type WaitOptions, waitUntil } from './wait.js';

const MAGIC = 0x45534252; // "RBSE"
const W_MAX = 2;
const W_COUNT = 3;
const W_WAITERS = 4;
const MAX_COUNT = 2 ** 31 - 1;

export interface SemaphoreOptions extends PrimitiveOptions {
  /** Permits a new semaphore starts with [0]. */
  initialCount?: number;
  /** The most permits it can hold [2^31 − 1]. */
  maximumCount?: number;
}

const token = Symbol('Semaphore');

export class Semaphore implements Disposable {
  readonly name: string;
  readonly path: string;
  readonly maximumCount: number;
  readonly created: boolean;
  readonly #at: Attached;
  #closed = false;

  /** @internal */
  constructor(given: symbol, at: Attached) {
    if (given !== token) {
      throw new RawbrightError(
        'ERR_ILLEGAL_CONSTRUCTOR',
        'use Semaphore.create, Semaphore.open or Semaphore.createOrOpen',
      );
    }
    this.#at = at;
    this.name = at.region.name;
    this.path = at.region.path;
    this.created = at.region.created;
    this.maximumCount = at.words[W_MAX];
  }

  static #make(how: How, name: string, options?: SemaphoreOptions): Semaphore {
    const maximum = options?.maximumCount ?? MAX_COUNT;
    if (!isInteger(maximum) || maximum < 1 || maximum > MAX_COUNT) {
      throw invalidParameterError('maximumCount', `an integer from 1 to ${MAX_COUNT}`, maximum);
    }
    const initial = options?.initialCount ?? 0;
    if (!isInteger(initial) || initial < 0 || initial > maximum) {
      throw invalidParameterError('initialCount', `an integer from 0 to ${maximum}`, initial);
    }
    const at = attach('a semaphore', MAGIC, how, name, options, (words) => {
      words[W_MAX] = maximum;
      words[W_COUNT] = initial;
    });
    const max = at.words[W_MAX];
    if (max < 1) {
      at.waiter.close();
      at.region.close();
      throw new RawbrightError('ERR_IPC_INVALID', `shared memory region "${name}" is not a semaphore`);
    }
    return new Semaphore(token, at);
  }

  /** Creates a named semaphore. @throws `EEXIST` if the name is in use. */
  static create(name: string, options?: SemaphoreOptions): Semaphore {
    return Semaphore.#make('create', name, options);
  }
  /** Opens an existing semaphore. @throws `ENOENT`; `ERR_IPC_INVALID` if the region is not one. */
  static open(name: string, options?: PrimitiveOptions): Semaphore {
    return Semaphore.#make('open', name, options);
  }
  static createOrOpen(name: string, options?: SemaphoreOptions): Semaphore {
    return Semaphore.#make('createOrOpen', name, options);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Permits available now (a snapshot). */
  get count(): number {
    this.#check();
    return Atomics.load(this.#at.words, W_COUNT);
  }

  /** Takes a permit if one is free now. */
  tryWait(): boolean {
    this.#check();
    const { words } = this.#at;
    for (;;) {
      const count = Atomics.load(words, W_COUNT);
      if (count <= 0) return false;
      if (Atomics.compareExchange(words, W_COUNT, count, count - 1) === count) return true;
    }
  }

  /** Takes a permit, waiting for one. @throws `ETIMEDOUT`; the signal's reason; `ERR_CLOSED`. */
  async wait(options?: WaitOptions): Promise<void> {
    this.#check();
    const wait = checkWaitOptions(options);
    const { words, waiter } = this.#at;
    await waitUntil(
      words,
      waiter,
      W_COUNT,
      W_WAITERS,
      () => {
        for (;;) {
          const count = Atomics.load(words, W_COUNT);
          if (count <= 0) return { done: false, seen: count };
          if (Atomics.compareExchange(words, W_COUNT, count, count - 1) === count) return { done: true };
        }
      },
      wait,
      () => this.#closed,
      {
        closed: () => closedError('semaphore', this.name, this.path),
        timeout: () => timeoutError(wait.timeout, `semaphore "${this.name}"`, this.path),
      },
    );
  }

  /**
   * Gives back `count` permits [1] and wakes waiters.
   * @returns the count before.
   * @throws `ERR_SEMAPHORE_FULL` if that would pass the maximum (nothing is released then).
   */
  release(count = 1): number {
    this.#check();
    if (!isInteger(count) || count < 1) throw invalidParameterError('count', 'a positive integer', count);
    const { words, waiter } = this.#at;
    for (;;) {
      const before = Atomics.load(words, W_COUNT);
      if (before + count > this.maximumCount) {
        throw new RawbrightError(
          'ERR_SEMAPHORE_FULL',
          `releasing ${count} would pass semaphore "${this.name}"'s maximum of ${this.maximumCount}`,
          { path: this.path },
        );
      }
      if (Atomics.compareExchange(words, W_COUNT, before, before + count) === before) {
        if (Atomics.load(words, W_WAITERS) !== 0) waiter.wake(W_COUNT);
        return before;
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#at.waiter.close();
    this.#at.region.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #check(): void {
    if (this.#closed) throw closedError('semaphore', this.name, this.path);
  }
}
