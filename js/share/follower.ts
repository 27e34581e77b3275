// A follower: a broker whose messages are kept by a leader elsewhere,
// reached over a MessagePort (another thread: the leader's `broker.share()`)
// or a page's link to whichever context leads (tabs.ts). Every call goes to
// the leader, which answers it from its own broker (host.ts); consumers,
// prefetch, waits and timeouts run here, in RemoteCore, as for a broker
// kept on Redis.
import { FerryError } from '../errors.js';
import type { MessageId, QueueStats } from '../types.js';
import type { SendArguments } from '../broker/options.js';
import type { LocalRuntime } from '../broker/local.js';
import { queueStats } from '../broker/queue.js';
import * as wire from '../wire.js';
import { type Arg, EVENT_TYPES, RemoteRuntime, type Reply, ttl } from '../remote/runtime.js';
import { PROTOCOL, type ToFollower, type ToLeader, type WireError } from './protocol.js';


/** How long opening waits for the leader's first answer: a port nobody serves must not hang the caller. */
const HELLO_MS = 10_000;

/** The way to the leader: a MessagePort, or a page's link (tabs.ts), which survives hand-overs and says what this context is. */
export interface LeaderPort {
  postMessage(message: ToLeader): void;
  addEventListener(type: 'message', listener: (e: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: () => void): void;
  start(): void;
  /** A link resolves once this context let go of what it kept as leader. */
  close(): void | Promise<void>;
  /** A link: the role this context has now. */
  readonly role?: 'leader' | 'follower';
  /** A link: while this context leads, the broker it keeps (synchronous reads come from it). */
  readonly leader?: LocalRuntime | undefined;
  /** A link calls it when this context's role changed, or when its leader part met an error the application should hear of. */
  onChange?: (change: { role: 'leader' | 'follower' } | { error: unknown }) => void;
}

export class PortRuntime extends RemoteRuntime {
  readonly #port: LeaderPort;
  readonly #calls = new Map<number, { resolve: (value: Reply) => void; reject: (error: unknown) => void }>();
  /** Whether the port holds this thread open now (Node): changed only when that should change. */
  #holding = false;
  #nextCall = 0;
  /** The queues the leader was last told this follower waits on, as sent. */
  #watching = '';
  #listening = false;
  protected readonly inbox = '';

  private constructor(port: LeaderPort) {
    super();
    this.#port = port;
    port.onChange = (change) => {
      if ('role' in change) this.listeners.emit('role', change);
      else this.report(change.error);
    };
    port.addEventListener('message', (e) => this.#received(e.data as ToFollower));
    // Node: the leader closed, or its thread ended.
    port.addEventListener('close', () => this.#leaderGone());
    port.start();
  }

  override get role(): 'leader' | 'follower' {
    return this.#port.role ?? 'follower';
  }

  /** A follower of the leader at the other end of `port`, once it answered (STORAGE if none does within HELLO_MS). */
  static async open(port: LeaderPort): Promise<PortRuntime> {
    const runtime = new PortRuntime(port);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FerryError('STORAGE', `no leader answered on this port within ${HELLO_MS} ms`)), HELLO_MS);
    });
    try {
      await Promise.race([runtime.call('hello', []), silent]);
    } catch (error) {
      // Stopped (which closes the port) before its close event: that is then nobody's news.
      runtime.stopWith(error instanceof FerryError ? error : new FerryError('STORAGE', String(error)));
      runtime.core.free();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return runtime;
  }

  protected call(fn: string, args: Arg[]): Promise<Reply> {
    if (this.closed && fn !== 'hello') return Promise.reject(this.stopped ?? new FerryError('CLOSED', 'the broker is closed'));
    return new Promise((resolve, reject) => {
      const id = this.#nextCall++;
      this.#calls.set(id, { resolve, reject });
      this.#send({ v: PROTOCOL, call: id, fn, args });
      this.#holdOpen();
    });
  }

  /** The leader answers a delivery it could not settle with the error it met. */
  protected deliveryError(answer: Reply): Error | undefined {
    return answer === 1 ? undefined : errorFrom(answer as unknown as WireError);
  }

  protected async serverOptions(sid: string): Promise<string> {
    return (await this.call('options', [sid])) as string;
  }

  protected async serverQueues(): Promise<Record<string, string>> {
    return (await this.call('queues', [])) as unknown as Record<string, string>;
  }

  /** The leader routes: its bindings are the only ones. */
  protected override async publishRouted(routingKey: string, body: Uint8Array, [id, priority, delayMs, ttlMs]: SendArguments): Promise<MessageId[]> {
    return (await this.call('publish_key', [routingKey, id ?? '', priority, delayMs, ttl(ttlMs), body])) as unknown as MessageId[];
  }

  /** The leader's stats are a broker's own. */
  protected override statsOf(reply: ArrayLike<number>): QueueStats {
    return queueStats(reply as Float64Array);
  }

  /** Leading, a queue's stats as of now, as a broker kept here has them; else the last ones read. */
  override queueStats(queue: number): QueueStats {
    let stats: QueueStats | undefined;
    this.#onLeader((leader, q) => (stats = leader.queueStats(q)), queue);
    return stats ?? super.queueStats(queue);
  }

  /** Leading, the broker kept here declares it at once: a declaration that does not agree throws, as on a broker of one's own. */
  override declare(argument: string, name: string, options: unknown): number {
    this.#port.leader?.declare(argument, name, options);
    return super.declare(argument, name, options);
  }

  /** Leading, the broker kept here binds at once, so a close right after keeps it. */
  override bind(pattern: string, queue: number): void {
    this.#onLeader((leader, q) => leader.bind(pattern, q), queue);
    super.bind(pattern, queue);
  }

  override unbind(pattern: string, queue: number): void {
    this.#onLeader((leader, q) => leader.unbind(pattern, q), queue);
    super.unbind(pattern, queue);
  }

  /** Runs `change` on the broker kept here, if this context leads, with its id of `queue`. */
  #onLeader(change: (leader: LocalRuntime, queue: number) => void, queue: number): void {
    const leader = this.#port.leader;
    const q = leader?.core.queueId(this.queueName(queue)) ?? wire.NONE;
    if (q !== wire.NONE) change(leader!, q);
  }

  /** Leading, every queue the broker kept here has; else those this context knows. */
  override queueNames(): string[] {
    this.#port.leader?.queueNames().forEach((name, sid) => this.localId(String(sid), name));
    return super.queueNames();
  }

  protected block(): void {
    if (this.closed) return;
    this.#holdOpen();
    const watching = this.starvedOn().join(',');
    if (watching === this.#watching) return;
    this.#watching = watching;
    this.#send({ v: PROTOCOL, watch: watching === '' ? [] : watching.split(',') });
  }

  override pump(): void {
    super.pump();
    const listening = EVENT_TYPES.some((type) => this.listeners.wants(type)) && !this.closed;
    if (listening === this.#listening) return;
    this.#listening = listening;
    this.#send({ v: PROTOCOL, events: listening });
  }

  /**
   * Node: the port keeps this thread alive while a call waits for its
   * answer or someone waits for the broker (a consumer, a receive, a
   * request, an event listener), as a socket would; not otherwise.
   */
  #holdOpen(): void {
    const wanted = this.#calls.size > 0 || this.subscribers.size > 0 || this.requests.size > 0 || this.listeners.any;
    if (wanted === this.#holding) return;
    this.#holding = wanted;
    const port = this.#port as { ref?(): void; unref?(): void };
    if (wanted) port.ref?.();
    else port.unref?.();
  }

  #send(message: ToLeader): void {
    this.#port.postMessage(message);
  }

  #received(message: ToFollower): void {
    if (message?.v !== PROTOCOL) {
      // Another build of ferrymq leads: the call it answered says so.
      const answer = (message as { answer?: unknown } | undefined)?.answer;
      const call = typeof answer === 'number' ? this.#calls.get(answer) : undefined;
      if (call === undefined) return;
      this.#calls.delete(answer as number);
      call.reject(new FerryError('STORAGE', `the leader speaks another protocol than this follower's ${PROTOCOL}: use one ferrymq build`));
      return;
    }
    if ('answer' in message) {
      const call = this.#calls.get(message.answer);
      this.#calls.delete(message.answer);
      this.#holdOpen();
      if (call === undefined) return;
      if (message.error !== undefined) call.reject(errorFrom(message.error));
      else call.resolve(message.value as Reply);
    } else if ('wake' in message) {
      // Already told: a watch is one wake-up.
      this.#watching = '';
      this.woken(message.wake);
    } else if ('reply' in message) {
      if ('body' in message) this.replied(message.reply, message.body);
      else if (this.core.replied(message.reply)) this.endRequest(message.reply)?.reject(errorFrom(message.error));
    } else if ('closed' in message) this.#leaderClosed(message.closed);
    else if ('event' in message) {
      const { type, ...event } = message.event;
      this.listeners.emit(type as (typeof EVENT_TYPES)[number], event);
    }
  }

  /** The leader's broker closed (null) or stopped by itself (why): so does this one. */
  #leaderClosed(why: WireError | null): void {
    if (why === null) this.#stop(new FerryError('CLOSED', 'the leader closed the shared broker'), false);
    else this.#stop(errorFrom(why) as FerryError, true);
  }

  /** The port closed with no word from the leader: its thread ended. */
  #leaderGone(): void {
    this.#stop(new FerryError('STORAGE', 'the leader of this shared broker went away'), true);
  }

  /** Stops for `reason`: calls waiting for the leader end with it, and so does everything later. */
  #stop(reason: FerryError, unexpected: boolean): void {
    for (const call of this.#calls.values()) call.reject(reason);
    this.#calls.clear();
    if (this.closed) return;
    if (unexpected) this.report(reason);
    this.stopWith(reason);
  }

  protected disconnect(): Promise<void> | void {
    return this.#port.close();
  }
}

/** The error the leader met, as the caller would have met it there. */
function errorFrom({ name, code, message }: WireError): Error {
  if (name === 'FerryError') return new FerryError(code as FerryError['code'], message);
  const error = name === 'RangeError' ? new RangeError(message) : name === 'TypeError' ? new TypeError(message) : new Error(message);
  if (code !== undefined) Object.assign(error, { code });
  return error;
}
