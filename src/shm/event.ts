/**
 * A named event between processes, like .NET's EventWaitHandle: auto-reset (set() releases one
 * waiter, then the event is unset again) or manual-reset (set() releases every waiter until reset()).
 *
 * Layout (after the common header of primitive.ts): word 2 manual (0/1), word 3 state (1 = set),
 * word 4 sequence (futex: bumped by every set), word 5 waiters sleeping.
 */
import { RawbrightError } from '../errors.js';
import { type Attached, attach, closedError, type How, type PrimitiveOptions } from './primitive.js';
import { checkWaitOptions, timeoutError, type WaitOptions, waitUntil } from './wait.js';

const MAGIC = 0x56454252; // "RBEV"
const W_MANUAL = 2;
const W_STATE = 3;
const W_SEQ = 4;
const W_WAITERS = 5;

export interface EventOptions extends PrimitiveOptions {
  /** Manual reset (stays set until reset()) rather than auto reset [false]. Must match an existing event. */
  manualReset?: boolean;
  /** Whether a new event starts set [false]. */
  initialState?: boolean;
}

const token = Symbol('Event');

export class Event implements Disposable {
  readonly name: string;
  readonly path: string;
  readonly manualReset: boolean;
  readonly created: boolean;
  readonly #at: Attached;
  #closed = false;

  /** @internal */
  constructor(given: symbol, at: Attached) {
    if (given !== token)
      throw new RawbrightError(
        'ERR_ILLEGAL_CONSTRUCTOR',
        'use Event.create, Event.open or Event.createOrOpen',
      );
    this.#at = at;
    this.name = at.region.name;
    this.path = at.region.path;
    this.created = at.region.created;
    this.manualReset = at.words[W_MANUAL] === 1;
  }

  static #make(how: How, name: string, options?: EventOptions): Event {
    const manual = options?.manualReset === true;
    const at = attach('an event', MAGIC, how, name, options, (words) => {
      words[W_MANUAL] = manual ? 1 : 0;
      words[W_STATE] = options?.initialState === true ? 1 : 0;
    });
    const event = new Event(token, at);
    if (how === 'createOrOpen' && options?.manualReset !== undefined && event.manualReset !== manual) {
      event.close();
      throw new RawbrightError('ERR_SHM_MISMATCH', `event "${name}" exists with the other reset mode`);
    }
    return event;
  }

  /** Creates a named event. @throws `EEXIST` if the name is in use. */
  static create(name: string, options?: EventOptions): Event {
    return Event.#make('create', name, options);
  }
  /** Opens an existing event. @throws `ENOENT`; `ERR_IPC_INVALID` if the region is not an event. */
  static open(name: string, options?: PrimitiveOptions): Event {
    return Event.#make('open', name, options);
  }
  static createOrOpen(name: string, options?: EventOptions): Event {
    return Event.#make('createOrOpen', name, options);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sets the event: wakes its waiters (an auto-reset event lets exactly one through). */
  set(): void {
    this.#check();
    const { words, waiter } = this.#at;
    Atomics.store(words, W_STATE, 1);
    Atomics.add(words, W_SEQ, 1);
    if (Atomics.load(words, W_WAITERS) !== 0) waiter.wake(W_SEQ);
  }

  /** Unsets the event. */
  reset(): void {
    this.#check();
    Atomics.store(this.#at.words, W_STATE, 0);
  }

  /** Whether the event is set now; an auto-reset event that is set becomes unset (this call took it). */
  tryWait(): boolean {
    this.#check();
    const { words } = this.#at;
    if (this.manualReset) return Atomics.load(words, W_STATE) === 1;
    return Atomics.compareExchange(words, W_STATE, 1, 0) === 1;
  }

  /** Waits until the event is set. @throws `ETIMEDOUT`; the signal's reason; `ERR_CLOSED`. */
  async wait(options?: WaitOptions): Promise<void> {
    this.#check();
    const wait = checkWaitOptions(options);
    const { words, waiter } = this.#at;
    await waitUntil(
      words,
      waiter,
      W_SEQ,
      W_WAITERS,
      () => {
        const seen = Atomics.load(words, W_SEQ);
        return this.tryWait() ? { done: true } : { done: false, seen };
      },
      wait,
      () => this.#closed,
      {
        closed: () => closedError('event', this.name, this.path),
        timeout: () => timeoutError(wait.timeout, `event "${this.name}"`, this.path),
      },
    );
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
    if (this.#closed) throw closedError('event', this.name, this.path);
  }
}
