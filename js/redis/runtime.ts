// A broker kept on a Redis server, shared by every process that opens the
// same server and prefix: RemoteRuntime's calls are calls of the function
// library (library.lua), atomic on the server and timed by its clock.
//
// Connections: one for commands; one that blocks (BLPOP) on the wake lists
// of the queues this process waits on and on its own inbox (replies to its
// requests); one subscribed to the channel that says a deadline moved
// earlier, so one local timer ticks the queue whose deadline comes first,
// whichever process made it; one reading events while anyone listens.
import { randomUUID } from 'node:crypto';
import { noop } from '../promises.js';
import { type Arg, EVENT_TYPES, RemoteRuntime, type Reply, ServerError } from '../remote/runtime.js';
import { asFerryError, call, connect, duplicate, evictionPolicy, libraryError, type RedisClient } from './client.js';

/** Seconds a blocked wait lasts before this process looks again by itself: a safety net for a lost wake-up. */
const BLOCK_SECONDS = 5;


/** The empty element this process pushes to its own inbox to end its blocked wait early. */
const INTERRUPT = '';

export class RedisRuntime extends RemoteRuntime {
  readonly #redis: RedisClient;
  #blocker: RedisClient | undefined;
  #subscriber: RedisClient | undefined;
  #reader: RedisClient | undefined;
  /** '{prefix}:meta': the key every call names; P = '{prefix}'. */
  readonly #meta: string;
  readonly #P: string;
  protected readonly inbox: string;
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
    super();
    this.#redis = redis;
    this.#P = `{${prefix}}`;
    this.#meta = `${this.#P}:meta`;
    this.inbox = `${this.#P}:inbox:${randomUUID()}`;
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

  /** The library answers a delivery it could not settle with an error reply (STALE_DELIVERY). */
  protected deliveryError(answer: Reply): Error | undefined {
    return answer instanceof Error ? asFerryError(libraryError(answer)) : undefined;
  }

  protected async serverOptions(sid: string): Promise<string> {
    return (await this.#redis.hget(`${this.#P}:q:${sid}:cfg`, 'canon')) ?? '';
  }

  protected async serverQueues(): Promise<Record<string, string>> {
    return (await this.#redis.hgetall(`${this.#P}:qnames`)) as Record<string, string>;
  }

  /** Keeps one blocked wait running while the core waits on the server or a request waits for its reply. */
  protected block(): void {
    if (this.closed) return;
    const keys = this.starvedOn().map((sid) => `${this.#P}:q:${sid}:wake`);
    const wanted = keys.length > 0 || this.requests.size > 0;
    if (!wanted) return;
    if (this.#blocking) {
      // The wait is on other lists: end it early, to wait on these.
      if (keys.some((k) => !this.#blockingOn.has(k))) this.#redis.rpush(this.inbox, INTERRUPT).catch(noop);
      return;
    }
    this.#blocking = true;
    this.#blockingOn = new Set(keys);
    this.#blocker ??= duplicate(this.#redis);
    this.#blocker
      .blpop(...keys, this.inbox, BLOCK_SECONDS)
      .then((popped) => this.#woken(popped), (error: unknown) => this.#blockFailed(error))
      .finally(() => {
        this.#blocking = false;
        this.block();
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
    if (key === this.inbox) {
      if (value !== INTERRUPT) await this.#reply(Number(value));
      return;
    }
    const sid = key.slice(`${this.#P}:q:`.length, -':wake'.length);
    // Not wanted here after all: the signal is for another process.
    if (!this.woken(sid)) await this.#redis.rpush(key, '1');
  }

  async #reply(rid: number): Promise<void> {
    const body = await this.#redis.lpopBuffer(this.inbox);
    if (body !== null) this.replied(rid, body);
  }

  #blockFailed(error: unknown): void {
    if (this.closed) return;
    // The connection dropped: once it is back, every queue claims again.
    this.report(error);
    this.core.reconnected();
  }

  /** One local timer at the earliest deadline on the server (any queue's, any process's). */
  #watchDeadlines(): void {
    this.#subscriber = duplicate(this.#redis);
    this.#subscriber.on('message', () => this.#armDue());
    // Re-subscribed by the client after a reconnect; look again then too.
    this.#subscriber.on('ready', () => this.#armDue());
    this.#subscriber.subscribe(`${this.#P}:deadline`).catch((error: unknown) => this.report(error));
  }

  #armDue(): void {
    if (this.closed) return;
    this.track(async () => {
      const [, inMs, qid] = (await this.call('due', [])) as [number, number, string];
      if (this.#dueTimer !== undefined) clearTimeout(this.#dueTimer);
      this.#dueTimer = undefined;
      if (inMs < 0 || this.closed) return;
      this.#dueTimer = setTimeout(() => {
        this.#dueTimer = undefined;
        this.track(async () => {
          await this.call('tick', [qid]);
          this.#armDue();
        }).catch((error: unknown) => this.report(error));
      }, inMs);
      // The timer keeps nobody's process open by itself.
      this.#dueTimer.unref?.();
    }).catch((error: unknown) => {
      // Asked again when the connection is back ('ready').
      this.report(error);
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
        }, (error: unknown) => this.report(error))
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

  protected async call(fn: string, args: Arg[], binary = false): Promise<Reply> {
    // Sent first on the same connection, so the function runs at this time.
    if (this.#hostClock) this.#redis.set(`${this.#P}:clock`, String(Date.now())).catch(noop);
    const reply = call(this.#redis, this.#meta, fn, args, binary);
    // Asked right behind the call, on the same connection.
    const emitted = this.#eventsEmitted();
    try {
      return await reply;
    } catch (error) {
      throw error instanceof ServerError && error.code === 'BINDINGS_CHANGED' ? error : asFerryError(error);
    } finally {
      await emitted.catch(noop);
    }
  }

  protected override abandon(): void {
    if (this.#dueTimer !== undefined) clearTimeout(this.#dueTimer);
  }

  protected disconnect(): void {
    for (const client of [this.#redis, this.#blocker, this.#subscriber, this.#reader]) client?.disconnect();
  }
}

/** Whether stream id `a` is at or before `b` ('<ms>-<seq>'). */
function streamIdAtMost(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am < bm || (am === bm && as <= bs);
}
