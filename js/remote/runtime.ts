// A broker kept elsewhere, on a server the calls go to: the messages, their
// leases and every queue rule live there, each change one atomic call of
// the server's functions (js/redis/library.lua names them and their
// answers). The core (RemoteCore) decides what is local: which consumer
// gets each delivery, how much to claim, waits and timeouts, backoff. This
// class runs the calls and hands their answers back; a subclass is the way
// to the server (RedisRuntime: a Redis server shared by many processes).
import { RemoteCore } from '../../pkg/ferrymq.js';
import { decode, encode } from '../codec.js';
import { asStorageError, FerryError } from '../errors.js';
import { f64 } from '../memory.js';
import { noop } from '../promises.js';
import type { BrokerEventType, MessageId, QueueStats } from '../types.js';
import * as wire from '../wire.js';
import { queueArguments, type SendArguments } from '../broker/options.js';
import { queueStats } from '../broker/queue.js';
import { closedError, type BatchItem, Runtime } from '../broker/runtime.js';
import { Settle } from '../broker/settle.js';

/** The broker events a server (or leader) reports to the processes and threads that listen. */
export const EVENT_TYPES = ['dead-letter', 'expired', 'redelivered'] as const satisfies readonly BrokerEventType[];

/** An argument of a server function. */
export type Arg = string | number | Uint8Array;

/** A server function's answer: numbers, strings (bytes for a binary call), arrays of them, and errors inside arrays. */
export type Reply = number | string | Uint8Array | null | Error | Reply[];

/** An error the server answered with, by the library's code: BINDINGS_CHANGED is for the runtime (route again); the others are FerryErrors. */
export class ServerError extends Error {
  constructor(
    readonly code: FerryError['code'] | 'BINDINGS_CHANGED',
    message: string,
  ) {
    super(message);
  }
}

const utf8 = new TextDecoder();
const text = (value: Reply): string => (value instanceof Uint8Array ? utf8.decode(value) : String(value));

export abstract class RemoteRuntime extends Runtime<RemoteCore> {
  /** Each local queue's id on the server, once declared there. */
  readonly #serverIds: Promise<string>[] = [];
  readonly #known: (string | undefined)[] = [];
  readonly #byServerId = new Map<string, number>();
  /** The last change of the bindings this process asked for: a publish routes after it. */
  #bindingsChanged: Promise<unknown> = Promise.resolve();
  /** Stats as last read from the server, by local queue id. */
  readonly #stats: QueueStats[] = [];
  /** Acks on their way to the server, by local queue id. */
  readonly #acks: PendingAcks[] = [];
  /** Calls in flight that `idle` waits for. */
  readonly #pending = new Set<Promise<unknown>>();
  #pendingSettled: Promise<void> | undefined = undefined;

  constructor() {
    super((wake) => new RemoteCore(wire.randomSeed(), wake));
  }

  // ---- the way to the server ---------------------------------------------

  /**
   * Calls server function `fn`; `binary`: strings come back as bytes.
   * Rejects with a FerryError, or a ServerError BINDINGS_CHANGED.
   */
  protected abstract call(fn: string, args: Arg[], binary?: boolean): Promise<Reply>;
  /** One delivery's answer in an ack call's: undefined if it was settled, else why not (a FerryError). */
  protected abstract deliveryError(answer: Reply): Error | undefined;
  /** The options queue `sid` has on the server, as RemoteCore.declaration's canon ('' for an implicit dead-letter queue). */
  protected abstract serverOptions(sid: string): Promise<string>;
  /** Every queue on the server: its name by server id. */
  protected abstract serverQueues(): Promise<Record<string, string>>;
  /** Where the server sends this process's replies to its requests. */
  protected abstract readonly inbox: string;
  /** After each flush: keeps waiting on the server while the core waits for `starvedOn()` or a request for its reply. */
  protected abstract block(): void;
  /** Closes the way to the server; a promise when closing takes a while (a page that led lets go). */
  protected abstract disconnect(): Promise<void> | void;

  // ---- queues ------------------------------------------------------------

  declare(argument: string, name: string, options: unknown): number {
    const given = options === undefined ? undefined : queueArguments(options, true);
    const known = this.core.queueId(name);
    const q = this.core.declareQueue(name, given, argument);
    if (known === wire.NONE || given !== undefined) {
      const declared = this.#declareOnServer(q, name, known === wire.NONE ? undefined : this.#serverIds[q]);
      // Its failure is each later call's on the queue; unhandled if none comes.
      declared.catch(noop);
      this.#serverIds[q] = declared;
    }
    return q;
  }

  /** Declares queue `q` on the server after `before` (an earlier declaration of it); its server id. */
  async #declareOnServer(q: number, name: string, before: Promise<string> | undefined): Promise<string> {
    await before?.catch(noop);
    const declaration = this.core.declaration(q) as string[];
    const id = text(await this.call('declare', [name, ...declaration]));
    this.#known[q] = id;
    this.#byServerId.set(id, q);
    // Declared without options: the queue's options are whoever declared it first's.
    if (declaration[0] === '0') {
      const canon = await this.serverOptions(id);
      // An implicit dead-letter queue: no further dead-lettering.
      const options: unknown = canon === '' ? { deadLetter: null } : JSON.parse(canon);
      if (!this.closed) this.core.declareQueue(name, queueArguments(options, true), 'name');
    }
    return id;
  }

  /** The server id of queue `q`, once declared there. */
  protected serverId(q: number): Promise<string> {
    return this.#serverIds[q]!;
  }

  /** The local id of the queue with server id `id`, declaring it here if this process has not. */
  protected localId(id: string, name: string): number {
    const q = this.#byServerId.get(id);
    if (q !== undefined) return q;
    const local = this.core.declareQueue(name, undefined, 'name');
    this.#known[local] = id;
    this.#byServerId.set(id, local);
    this.#serverIds[local] = Promise.resolve(id);
    return local;
  }

  /** The server ids of the queues the core waits on the server for. */
  protected starvedOn(): string[] {
    // A queue whose declaration failed has no server id: there is nothing to wait on.
    return (Array.from(this.core.starved()) as number[]).flatMap((q) => this.#known[q] ?? []);
  }

  /** The server says queue `sid` has due messages: whether this process wants them. */
  protected woken(sid: string): boolean {
    const q = this.#byServerId.get(sid);
    return q !== undefined && this.core.woken(q);
  }

  /** The server answered request `rid` with `body`. */
  protected replied(rid: number, body: Uint8Array): void {
    if (!this.core.replied(rid)) return;
    this.endRequest(rid)?.resolve(decode(body)[0]);
  }

  // ---- sending -----------------------------------------------------------

  send(queue: number, payload: unknown, [id, priority, delayMs, ttlMs, headers]: SendArguments): Promise<MessageId> {
    try {
      this.core.checkSend(queue, id, priority, ttlMs);
      const body = encode(payload, headers);
      return this.track(async () => {
        const sid = await this.serverId(queue);
        const [seq] = (await this.call('send', [sid, id ?? '', priority, delayMs, ttl(ttlMs), body])) as number[];
        return id ?? String(seq);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async sendBatch(queue: number, items: BatchItem[]): Promise<MessageId[]> {
    const args: Arg[] = [];
    for (const { payload, send } of items) {
      const [id, priority, delayMs, ttlMs, headers] = send;
      this.core.checkSend(queue, id, priority, ttlMs);
      args.push(id ?? '', priority, delayMs, ttl(ttlMs), encode(payload, headers));
    }
    this.assertOpen();
    return this.track(async () => {
      const sid = await this.serverId(queue);
      const [, ...seqs] = (await this.call('send_batch', [sid, ...args])) as number[];
      return seqs.map((seq, i) => items[i]!.send[0] ?? String(seq));
    });
  }

  publish(routingKey: string, payload: unknown, send: SendArguments): Promise<MessageId[]> {
    try {
      this.core.route(routingKey);
      const body = encode(payload, send[4]);
      return this.track(async () => {
        await this.#bindingsChanged.catch(noop);
        return this.publishRouted(routingKey, body, send);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Publishes `body` after the bindings this process changed: routed here
   * by the bindings as loaded from the server, sent by their version, and
   * routed again if another process changed them meanwhile.
   */
  protected async publishRouted(routingKey: string, body: Uint8Array, [id, priority, delayMs, ttlMs]: SendArguments): Promise<MessageId[]> {
    for (;;) {
      if (this.core.bindingsVersion() === wire.NONE) await this.#loadBindings();
      const queues = Array.from(this.core.route(routingKey));
      for (const q of queues) this.core.checkSend(q, id, priority, ttlMs);
      const sids = await Promise.all(queues.map((q) => this.serverId(q)));
      try {
        const [, ...seqs] = (await this.call('publish', [
          this.core.bindingsVersion(), sids.length, ...sids, id ?? '', priority, delayMs, ttl(ttlMs), body,
        ])) as number[];
        return seqs.map((seq) => id ?? String(seq));
      } catch (error) {
        // Another process changed the bindings since they were loaded: route again.
        if (!(error instanceof ServerError && error.code === 'BINDINGS_CHANGED')) throw error;
        await this.#loadBindings();
      }
    }
  }

  async #loadBindings(): Promise<void> {
    const [version, ...bindings] = (await this.call('bindings', [])) as [number, ...string[]];
    const names = await this.serverQueues();
    const patterns: string[] = [];
    const queues: number[] = [];
    for (const binding of bindings) {
      const colon = binding.indexOf(':');
      const sid = binding.slice(0, colon);
      patterns.push(binding.slice(colon + 1));
      queues.push(this.localId(sid, names[sid]!));
    }
    this.core.loadBindings(version, patterns, Uint32Array.from(queues));
  }

  bind(pattern: string, queue: number): void {
    this.#changeBinding('bind', pattern, queue);
  }

  unbind(pattern: string, queue: number): void {
    this.#changeBinding('unbind', pattern, queue);
  }

  #changeBinding(fn: 'bind' | 'unbind', pattern: string, queue: number): void {
    this.core.bind(pattern, queue);
    const before = this.#bindingsChanged;
    this.#bindingsChanged = this.track(async () => {
      await before.catch(noop);
      await this.call(fn, [await this.serverId(queue), pattern]);
    });
    this.#bindingsChanged.catch((error: unknown) => this.report(error));
  }

  startRequest(queue: number, payload: unknown, timeoutMs: number): number {
    const body = encode(payload, undefined);
    const rid = this.core.request(queue, timeoutMs);
    this.track(async () => {
      const sid = await this.serverId(queue);
      // The timeout is the requester's (its core's); a server may use it to forget the request.
      await this.call('request', [sid, '', 0, 0, '', body, this.inbox, String(rid), timeoutMs]);
    }).catch((error: unknown) => {
      this.core.cancelRequest(rid);
      this.endRequest(rid)?.reject(error);
    });
    this.block();
    return rid;
  }

  // ---- receiving ---------------------------------------------------------

  takeNow(): undefined {
    // Messages are on the server: a wait (with a deadline of now for a
    // receive that does not wait) asks it.
    return undefined;
  }

  async purge(queue: number): Promise<number> {
    return (await this.track(async () => this.call('purge', [await this.serverId(queue)]))) as number;
  }

  /** The shared counts as last read; every call reads them again for the next (fetchQueueStats: as of now). */
  queueStats(queue: number): QueueStats {
    this.fetchQueueStats(queue).catch(noop);
    return this.#stats[queue] ?? NO_STATS;
  }

  /** Every queue on the server, this process knowing each from now on. */
  fetchQueueNames(): Promise<string[]> {
    return this.track(async () => {
      for (const [sid, name] of Object.entries(await this.serverQueues())) this.localId(sid, name);
      return this.queueNames();
    });
  }

  fetchQueueStats(queue: number): Promise<QueueStats> {
    return this.track(async () => {
      const reply = (await this.call('stats', [await this.serverId(queue)])) as unknown as ArrayLike<number>;
      return (this.#stats[queue] = this.statsOf(reply));
    });
  }

  /** A queue's stats from the server's answer (the Redis library's counts, ring and histogram). */
  protected statsOf(reply: ArrayLike<number>): QueueStats {
    return queueStats(RemoteCore.stats(Float64Array.from(reply)));
  }

  // ---- settling ----------------------------------------------------------

  ack(tag: number): Promise<void> {
    try {
      const at = this.core.settle(tag);
      const queue = at[0]!;
      return this.track(() => new Promise((resolve, reject) => {
        const acks = (this.#acks[queue] ??= { sending: undefined, deliveries: [], waits: [] });
        acks.deliveries.push(at[1]!, at[2]!);
        acks.waits.push({ resolve, reject });
        // Sent after the acks of this turn, which go with it.
        acks.sending ??= Promise.resolve().then(() => this.#sendAcks(queue, acks));
      }));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Group commit: one ack call per queue is out at a time; the acks made
   * meanwhile go together in the next, each answered on its own.
   */
  async #sendAcks(queue: number, acks: PendingAcks): Promise<void> {
    while (acks.waits.length > 0) {
      const deliveries = acks.deliveries.splice(0);
      const waits = acks.waits.splice(0);
      try {
        const answers = (await this.call('ack', [this.#known[queue]!, ...deliveries])) as Reply[];
        answers.forEach((answer, i) => {
          const error = this.deliveryError(answer);
          if (error === undefined) waits[i]!.resolve();
          else waits[i]!.reject(error);
        });
      } catch (error) {
        for (const wait of waits) wait.reject(error);
      }
    }
    acks.sending = undefined;
  }

  nack(tag: number, requeue: boolean, delayMs: number): Promise<void> {
    try {
      const settlement = this.core.nack(tag, requeue, delayMs);
      const wait = settlement[3]!;
      return this.#onDelivery('nack', settlement, requeue ? 1 : 0, wait === wire.NONE ? '' : wait);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  reply(tag: number, payload: unknown): Promise<void> {
    try {
      const body = encode(payload, undefined);
      return this.#onDelivery('reply', this.core.reply(tag), body);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  extendLease(tag: number, ms: number): void {
    this.#quietly(this.#onDelivery('extend', this.core.extendLease(tag, ms), ms));
  }

  settleQuietly(action: Settle, tag: number): void {
    if (this.closed) return;
    try {
      if (action === Settle.Ack) this.#quietly(this.ack(tag));
      else if (action === Settle.Nack) this.#quietly(this.nack(tag, true, wire.NONE));
      else this.#quietly(this.#onDelivery('release', this.core.settle(tag)));
    } catch (error) {
      if (!(error instanceof FerryError && error.code === 'STALE_DELIVERY')) throw error;
    }
  }

  /** Calls `fn` on the server for the delivery `[queue, seq, tag]` names, with `extra` arguments. */
  #onDelivery(fn: string, at: ArrayLike<number>, ...extra: Arg[]): Promise<void> {
    return this.track(async () => {
      await this.call(fn, [this.#known[at[0]!]!, at[1]!, at[2]!, ...extra]);
    });
  }

  /** A settle nobody awaits: a stale delivery was settled by someone else, anything else is reported. */
  #quietly(settled: Promise<void>): void {
    settled.catch((error: unknown) => {
      if (!(error instanceof FerryError && error.code === 'STALE_DELIVERY')) this.report(error);
    });
  }

  // ---- the core's commands -----------------------------------------------

  protected afterFlush(): void {
    const n = this.core.drainCommands();
    if (n > 0) {
      const m = f64();
      const base = this.core.commandsPtr() / 8;
      // Copied: running one may grow memory and move the outbox.
      const records = m.slice(base, base + n);
      for (let i = 0; i < n; i += wire.COMMAND_STRIDE) this.#run(records, i);
    }
    this.block();
  }

  #run(r: Float64Array, i: number): void {
    const kind = r[i] as wire.RemoteCommand;
    const [queue, seq, tag, extra] = [r[i + 1]!, r[i + 2]!, r[i + 3]!, r[i + 4]!];
    switch (kind) {
      case wire.CLAIM:
        this.#claim(queue, extra);
        break;
      case wire.RELEASE:
        this.#quietly(this.#onDelivery('release', [queue, seq, tag]));
        break;
      case wire.FAIL:
        this.#quietly(this.#onDelivery('fail', [queue, seq, tag]));
        break;
      case wire.NACK:
        this.#quietly(this.#onDelivery('nack', [queue, seq, tag], 1, extra));
        break;
      default:
        kind satisfies never;
    }
  }

  #claim(queue: number, max: number): void {
    this.track(async () => {
      const sid = await this.serverId(queue);
      const reply = (await this.call('claim', [sid, max], true)) as Reply[];
      if (this.closed) return;
      const lease = Number(text(reply[1]!));
      const flat = reply.slice(3);
      const nums = new Float64Array((flat.length / 7) * wire.CLAIMED_STRIDE);
      const ids: string[] = [];
      for (let i = 0, o = 0; i < flat.length; i += 7, o += wire.CLAIMED_STRIDE) {
        const id = text(flat[i + 2]!);
        const [payload, headers] = decode(flat[i + 6] as Uint8Array);
        nums.set(
          [Number(text(flat[i]!)), Number(text(flat[i + 1]!)), id === '' ? Number(text(flat[i]!)) : wire.NONE,
            Number(flat[i + 3]), Number(flat[i + 4]), this.payloads.take(payload, headers), Number(flat[i + 5])],
          o,
        );
        if (id !== '') ids.push(id);
      }
      this.core.claimed(queue, lease, nums, ids);
      // A claim that found too little leaves the queue to wait on: the flush blocks on it.
      this.pump();
    }).catch((error: unknown) => {
      if (this.closed) return;
      // It claims again once the connection is back, or when woken.
      this.core.claimFailed(queue);
      this.pump();
      this.report(error);
    });
  }

  // ---- plumbing ----------------------------------------------------------

  /**
   * After a wait on the server, what it woke: a wake-up on its way to this
   * process is not something `idle` can see, so every queue still waiting
   * asks once more.
   */
  override async idle(): Promise<void> {
    await super.idle();
    if (this.closed) return;
    for (const q of Array.from(this.core.starved())) this.core.woken(q);
    await super.idle();
  }

  /** Runs `work`, which `idle` waits for. */
  protected track<T>(work: () => Promise<T>): Promise<T> {
    const p = work();
    this.#pending.add(p);
    this.#pendingSettled = undefined;
    const done = (): void => {
      this.#pending.delete(p);
      this.#pendingSettled = undefined;
    };
    p.then(done, done);
    return p;
  }

  protected ioSettled(): Promise<void> | undefined {
    if (this.#pending.size === 0) return undefined;
    return (this.#pendingSettled ??= Promise.allSettled([...this.#pending]).then(noop));
  }

  /** An error no caller awaits: to 'error' listeners, else the console. */
  protected report(error: unknown): void {
    if (this.closed) return;
    const failure = asStorageError(error, `the server failed: ${String(error)}`);
    if (this.listeners.wants('error')) this.listeners.emit('error', { error: failure, queue: undefined, id: undefined });
    else console.error('ferrymq: the broker met an error where its messages are kept (it keeps going):', failure);
  }

  protected holdsOpen(): boolean {
    return false;
  }

  protected released(): void {
    void this.disconnect();
  }

  protected abandon(): void {}

  /** Calls in flight finish first; then the connections close. */
  async shutdown(): Promise<void> {
    if (this.stopped !== undefined) return;
    // close() writes every ack made before it, gathered ones included.
    await Promise.all(this.#acks.map((acks) => acks?.sending));
    this.closeNow(closedError());
    await this.ioSettled();
    await this.disconnect();
    this.core.free();
  }
}

/** A queue's acks: its ack calls while one is out (they end when none is left), and those gathered for the next (seq, tag pairs) with their callers. */
interface PendingAcks {
  sending: Promise<void> | undefined;
  readonly deliveries: number[];
  readonly waits: { resolve: () => void; reject: (error: unknown) => void }[];
}

/** Before the first answer from the server. */
const NO_STATS = queueStats(new Float64Array(13));

/** A send's ttlMs as the server takes it: '' for none. */
export const ttl = (ttlMs: number): number | string => (ttlMs === wire.NONE ? '' : ttlMs);
