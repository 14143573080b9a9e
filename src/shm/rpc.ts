/**
 * Request/response over channels: `serve(requests, handler)` answers every request of a channel;
 * a `Requester` sends requests tagged with a correlation id and the name of its own reply channel,
 * and matches each reply to its caller, with a timeout. Replies to a requester that is gone (or
 * gave up) are dropped by the requester; a handler's error comes back as a rejected `request()`
 * (`ERR_REMOTE` with the remote message and code).
 */
import { invalidParameterError, RawbrightError } from '../errors.js';
import { Channel, type ChannelOptions } from './channel.js';
import { checkWaitOptions, timeoutError, type WaitOptions } from './wait.js';

interface RequestEnvelope {
  rbrpc: 1;
  id: number;
  replyTo: string;
  body: unknown;
}

interface ReplyEnvelope {
  rbrpc: 1;
  id: number;
  ok: boolean;
  body: unknown;
  code?: string;
}

function isRequest(value: unknown): value is RequestEnvelope {
  const v = value as Partial<RequestEnvelope> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.rbrpc === 1 &&
    typeof v.id === 'number' &&
    typeof v.replyTo === 'string'
  );
}

function isReply(value: unknown): value is ReplyEnvelope {
  const v = value as Partial<ReplyEnvelope> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.rbrpc === 1 &&
    typeof v.id === 'number' &&
    typeof v.ok === 'boolean'
  );
}

/** A running server (see {@link serve}). */
export interface Server {
  /** Settles when the server stops (after `stop()`, or once the request channel is closed). */
  readonly done: Promise<void>;
  /** Stops receiving requests; requests in progress still reply. */
  stop(): void;
}

/**
 * Answers every request arriving on `requests` with `handler(body)` (its result, awaited), sent to
 * the requester's reply channel. Requests run one after another, in arrival order; run several
 * servers on the same channel for parallelism. Messages that are not requests are dropped.
 */
export function serve<Q = unknown, R = unknown>(
  requests: Channel,
  handler: (body: Q) => R | Promise<R>,
): Server {
  if (!(requests instanceof Channel)) throw invalidParameterError('requests', 'a Channel', requests);
  if (typeof handler !== 'function') throw invalidParameterError('handler', 'a function', handler);
  const controller = new AbortController();
  const replyChannels = new Map<string, Channel>();
  const loop = async (): Promise<void> => {
    try {
      while (!controller.signal.aborted && !requests.closed) {
        let message: unknown;
        try {
          message = await requests.receive({ signal: controller.signal });
        } catch (error) {
          if (controller.signal.aborted || requests.closed) return;
          throw error;
        }
        if (!isRequest(message)) continue;
        let reply: ReplyEnvelope;
        try {
          reply = { rbrpc: 1, id: message.id, ok: true, body: await handler(message.body as Q) };
        } catch (error) {
          const e = error as { message?: unknown; code?: unknown };
          reply = {
            rbrpc: 1,
            id: message.id,
            ok: false,
            body: typeof e?.message === 'string' ? e.message : String(error),
            ...(typeof e?.code === 'string' ? { code: e.code } : {}),
          };
        }
        let target = replyChannels.get(message.replyTo);
        try {
          if (target === undefined) {
            target = Channel.open(message.replyTo);
            replyChannels.set(message.replyTo, target);
          }
          // A requester that is gone or stuck must not stall the server.
          await target.send(reply, { timeout: 1000 });
        } catch {
          target?.close();
          replyChannels.delete(message.replyTo);
        }
      }
    } finally {
      for (const channel of replyChannels.values()) channel.close();
    }
  };
  return { done: loop(), stop: () => controller.abort() };
}

export interface RequesterOptions extends ChannelOptions {
  /** The name of this requester's reply channel [`<requests' name>.reply-<pid>-<n>`]. */
  replyName?: string;
}

let replyCounter = 0;

/** Sends requests to a {@link serve}r and matches the replies (see the module comment). */
export class Requester implements Disposable {
  readonly #requests: Channel;
  readonly #replies: Channel;
  readonly #pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: unknown) => void }
  >();
  #nextId = 1;
  #closed = false;
  #pumping = false;

  /** @param requests the server's request channel (not closed by this object) */
  constructor(requests: Channel, options?: RequesterOptions) {
    if (!(requests instanceof Channel)) throw invalidParameterError('requests', 'a Channel', requests);
    this.#requests = requests;
    const name = options?.replyName ?? `${requests.name}.reply-${process.pid}-${++replyCounter}`;
    this.#replies = Channel.create(name, options);
  }

  /** The reply channel's name. */
  get replyName(): string {
    return this.#replies.name;
  }

  /**
   * Sends `body` and resolves with the server's answer.
   * @throws `ETIMEDOUT` (the timeout covers sending and the reply); the signal's reason on abort;
   *   `ERR_REMOTE` when the handler threw; `ERR_CLOSED` if this requester is closed meanwhile.
   */
  async request<R = unknown>(body: unknown, options?: WaitOptions): Promise<R> {
    if (this.#closed) throw new RawbrightError('ERR_CLOSED', `requester "${this.replyName}" is closed`);
    const wait = checkWaitOptions(options);
    const id = this.#nextId++;
    const envelope: RequestEnvelope = { rbrpc: 1, id, replyTo: this.#replies.name, body };
    const answer = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    answer.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await this.#requests.send(envelope, options);
      this.#pump();
      const stops: Promise<never>[] = [];
      if (wait.timeout !== undefined && Number.isFinite(wait.timeout)) {
        const remaining = Math.max(0, wait.deadline - performance.now());
        stops.push(
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  timeoutError(wait.timeout, `a reply from "${this.#requests.name}"`, this.#requests.path),
                ),
              remaining,
            );
          }),
        );
      }
      if (wait.signal !== undefined) {
        const signal = wait.signal;
        stops.push(
          new Promise<never>((_, reject) => {
            onAbort = () => reject(signal.reason);
            if (signal.aborted) onAbort();
            else signal.addEventListener('abort', onAbort, { once: true });
          }),
        );
      }
      return (await Promise.race([answer, ...stops])) as R;
    } finally {
      this.#pending.delete(id);
      if (timer !== undefined) clearTimeout(timer);
      if (onAbort !== undefined) wait.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Closes the reply channel: pending requests reject with `ERR_CLOSED`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#replies.close();
    const error = new RawbrightError('ERR_CLOSED', `requester "${this.#replies.name}" is closed`);
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // One receive loop while requests are pending; replies nobody waits for (any more) are dropped.
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    void (async () => {
      try {
        while (!this.#closed && this.#pending.size > 0) {
          let message: unknown;
          try {
            message = await this.#replies.receive();
          } catch {
            return;
          }
          if (!isReply(message)) continue;
          const pending = this.#pending.get(message.id);
          if (pending === undefined) continue;
          if (message.ok) pending.resolve(message.body);
          else
            pending.reject(
              new RawbrightError(
                'ERR_REMOTE',
                `the server failed${message.code !== undefined ? ` (${message.code})` : ''}: ${String(message.body)}`,
              ),
            );
        }
      } finally {
        this.#pumping = false;
      }
    })();
  }
}
