// A broker kept on a Redis server, shared by every process that opens the
// same server and prefix. Each change of its state is one call of the
// function library (library.lua), atomic on the server and timed by its
// clock; the core (RemoteCore) decides what is local: which consumer gets
// each delivery, how much to claim, waits and timeouts, backoff. This file
// runs the calls and hands their answers back.
//
// Connections: one for commands; one that blocks (BLPOP) on the wake lists
// of the queues this process waits on and on its own inbox (replies to its
// requests); one subscribed to the channel that says a deadline moved
// earlier, so one local timer ticks the queue whose deadline comes first,
// whichever process made it; one reading events while anyone listens.
import { randomUUID } from 'node:crypto';
import { RemoteCore } from '../../pkg/ferrymq.js';
import { decode, encode } from '../codec.js';
import { FerryError } from '../errors.js';
import { f64 } from '../memory.js';
import { noop } from '../promises.js';
import type { BrokerEventType, MessageId, QueueStats } from '../types.js';
import * as wire from '../wire.js';
import { queueArguments, type SendArguments } from '../broker/options.js';
import { queueStats } from '../broker/queue.js';
import { closedError, type BatchItem, Runtime } from '../broker/runtime.js';
import { Settle } from '../broker/settle.js';
import { asFerryError, call, connect, duplicate, evictionPolicy, LibraryError, libraryError, type RedisClient, type Reply } from './client.js';

/** Seconds a blocked wait lasts before this process looks again by itself: a safety net for a lost wake-up. */
const BLOCK_SECONDS = 5;

const EVENT_TYPES = ['dead-letter', 'expired', 'redelivered'] as const satisfies readonly BrokerEventType[];

/** The empty element this process pushes to its own inbox to end its blocked wait early. */
const INTERRUPT = '';

const bytes = (value: Buffer | string): Buffer => (typeof value === 'string' ? Buffer.from(value) : value);
const text = (value: Reply): string => (Buffer.isBuffer(value) ? value.toString() : String(value));

export class RedisRuntime extends Runtime<RemoteCore> {
  readonly #redis: RedisClient;
  #blocker: RedisClient | undefined;
  #subscriber: RedisClient | undefined;
  #reader: RedisClient | undefined;
  /** '{prefix}:meta': the key every call names; P = '{prefix}'. */
  readonly #meta: string;
  readonly #P: string;
  readonly #inbox: string;
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
  /** The queues the blocked wait is on now (server wake keys). */
  #blockingOn = new Set<string>();
  #blocking = false;
  #dueTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #readingEvents = false;
  /** The id of the last event read, and calls waiting for the reader to pass an id. */
  #eventsRead = '0-0';
  readonly #eventWaits: { id: string; resolve: () => void }[] = [];
  /** Tests only: the server's clock is this process's (see useHostClock). */
  #hostClock = false;

  private constructor(redis: RedisClient, prefix: string) {
    super((wake) => new RemoteCore(wire.randomSeed(), wake));
    this.#redis = redis;
    this.#P = `{${prefix}}`;
    this.#meta = `${this.#P}:meta`;
    this.#inbox = `${this.#P}:inbox:${randomUUID()}`;
  }

  /** Connects, checks the server and the broker's layout; warns if the server may evict keys. */
  static async open(url: string, prefix: string): Promise<RedisRuntime> {
    const redis = await connect(url);
    try {
      // Loads the library first if the server lacks it (see call).
      await call(redis, `{${prefix}}:meta`, 'open', []);
      const policy = await evictionPolicy(redis);
      if (policy !== undefined && policy !== 'noeviction') {
        process.emitWarning(
          `Redis at ${url} has maxmemory-policy ${policy}: when memory runs short it may drop a broker's messages and leases. Set it to noeviction.`,
          { code: 'FERRYMQ_REDIS_EVICTION' },
        );
      }
    } catch (error) {
      redis.disconnect();
      throw asFerryError(error);
    }
    const runtime = new RedisRuntime(redis, prefix);
    runtime.#watchDeadlines();
    // Back after a lost connection: what failed meanwhile is asked again.
    redis.on('ready', () => {
      if (runtime.closed) return;
      runtime.core.reconnected();
      runtime.pump();
      runtime.#armDue();
    });
    return runtime;
  }

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
    const id = text(await this.#call('declare', [name, ...declaration]));
    this.#known[q] = id;
    this.#byServerId.set(id, q);
    // Declared without options: the queue's options are whoever declared it first's.
    if (declaration[0] === '0') {
      const canon = (await this.#redis.hget(`${this.#P}:q:${id}:cfg`, 'canon')) ?? '';
      // An implicit dead-letter queue: no further dead-lettering.
      const options: unknown = canon === '' ? { deadLetter: null } : JSON.parse(canon);
      if (!this.closed) this.core.declareQueue(name, queueArguments(options, true), 'name');
    }
    return id;
  }

  /** The server id of queue `q`, once declared there. */
  #serverId(q: number): Promise<string> {
    return this.#serverIds[q]!;
  }

  /** The local id of the queue with server id `id`, declaring it here if this process has not. */
  #localId(id: string, name: string): number {
    const q = this.#byServerId.get(id);
    if (q !== undefined) return q;
    const local = this.core.declareQueue(name, undefined, 'name');
    this.#known[local] = id;
    this.#byServerId.set(id, local);
    this.#serverIds[local] = Promise.resolve(id);
    return local;
  }

  // ---- sending -----------------------------------------------------------

  send(queue: number, payload: unknown, [id, priority, delayMs, ttlMs, headers]: SendArguments): Promise<MessageId> {
    try {
      this.core.checkSend(queue, id, priority, ttlMs);
      const body = encode(payload, headers);
      return this.#track(async () => {
        const sid = await this.#serverId(queue);
        const [seq] = (await this.#call('send', [sid, id ?? '', priority, delayMs, ttl(ttlMs), Buffer.from(body)])) as number[];
        return id ?? String(seq);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async sendBatch(queue: number, items: BatchItem[]): Promise<MessageId[]> {
    const args: (string | number | Buffer)[] = [];
    for (const { payload, send } of items) {
      const [id, priority, delayMs, ttlMs, headers] = send;
      this.core.checkSend(queue, id, priority, ttlMs);
      args.push(id ?? '', priority, delayMs, ttl(ttlMs), Buffer.from(encode(payload, headers)));
    }
    this.assertOpen();
    return this.#track(async () => {
      const sid = await this.#serverId(queue);
      const [, ...seqs] = (await this.#call('send_batch', [sid, ...args])) as number[];
      return seqs.map((seq, i) => items[i]!.send[0] ?? String(seq));
    });
  }

  publish(routingKey: string, payload: unknown, [id, priority, delayMs, ttlMs, headers]: SendArguments): Promise<MessageId[]> {
    try {
      this.core.route(routingKey);
      const body = Buffer.from(encode(payload, headers));
      return this.#track(async () => {
        await this.#bindingsChanged.catch(noop);
        for (;;) {
          if (this.core.bindingsVersion() === wire.NONE) await this.#loadBindings();
          const queues = Array.from(this.core.route(routingKey));
          for (const q of queues) this.core.checkSend(q, id, priority, ttlMs);
          const sids = await Promise.all(queues.map((q) => this.#serverId(q)));
          try {
            const [, ...seqs] = (await this.#call('publish', [
              this.core.bindingsVersion(), sids.length, ...sids, id ?? '', priority, delayMs, ttl(ttlMs), body,
            ])) as number[];
            return seqs.map((seq) => id ?? String(seq));
          } catch (error) {
            // Another process changed the bindings since they were loaded: route again.
            if (!(error instanceof LibraryError && error.code === 'BINDINGS_CHANGED')) throw error;
            await this.#loadBindings();
          }
        }
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #loadBindings(): Promise<void> {
    const [version, ...bindings] = (await this.#call('bindings', [])) as [number, ...string[]];
    const names = (await this.#redis.hgetall(`${this.#P}:qnames`)) as Record<string, string>;
    const patterns: string[] = [];
    const queues: number[] = [];
    for (const binding of bindings) {
      const colon = binding.indexOf(':');
      const sid = binding.slice(0, colon);
      patterns.push(binding.slice(colon + 1));
      queues.push(this.#localId(sid, names[sid]!));
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
    this.#bindingsChanged = this.#track(async () => {
      await before.catch(noop);
      await this.#call(fn, [await this.#serverId(queue), pattern]);
    });
    this.#bindingsChanged.catch((error: unknown) => this.#report(error));
  }

  startRequest(queue: number, payload: unknown, timeoutMs: number): number {
    const body = Buffer.from(encode(payload, undefined));
    const rid = this.core.request(queue, timeoutMs);
    this.#track(async () => {
      const sid = await this.#serverId(queue);
      await this.#call('request', [sid, '', 0, 0, '', body, this.#inbox, String(rid)]);
    }).catch((error: unknown) => {
      this.core.cancelRequest(rid);
      this.endRequest(rid)?.reject(asFerryError(error));
    });
    this.#block();
    return rid;
  }

  // ---- receiving ---------------------------------------------------------

  takeNow(): undefined {
    // Messages are on the server: a wait (with a deadline of now for a
    // receive that does not wait) asks it.
    return undefined;
  }

  async purge(queue: number): Promise<number> {
    return (await this.#track(async () => this.#call('purge', [await this.#serverId(queue)]))) as number;
  }

  /** The shared counts as last read; every call reads them again for the next (fetchQueueStats: as of now). */
  queueStats(queue: number): QueueStats {
    this.#refreshStats(queue);
    return this.#stats[queue] ?? NO_STATS;
  }

  /** Every queue on the server, this process knowing each from now on. */
  fetchQueueNames(): Promise<string[]> {
    return this.#track(async () => {
      const names = (await this.#redis.hgetall(`${this.#P}:qnames`)) as Record<string, string>;
      for (const [sid, name] of Object.entries(names)) this.#localId(sid, name);
      return this.queueNames();
    });
  }

  fetchQueueStats(queue: number): Promise<QueueStats> {
    return this.#track(async () => {
      const reply = (await this.#call('stats', [await this.#serverId(queue)])) as number[];
      return (this.#stats[queue] = queueStats(RemoteCore.stats(Float64Array.from(reply))));
    });
  }

  #refreshStats(queue: number): void {
    this.fetchQueueStats(queue).catch(noop);
  }

  // ---- settling ----------------------------------------------------------

  ack(tag: number): Promise<void> {
    try {
      const at = this.core.settle(tag);
      const queue = at[0]!;
      return this.#track(() => new Promise((resolve, reject) => {
        const acks = (this.#acks[queue] ??= { out: false, deliveries: [], waits: [] });
        acks.deliveries.push(at[1]!, at[2]!);
        acks.waits.push({ resolve, reject });
        if (!acks.out) {
          acks.out = true;
          // Sent after the acks of this turn, which go with it.
          queueMicrotask(() => void this.#sendAcks(queue, acks));
        }
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
        const answers = (await this.#call('ack', [this.#known[queue]!, ...deliveries])) as Reply[];
        answers.forEach((answer, i) => {
          if (answer instanceof Error) waits[i]!.reject(asFerryError(libraryError(answer)));
          else waits[i]!.resolve();
        });
      } catch (error) {
        for (const wait of waits) wait.reject(error);
      }
    }
    acks.out = false;
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
      const body = Buffer.from(encode(payload, undefined));
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
  #onDelivery(fn: string, at: ArrayLike<number>, ...extra: (string | number | Buffer)[]): Promise<void> {
    return this.#track(async () => {
      await this.#call(fn, [this.#known[at[0]!]!, at[1]!, at[2]!, ...extra]);
    });
  }

  /** A settle nobody awaits: a stale delivery was settled by someone else, anything else is reported. */
  #quietly(settled: Promise<void>): void {
    settled.catch((error: unknown) => {
      if (!(error instanceof FerryError && error.code === 'STALE_DELIVERY')) this.#report(error);
    });
  }

  // ---- the core's commands, and waiting on the server --------------------

  protected afterFlush(): void {
    const n = this.core.drainCommands();
    if (n > 0) {
      const m = f64();
      const base = this.core.commandsPtr() / 8;
      // Copied: running one may grow memory and move the outbox.
      const records = m.slice(base, base + n);
      for (let i = 0; i < n; i += wire.COMMAND_STRIDE) this.#run(records, i);
    }
    this.#block();
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
    this.#track(async () => {
      const sid = await this.#serverId(queue);
      const reply = (await this.#call('claim', [sid, max], true)) as Reply[];
      if (this.closed) return;
      const lease = Number(text(reply[1]!));
      const flat = reply.slice(3);
      const nums = new Float64Array((flat.length / 7) * wire.CLAIMED_STRIDE);
      const ids: string[] = [];
      for (let i = 0, o = 0; i < flat.length; i += 7, o += wire.CLAIMED_STRIDE) {
        const id = text(flat[i + 2]!);
        const [payload, headers] = decode(bytes(flat[i + 6] as Buffer));
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
      // It claims again once the connection is back (see open), or when woken.
      this.core.claimFailed(queue);
      this.pump();
      this.#report(error);
    });
  }

  /** Keeps one blocked wait running while the core waits on the server or a request waits for its reply. */
  #block(): void {
    if (this.closed) return;
    const keys = (Array.from(this.core.starved()) as number[]).map((q) => `${this.#P}:q:${this.#known[q]}:wake`);
    const wanted = keys.length > 0 || this.requests.size > 0;
    if (!wanted) return;
    if (this.#blocking) {
      // The wait is on other lists: end it early, to wait on these.
      if (keys.some((k) => !this.#blockingOn.has(k))) this.#redis.rpush(this.#inbox, INTERRUPT).catch(noop);
      return;
    }
    this.#blocking = true;
    this.#blockingOn = new Set(keys);
    this.#blocker ??= duplicate(this.#redis);
    this.#blocker
      .blpop(...keys, this.#inbox, BLOCK_SECONDS)
      .then((popped) => this.#woken(popped), (error: unknown) => this.#blockFailed(error))
      .finally(() => {
        this.#blocking = false;
        this.#block();
      });
  }

  async #woken(popped: [string, string] | null): Promise<void> {
    if (this.closed) return;
    if (popped === null) {
      // Nothing for a while: look by itself, in case a wake-up was lost.
      for (const q of Array.from(this.core.starved())) this.core.woken(q);
      return;
    }
    const [key, value] = popped;
    if (key === this.#inbox) {
      if (value !== INTERRUPT) await this.#replied(Number(value));
      return;
    }
    const sid = key.slice(`${this.#P}:q:`.length, -':wake'.length);
    const q = this.#byServerId.get(sid);
    // Not wanted here after all: the signal is for another process.
    if (q === undefined || !this.core.woken(q)) await this.#redis.rpush(key, '1');
  }

  async #replied(rid: number): Promise<void> {
    const body = await this.#redis.lpopBuffer(this.#inbox);
    if (body === null || !this.core.replied(rid)) return;
    this.endRequest(rid)?.resolve(decode(bytes(body))[0]);
  }

  #blockFailed(error: unknown): void {
    if (this.closed) return;
    // The connection dropped: once it is back, every queue claims again.
    this.#report(error);
    this.core.reconnected();
  }

  /** One local timer at the earliest deadline on the server (any queue's, any process's). */
  #watchDeadlines(): void {
    this.#subscriber = duplicate(this.#redis);
    this.#subscriber.on('message', () => this.#armDue());
    // Re-subscribed by the client after a reconnect; look again then too.
    this.#subscriber.on('ready', () => this.#armDue());
    this.#subscriber.subscribe(`${this.#P}:deadline`).catch((error: unknown) => this.#report(error));
  }

  #armDue(): void {
    if (this.closed) return;
    this.#track(async () => {
      const [, inMs, qid] = (await this.#call('due', [])) as [number, number, string];
      if (this.#dueTimer !== undefined) clearTimeout(this.#dueTimer);
      this.#dueTimer = undefined;
      if (inMs < 0 || this.closed) return;
      this.#dueTimer = setTimeout(() => {
        this.#dueTimer = undefined;
        this.#track(async () => {
          await this.#call('tick', [qid]);
          this.#armDue();
        }).catch((error: unknown) => this.#report(error));
      }, inMs);
      // The timer keeps nobody's process open by itself.
      this.#dueTimer.unref?.();
    }).catch((error: unknown) => {
      // Asked again when the connection is back ('ready').
      this.#report(error);
    });
  }

  /** Reads the events stream while anyone listens. */
  override pump(): void {
    super.pump();
    if (!this.#readingEvents && EVENT_TYPES.some((type) => this.listeners.wants(type)) && !this.closed) this.#readEvents();
  }

  #readEvents(): void {
    this.#readingEvents = true;
    this.#reader ??= duplicate(this.#redis);
    const reader = this.#reader;
    const stream = `${this.#P}:events`;
    // Where the stream ends now, asked on the command connection: every
    // call this process makes after it comes later, so none of their events
    // is missed, and none from before is reported.
    const start = this.#redis.xrevrange(stream, '+', '-', 'COUNT', 1).then((last) => last[0]?.[0] ?? '0-0');
    let started = false;
    const next = (): void => {
      if (this.closed || !EVENT_TYPES.some((type) => this.listeners.wants(type))) {
        this.#readingEvents = false;
        for (const wait of this.#eventWaits.splice(0)) wait.resolve();
        return;
      }
      (started ? Promise.resolve(this.#eventsRead) : start)
        .then((from) => {
          started = true;
          this.#eventsRead = from;
          this.#eventsPassed();
          return reader.xread('BLOCK', BLOCK_SECONDS * 1000, 'STREAMS', stream, from);
        })
        .then((streams) => {
          for (const [, entries] of streams ?? []) {
            for (const [id, fields] of entries) {
              this.#eventsRead = id;
              this.#emitEvent(fields);
            }
          }
          this.#eventsPassed();
        }, (error: unknown) => this.#report(error))
        .finally(next);
    };
    next();
  }

  /** Resolves the waits for events the reader has read past. */
  #eventsPassed(): void {
    for (let i = this.#eventWaits.length - 1; i >= 0; i--) {
      const wait = this.#eventWaits[i]!;
      if (streamIdAtMost(wait.id, this.#eventsRead)) {
        this.#eventWaits.splice(i, 1);
        wait.resolve();
      }
    }
  }

  /**
   * While anyone listens: resolves once the events the calls so far made
   * are emitted, so a call's events come before its promise resolves, as
   * in memory. The stream's end is asked on the command connection, after
   * those calls.
   */
  async #eventsEmitted(): Promise<void> {
    if (!this.#readingEvents) return;
    const [last] = await this.#redis.xrevrange(`${this.#P}:events`, '+', '-', 'COUNT', 1);
    if (last === undefined || streamIdAtMost(last[0], this.#eventsRead) || !this.#readingEvents) return;
    await new Promise<void>((resolve) => this.#eventWaits.push({ id: last[0], resolve }));
  }

  #emitEvent(fields: string[]): void {
    const e: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) e[fields[i]!] = fields[i + 1]!;
    const { type, queue, id } = e as { type: string; queue: string; id: string };
    if (type === 'expired') this.listeners.emit('expired', { queue, id });
    else if (type === 'redelivered') this.listeners.emit('redelivered', { queue, id, deliveryCount: Number(e.deliveryCount) });
    else if (type === 'dead-letter') {
      this.listeners.emit('dead-letter', { queue, id, reason: e.reason, deadLetterQueue: e.deadLetterQueue === '' ? null : e.deadLetterQueue });
    }
  }

  // ---- plumbing ----------------------------------------------------------

  override useHostClock(): void {
    this.#hostClock = true;
  }

  /**
   * After a wait on the server, what it woke: a wake-up on its way to the
   * blocked connection is not something `idle` can see, so every queue
   * still waiting asks once more.
   */
  override async idle(): Promise<void> {
    await super.idle();
    if (this.closed) return;
    for (const q of Array.from(this.core.starved())) this.core.woken(q);
    await super.idle();
  }

  async #call(fn: string, args: (string | number | Buffer)[], binary = false): Promise<Reply> {
    // Sent first on the same connection, so the function runs at this time.
    if (this.#hostClock) this.#redis.set(`${this.#P}:clock`, String(Date.now())).catch(noop);
    const reply = call(this.#redis, this.#meta, fn, args, binary);
    // Asked right behind the call, on the same connection.
    const emitted = this.#eventsEmitted();
    try {
      return await reply;
    } catch (error) {
      throw error instanceof LibraryError && error.code === 'BINDINGS_CHANGED' ? error : asFerryError(error);
    } finally {
      await emitted.catch(noop);
    }
  }

  /** Runs `work`, which `idle` waits for. */
  #track<T>(work: () => Promise<T>): Promise<T> {
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
  #report(error: unknown): void {
    if (this.closed) return;
    const failure = asFerryError(error);
    if (this.listeners.wants('error')) this.listeners.emit('error', { error: failure, queue: undefined, id: undefined });
    else console.error('ferrymq: the Redis broker met an error (it keeps going):', failure);
  }

  protected holdsOpen(): boolean {
    return false;
  }

  protected released(): void {
    this.#disconnect();
  }

  protected abandon(): void {
    if (this.#dueTimer !== undefined) clearTimeout(this.#dueTimer);
  }

  /** Calls in flight finish first; then the connections close. */
  async shutdown(): Promise<void> {
    if (this.stopped !== undefined) return;
    this.closeNow(closedError());
    await this.ioSettled();
    this.#disconnect();
    this.core.free();
  }

  #disconnect(): void {
    for (const client of [this.#redis, this.#blocker, this.#subscriber, this.#reader]) client?.disconnect();
  }
}

/** Whether stream id `a` is at or before `b` ('<ms>-<seq>'). */
function streamIdAtMost(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am < bm || (am === bm && as <= bs);
}

/** A queue's acks: whether its ack call is out, and those gathered for the next (seq, tag pairs) with their callers. */
interface PendingAcks {
  out: boolean;
  readonly deliveries: number[];
  readonly waits: { resolve: () => void; reject: (error: unknown) => void }[];
}

/** Before the first answer from the server. */
const NO_STATS = queueStats(new Float64Array(13));

/** A send's ttlMs as the library takes it: '' for none. */
const ttl = (ttlMs: number): number | string => (ttlMs === wire.NONE ? '' : ttlMs);

