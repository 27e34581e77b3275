// Broker: named queues, topic routing, request/reply, events, close; in
// memory or, opened with storage, durable. Every decision (order, leases,
// retries, dead letters, routing) is taken by the Rust core; this class and
// its queues turn calls into numbers for it, and the Runtime turns its
// effects into promises, handler calls and events.
import { BrokerCore } from '../../pkg/ferrymq.js';
import { asStorageError, FerryError, typeError } from '../errors.js';
import type {
  BrokerEvent,
  BrokerEventType,
  BrokerOptions,
  BrokerStats,
  MessageId,
  QueueOptions,
  QueueStats,
  Recovery,
  RequestOptions,
  SendOptions,
  Storage,
} from '../types.js';
import { openRemote, openStorage, type Sharing, sharedOpener, sharingFor } from '../storage.js';
import * as check from '../validate.js';
import * as wire from '../wire.js';
import { BROKER_OPTIONS, requestArguments, sendArguments, storageOption } from './options.js';
import { makeQueue, type Queue, queueIdOf } from './queue.js';
import { LocalRuntime } from './local.js';
import type { Runtime } from './runtime.js';
import { onAbort, operationAborted } from './signals.js';

/**
 * The key under which `Broker.open` hands the constructor the runtime it
 * recovered, and what recovery found. A symbol this module keeps: option
 * checks see only string keys, and no caller can forge it.
 */
const RECOVERED = Symbol('recovered runtime');

interface Recovered {
  runtime: Runtime;
  /** What a durable broker's recovery found; undefined for one on a server. */
  recovery: Recovery | undefined;
}

export class Broker {
  readonly #runtime: Runtime;
  readonly #queues = new Map<string, Queue>();
  /** Serves the followers of `share()`, once there is one. */
  #host: ReturnType<Sharing['host']> | undefined = undefined;
  /** What recovery found when a durable broker opened; undefined in memory. */
  readonly recovery: Recovery | undefined;

  /** An in-memory broker. For a durable one: `await Broker.open({ storage })`. */
  constructor(options?: { storage?: 'memory' }) {
    const o = check.options('options', options, BROKER_OPTIONS);
    const recovered = (options as { [RECOVERED]?: Recovered } | undefined)?.[RECOVERED];
    if (recovered === undefined && storageOption(o.storage) !== 'memory') {
      throw typeError('options.storage', "'memory' here (durable storage opens with await Broker.open(options))", o.storage);
    }
    this.#runtime = recovered?.runtime ?? new LocalRuntime((wake) => new BrokerCore(wire.randomSeed(), wake));
    this.recovery = recovered?.recovery;
  }

  /**
   * A durable broker: recovers its queues and messages from storage
   * ({ file: path } in Node, { indexedDb: name } in browsers and workers)
   * before it resolves. Sends, acks and nacks resolve once persisted;
   * deliveries in flight at a crash come back as redeliveries. Payloads
   * must be JSON values, Uint8Array or ArrayBuffer (else NOT_SERIALIZABLE).
   *
   * `{ indexedDb }` is shared by every broker that opens it, in any tab or
   * dedicated worker of the origin: one leads, the others follow
   * (`broker.role`, the 'role' event), and a follower takes over when the
   * leader goes. With `exclusive: true`, and for `{ file }`, a second broker
   * on the same storage is refused with STORAGE.
   */
  static async open(options: BrokerOptions & { storage: Storage }): Promise<Broker> {
    const o = check.options('options', options, BROKER_OPTIONS);
    // Opening without storage would quietly give a broker that keeps nothing.
    if (o.storage === undefined) throw typeError('options.storage', "{ file: path }, { indexedDb: name } or 'memory'", undefined);
    const storage = storageOption(o.storage);
    if (storage === 'memory') return new Broker({ storage });
    if ('redis' in storage) {
      const runtime = await openRemote(storage.redis, storage.prefix);
      return new Broker({ [RECOVERED]: { runtime, recovery: undefined } } as { storage?: 'memory' });
    }
    if ('port' in storage) {
      const runtime = await sharingFor('options.storage', storage).follower(storage.port);
      return new Broker({ [RECOVERED]: { runtime, recovery: undefined } } as { storage?: 'memory' });
    }
    const exclusive = o.exclusive === undefined ? false : check.boolean('options.exclusive', o.exclusive);
    const shared = sharedOpener();
    if ('indexedDb' in storage && !exclusive && shared !== undefined) {
      const { runtime, recovery } = await shared(storage.indexedDb);
      return new Broker({ [RECOVERED]: { runtime, recovery } } as { storage?: 'memory' });
    }
    const driver = await openStorage(storage);
    let opened;
    try {
      opened = LocalRuntime.recover(driver, false);
      await opened.start();
    } catch (error) {
      await driver.close();
      throw asStorageError(error);
    }
    return new Broker({ [RECOVERED]: { runtime: opened.runtime, recovery: opened.recovery } } as { storage?: 'memory' });
  }

  /** 'follower' when this broker's calls go to a leader in another thread (opened with `{ port }`); else 'leader'. */
  get role(): 'leader' | 'follower' {
    return this.#runtime.role;
  }

  /**
   * A port for another thread to share this broker through: pass it to the
   * thread (in Node, a worker's `workerData` and `transferList`), which
   * opens `Broker.open({ storage: { port } })`. That broker is a follower:
   * its calls are done here. One port per follower.
   */
  share(): MessagePort {
    const runtime = this.#runtime;
    runtime.assertOpen();
    if (!(runtime instanceof LocalRuntime)) {
      throw new FerryError('INVALID_ARGUMENT', 'only a broker kept in this context can be shared (this one is a follower, or on Redis)');
    }
    this.#host ??= sharingFor('share()', undefined).host(runtime);
    return this.#host.share();
  }

  /** Declares a queue, or returns the one declared under `name`; different options throw INVALID_ARGUMENT. */
  queue<T = unknown>(name: string, options?: QueueOptions): Queue<T> {
    return this.#declare('name', name, options) as Queue<T>;
  }

  /** `queue()` for argument `argument` (a queue name) of any method. */
  #declare(argument: string, name: unknown, options?: unknown): Queue {
    const runtime = this.#runtime;
    runtime.assertOpen();
    // The core checks that it is not empty and within the byte limit, naming `argument`.
    const checked = check.wellFormed(argument, name);
    const id = runtime.declare(argument, checked, options);
    let queue = this.#queues.get(checked);
    if (queue === undefined) {
      queue = makeQueue(runtime, id, checked);
      this.#queues.set(checked, queue);
    }
    return queue;
  }

  /** Sends to every queue bound to a pattern matching `routingKey`; resolves with their ids. */
  publish(routingKey: string, payload: unknown, options?: SendOptions): Promise<MessageId[]> {
    try {
      const runtime = this.#runtime;
      runtime.assertOpen();
      check.routingKey('routingKey', routingKey);
      return runtime.publish(routingKey, payload, sendArguments('options', options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Routes messages published with a key matching `pattern` to the queue: words split by '.', '*' matches exactly one word, '#' zero or more. */
  bind(pattern: string, queueName: string): void {
    check.routingKey('pattern', pattern);
    this.#runtime.bind(pattern, queueIdOf(this.#declare('queueName', queueName)));
  }

  unbind(pattern: string, queueName: string): void {
    check.routingKey('pattern', pattern);
    this.#runtime.unbind(pattern, queueIdOf(this.#declare('queueName', queueName)));
  }

  /** Sends `payload` to the queue and resolves with the payload a consumer passes to `message.reply()`. */
  request<R = unknown>(queueName: string, payload: unknown, options?: RequestOptions): Promise<R> {
    const runtime = this.#runtime;
    try {
      const queue = this.#declare('queueName', queueName);
      const [timeoutMs, signal] = requestArguments(options);
      if (signal?.aborted) throw operationAborted(signal);
      return new Promise<R>((resolve, reject) => {
        const id = runtime.startRequest(queueIdOf(queue), payload, timeoutMs);
        const request = { resolve: resolve as (payload: unknown) => void, reject, cleanup: undefined as (() => void) | undefined };
        request.cleanup = onAbort(signal, () => {
          runtime.core.cancelRequest(id);
          runtime.endRequest(id)?.reject(operationAborted(signal!));
        });
        runtime.requests.set(id, request);
        runtime.pump();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Counts and rates of every queue, by name (on Redis: of the queues this process knows, as last read; see fetchStats). */
  stats(): BrokerStats {
    const runtime = this.#runtime;
    runtime.assertOpen();
    // No prototype: a queue may be named __proto__ or toString.
    const queues: Record<string, QueueStats> = Object.create(null);
    runtime.queueNames().forEach((name, id) => {
      queues[name] = runtime.queueStats(id);
    });
    return { queues };
  }

  /** `stats()` as of now, wherever the queues are kept. */
  async fetchStats(): Promise<BrokerStats> {
    const runtime = this.#runtime;
    runtime.assertOpen();
    const names = await runtime.fetchQueueNames();
    const all = await Promise.all(names.map((_, id) => runtime.fetchQueueStats(id)));
    const queues: Record<string, QueueStats> = Object.create(null);
    names.forEach((name, id) => {
      queues[name] = all[id]!;
    });
    return { queues };
  }

  /** Subscribes to 'dead-letter', 'expired', 'redelivered', 'error' or 'role' (a shared broker's context took over or stopped leading); returns the unsubscribe function. */
  on<E extends BrokerEventType>(event: E, listener: (event: Extract<BrokerEvent, { type: E }>) => void): () => void {
    const runtime = this.#runtime;
    const off = runtime.listeners.add(event, listener);
    // Listeners decide whether the timer keeps a Node process alive.
    const recheck = (): void => {
      if (!runtime.closed) runtime.pump();
    };
    recheck();
    return () => {
      off();
      recheck();
    };
  }

  /** Ends every wait and consumer; later calls reject with code CLOSED. A durable broker writes what is pending first. */
  close(): Promise<void> {
    const runtime = this.#runtime;
    // Followers hear of it once the last writes are done.
    runtime.closing ??= runtime.shutdown().finally(() => this.#host?.close());
    return runtime.closing;
  }

  /** @internal For the package's tests: resolves once the broker has nothing in flight (see Runtime.idle). */
  [Symbol.for('ferrymq.idle')](): Promise<void> {
    return this.#runtime.idle();
  }

  /** @internal For the package's tests: see Runtime.useHostClock. */
  [Symbol.for('ferrymq.hostClock')](): void {
    this.#runtime.useHostClock();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
