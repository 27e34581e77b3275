// Broker, Queue, Message and Consumer: the JS face of the broker core. Every
// decision (order, leases, retries, dead letters, routing) is taken in Rust;
// this file turns calls into numbers for the core and the core's effects
// into Promises, handler calls and events. Handlers run from a microtask
// after the core call returned, never while Rust is borrowed, so a handler
// may send, ack, cancel or close re-entrantly.
import { BrokerCore } from '../pkg/ferrymq.js';
import { decode, encode } from './codec.js';
import { FerryError, rangeError, typeError } from './errors.js';
import { Listeners } from './listeners.js';
import { f64 } from './memory.js';
import { openStorage } from './storage.js';
import { DIED, deadCore, whenDead } from './instance.js';
import { HostTimer } from './timer.js';
import * as check from './validate.js';
import * as wire from './wire.js';

const QUEUE_OPTIONS = [
  'maxLength', 'overflow', 'ttlMs', 'leaseMs', 'maxDeliveries', 'backoff', 'deadLetter', 'dedupWindowMs', 'durable',
];
const SEND_OPTIONS = ['id', 'priority', 'delayMs', 'ttlMs', 'headers'];
const RECEIVE_OPTIONS = ['waitMs', 'signal'];
const CONSUME_OPTIONS = ['prefetch', 'autoAck', 'signal', 'rateLimit', 'timeoutMs'];
const REQUEST_OPTIONS = ['timeoutMs', 'signal'];
const EVENTS = ['dead-letter', 'expired', 'redelivered', 'error'];
const BROKER_OPTIONS = ['storage'];
const MAX_BATCH = 100_000;
const MAX_PREFETCH = 65_535;

const NO_HEADERS = Object.freeze({});
/** A subscription's rate limit (max, intervalMs, window) and timeoutMs when it has neither. */
const NO_LIMITS = Object.freeze([...check.NO_RATE_LIMIT, wire.NONE]);
const closedError = () => new FerryError('CLOSED', 'the broker is closed');
const asStorageError = (error) =>
  error instanceof FerryError ? error : new FerryError('STORAGE', 'durable storage failed', { cause: error });
const abortedError = (signal) => new FerryError('ABORTED', 'the operation was aborted', { cause: signal.reason });

/**
 * Flattens queue options to the numbers `BrokerCore.declareQueue` takes
 * after the name. `durable` defaults to whether the broker is.
 */
function queueArguments(name, options, durableBroker) {
  const o = check.options('options', options, QUEUE_OPTIONS);
  // The core refuses it too; here it is a RangeError naming the option.
  if (o.deadLetter === name) throw rangeError('options.deadLetter', 'another queue than the queue itself', name);
  const overflow = o.overflow === undefined ? 'reject' : check.oneOf('options.overflow', o.overflow, ['reject', 'drop-oldest']);
  let deadLetter = 0;
  let deadLetterName;
  if (o.deadLetter === null) deadLetter = 2;
  else if (o.deadLetter !== undefined) [deadLetter, deadLetterName] = [1, check.name('options.deadLetter', o.deadLetter)];
  return [
    o.maxLength === undefined ? wire.NONE : check.count('options.maxLength', o.maxLength, 1),
    overflow === 'drop-oldest',
    o.ttlMs === undefined ? wire.NONE : check.positive('options.ttlMs', o.ttlMs),
    o.leaseMs === undefined ? wire.NONE : check.positive('options.leaseMs', o.leaseMs),
    o.maxDeliveries === undefined ? wire.NONE : check.count('options.maxDeliveries', o.maxDeliveries, 1, 2 ** 32 - 1),
    ...check.backoff('options.backoff', o.backoff),
    deadLetter,
    deadLetterName,
    o.dedupWindowMs === undefined ? wire.NONE : check.positive('options.dedupWindowMs', o.dedupWindowMs),
    o.durable === undefined ? durableBroker : check.boolean('options.durable', o.durable) && durableBroker,
  ];
}

// A send without options allocates nothing for them.
const DEFAULT_SEND = Object.freeze([undefined, 0, 0, wire.NONE, undefined]);
const BATCH_ITEM = ['payload', ...SEND_OPTIONS];

/** Validated send options as [id, priority, delayMs, ttlMs, headers]; `allowed` the keys `options` may have. */
function sendArguments(argument, options, allowed = SEND_OPTIONS) {
  if (options === undefined) return DEFAULT_SEND;
  const o = check.options(argument, options, allowed);
  return [
    o.id === undefined ? undefined : check.name(`${argument}.id`, o.id),
    o.priority === undefined ? 0 : check.count(`${argument}.priority`, o.priority, 0, 9),
    o.delayMs === undefined ? 0 : check.duration(`${argument}.delayMs`, o.delayMs),
    o.ttlMs === undefined ? wire.NONE : check.positive(`${argument}.ttlMs`, o.ttlMs),
    o.headers === undefined ? undefined : check.headers(`${argument}.headers`, o.headers),
  ];
}

/** Validated receive options as [waitMs, signal]. */
function receiveArguments(options) {
  const o = check.options('options', options, RECEIVE_OPTIONS);
  return [
    o.waitMs === undefined ? 0 : check.duration('options.waitMs', o.waitMs),
    o.signal === undefined ? undefined : check.signal('options.signal', o.signal),
  ];
}

/** The part of a receive that waits: the core's once-subscription, settled by its first effect. */
class Waiter {
  constructor(resolve, reject, endsWithNull) {
    this.resolve = resolve;
    this.reject = reject;
    // An async iterator ends quietly when the broker closes; receive() rejects.
    this.endsWithNull = endsWithNull;
    this.cleanup = undefined;
  }

  deliver(message) {
    this.cleanup?.();
    this.resolve(message);
  }

  expired() {
    this.cleanup?.();
    this.resolve(null);
  }

  closed(error) {
    this.cleanup?.();
    if (this.endsWithNull) this.resolve(null);
    else this.reject(error);
  }
}

/** Ends a handler's run: its context's signal aborts with the reason given. */
const END = Symbol('end');
/** The message a handler context was made for. */
const MESSAGE = Symbol('message');

/** What a handler gets besides its message: the signal that tells it to stop. */
class HandlerContext {
  #controller = undefined;
  #message;

  constructor(message) {
    this.#message = message;
  }

  get [MESSAGE]() {
    return this.#message;
  }

  // Created on first use: most handlers never look at their signal.
  get signal() {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }

  [END](reason) {
    this.#controller ??= new AbortController();
    this.#controller.abort(reason);
  }
}

/** A consume() handler with its settings. */
class Handler {
  /** Delivery tag -> context of each handler call still running, to abort on timeout or cancel. */
  #running = new Map();

  constructor(runtime, queueName, handler, autoAck, timeoutMs) {
    this.runtime = runtime;
    this.queueName = queueName;
    this.handler = handler;
    this.autoAck = autoAck;
    this.timeoutMs = timeoutMs;
    this.cleanup = undefined;
  }

  deliver(message) {
    const tag = message[TAG];
    const context = new HandlerContext(message);
    this.#running.set(tag, context);
    let result;
    try {
      result = this.handler(message, context);
    } catch (error) {
      this.#failed(message, error);
      return;
    }
    if (result !== null && typeof result?.then === 'function') {
      result.then(
        () => this.#fulfilled(message),
        (error) => this.#failed(message, error),
      );
    } else {
      this.#fulfilled(message);
    }
  }

  /**
   * The core failed delivery `tag` at its timeout (a nack, done there). A
   * handler still running is told so and reported as failed; one that had
   * returned without settling it (autoAck: false) only sees it redelivered,
   * as after a lease.
   */
  timedOut(tag) {
    const context = this.#running.get(tag);
    if (context === undefined) return;
    this.#running.delete(tag);
    const id = context[MESSAGE].id;
    const error = new FerryError('TIMEOUT', `the handler ran past timeoutMs (${this.timeoutMs} ms) on message ${id}`);
    context[END](error);
    this.#report(id, error);
  }

  // A handler that ends after it was ended for it (its delivery timed out,
  // its consumer was cancelled) is accounted for already: its ack or nack
  // would be stale, and its failure was reported or asked for.

  #fulfilled(message) {
    if (this.#running.delete(message[TAG]) && this.autoAck) this.runtime.settleQuietly(ACK, message[TAG]);
  }

  // A handler that failed nacks (the queue's backoff, then dead-lettering
  // once maxDeliveries is reached) and is reported, never thrown.
  #failed(message, error) {
    if (!this.#running.delete(message[TAG])) return;
    this.#report(message.id, error);
    if (this.autoAck) this.runtime.settleQuietly(NACK, message[TAG]);
  }

  #report(id, error) {
    const listeners = this.runtime.listeners;
    if (listeners.wants('error')) listeners.emit('error', { error, queue: this.queueName, id });
    // Never silent: without a listener, say it where a developer looks.
    else console.error(`ferrymq: a handler of queue ${JSON.stringify(this.queueName)} failed on message ${id}:`, error);
  }

  /** The consumer is cancelled or its broker closed: running handlers are told why. */
  closed(reason) {
    this.cleanup?.();
    const running = [...this.#running.values()];
    this.#running.clear();
    for (const context of running) context[END](reason);
  }
}

/** Keys of a message's delivery tag and a queue's core id: reachable from this module only. */
const TAG = Symbol('delivery tag');
const QUEUE_ID = Symbol('queue id');

// What settleQuietly does with a delivery.
const ACK = 0;
const NACK = 1;
const RETURN = 2;

/** State shared by a broker and everything it hands out. */
class Runtime {
  timer = new HostTimer(() => this.#onTimer());
  listeners = new Listeners(EVENTS);
  /** core consumer id -> Waiter | Handler */
  subscribers = new Map();
  /** core request id -> { resolve, reject, cleanup } */
  requests = new Map();
  closed = false;
  #queueNames = [];
  /** JS values of the batch being dispatched, in record order. */
  #vals = [];
  #flushScheduled = false;
  #flush = () => this.#flushNow();
  /** Durable only: commits run one after another on this chain. */
  #io = Promise.resolve();
  /** Durable only: calls waiting for the next commit to be persisted. */
  #commitWaiters = [];
  /** Durable only: the storage error that stopped the broker; later commits must not run. */
  #failure = undefined;
  /** Why the broker stopped by itself (its instance died), for every later call. */
  #stopped = undefined;
  /** What the core calls when a call left work: schedules one flush. */
  #wake = () => this.pump();

  /**
   * `makeCore(wake)` builds the core around the function that wakes this
   * runtime; `storage`: the driver of a durable broker, undefined in memory.
   */
  constructor(makeCore, storage) {
    this.core = makeCore(this.#wake);
    this.storage = storage;
    whenDead(this);
  }

  /** The wasm instance trapped: stop, saying so, and release the storage lock. */
  [DIED](error) {
    if (this.closed) return;
    this.#stopped = error;
    this.core = deadCore(error);
    this.listeners.emit('error', { error, queue: undefined, id: undefined });
    this.#closeNow(error);
    this.storage?.close().catch(() => {});
  }

  /**
   * On a durable broker: resolves once everything done so far is in the
   * log (rejects with STORAGE if writing it fails). Undefined in memory.
   */
  persisted() {
    if (this.storage === undefined) return undefined;
    this.pump();
    return new Promise((resolve, reject) => this.#commitWaiters.push({ resolve, reject }));
  }

  /** The bytes the log stores for a message; undefined in memory. */
  encode(payload, headers) {
    return this.storage === undefined ? undefined : encode(payload, headers);
  }

  assertOpen() {
    if (this.closed) throw this.#stopped ?? closedError();
  }

  /** Runs a core call on an open broker. The core wakes the flush that hands its effects on. */
  run(call) {
    this.assertOpen();
    return call();
  }

  /**
   * Durable brokers hand a delivery out only once its lease is written:
   * resolves with those of `messages` (taken by `take`) still deliverable
   * then; one that expired meanwhile was dead-lettered instead.
   */
  handOut(messages) {
    // In memory there is nothing to wait for: no promise per receive.
    if (this.storage === undefined || messages.length === 0) return messages;
    return this.persisted().then(() => (this.closed ? messages : messages.filter((m) => this.core.handOut(m[TAG]))));
  }

  /**
   * Someone now waits for the broker (a consumer, a receive, a request):
   * the flush re-arms the timer so that it holds a Node process open.
   */
  keepAlive() {
    this.pump();
  }

  /** For settles nobody awaits (autoAck, aborted waits): ACK, NACK or RETURN the delivery. */
  settleQuietly(action, tag) {
    if (this.closed) return;
    try {
      if (action === ACK) this.core.ack(tag);
      else if (action === NACK) this.core.nack(tag, true, wire.NONE);
      else this.core.release(tag);
    } catch (error) {
      // Settled already, or its lease ran out: the message is redelivered or
      // gone, as the core decided. Anything else is not for swallowing.
      if (!(error instanceof FerryError)) throw error;
    }
  }

  /**
   * After any core call: effects are handled in one flush per microtask
   * checkpoint, so a burst of calls shares one drain, and handlers never run
   * inside the caller's call.
   */
  pump() {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  /** A queue's name by core id; names never change, so each is fetched once. */
  queueName(id) {
    return (this.#queueNames[id] ??= this.core.queueName(id));
  }

  /** Builds the Message for the DELIVER record at index `i` of `m`; its values start at `v`. */
  message(m, i, vals, v) {
    const autoId = m[i + 2];
    const flags = m[i + 5];
    let payload = vals[v];
    let headers = vals[v + 1];
    // Bit 1: recovered from the log, so the payload slot holds its bytes.
    if (flags & 2) [payload, headers] = decode(payload);
    return new Message(
      this,
      m[i + 3],
      autoId === wire.NONE ? vals[v + 2] : String(autoId),
      payload,
      headers ?? NO_HEADERS,
      m[i + 4],
      (flags & 1) === 1,
      m[i + 6],
    );
  }

  /** Takes up to `max` ready messages from queue `id` now. */
  take(id, max) {
    this.assertOpen();
    const vals = [];
    const n = this.core.get(id, max, vals);
    const messages = [];
    if (n === 0) return messages;
    const m = f64();
    const base = this.core.pulledPtr() / 8;
    for (let i = 0, v = 0; i < n; i += wire.STRIDE) {
      messages.push(this.message(m, base + i, vals, v));
      v += deliveryValues(m, base + i);
    }
    return messages;
  }

  /**
   * Ends everything: waits, consumers and requests end with CLOSED. A
   * durable broker first commits what is pending and waits for its log.
   */
  async shutdown() {
    // Stopped by its instance's death: nothing is left to write or free.
    if (this.#stopped !== undefined) return;
    if (this.storage !== undefined) {
      // Everything accepted so far goes into one last commit.
      this.#commit();
      this.#closeNow(closedError());
      await this.#io;
      await this.storage.close();
    } else {
      this.#closeNow(closedError());
    }
    this.core.free();
  }

  /** Fail-stop: memory is ahead of the log, so the broker stops; reopen it from storage. */
  fail(error) {
    if (this.closed) return;
    const failure = asStorageError(error);
    this.#failure = failure;
    this.listeners.emit('error', { error: failure, queue: undefined, id: undefined });
    this.#closeNow(failure);
    this.storage.close().catch(() => {});
  }

  #closeNow(reason) {
    this.closed = true;
    this.timer.cancel();
    // Waits end with CLOSED, or with why the broker stopped by itself.
    const ended = this.#stopped ?? closedError();
    for (const subscriber of this.subscribers.values()) subscriber.closed(ended);
    this.subscribers.clear();
    for (const request of this.requests.values()) {
      request.cleanup?.();
      request.reject(ended);
    }
    this.requests.clear();
    for (const waiter of this.#commitWaiters) waiter.reject(reason);
    this.#commitWaiters = [];
  }

  #onTimer() {
    if (this.closed) return;
    this.core.advance();
    this.pump();
  }

  #flushNow() {
    this.#flushScheduled = false;
    if (this.closed) return;
    const core = this.core;
    const vals = this.#vals;
    // In memory: every effect. Durable: those whose records are written.
    while (!this.closed) {
      const n = core.drain(vals);
      if (n === 0) break;
      this.#dispatch(f64, core.outPtr() / 8, n, vals);
      vals.length = 0;
    }
    // A handler may have closed the broker, which frees the core.
    if (this.closed) return;
    if (this.storage !== undefined) this.#commit();
    this.#armTimer();
  }

  /**
   * Durable: seals everything recorded since the last commit (group commit:
   * one append and sync for all of it), writes it behind earlier commits,
   * then resolves the calls waiting for it and tells the core, which
   * releases the effects that waited for those records (and wakes a flush).
   */
  #commit() {
    const steps = [];
    const waiters = this.#commitWaiters;
    this.#commitWaiters = [];
    let epoch;
    let refused;
    try {
      epoch = this.core.commit(steps);
    } catch (error) {
      refused = error;
    }
    this.#io = this.#io
      .then(() => {
        // After a failure the log is behind memory: nothing more may be written.
        if (this.#failure !== undefined) throw this.#failure;
        if (refused !== undefined) throw refused;
        return steps.length > 0 ? this.storage.run(steps) : undefined;
      })
      .then(() => {
        for (const waiter of waiters) waiter.resolve();
        if (!this.closed) this.core.committed(epoch);
      })
      .catch((error) => {
        const failure = asStorageError(error);
        for (const waiter of waiters) waiter.reject(failure);
        this.fail(failure);
      });
  }

  #armTimer() {
    // Keep a Node process alive only while someone waits for the broker: a
    // consumer, a receive, a request or an event listener.
    const keepAlive = this.subscribers.size > 0 || this.requests.size > 0 || this.listeners.any;
    this.timer.arm(this.core.nextDeadline(), keepAlive);
  }

  /** Acts on the `n` numbers of records from index `base` of `read()`. */
  #dispatch(read, base, n, vals) {
    let v = 0;
    for (let i = base; i < base + n && !this.closed; i += wire.STRIDE) {
      // Read afresh each time: a handler run for the previous record may have grown memory.
      const m = read();
      switch (m[i]) {
        case wire.DELIVER: {
          const message = this.message(m, i, vals, v);
          v += deliveryValues(m, i);
          this.#deliver(m[i + 1], message);
          break;
        }
        case wire.WAIT_EXPIRED: {
          const waiter = this.subscribers.get(m[i + 1]);
          this.subscribers.delete(m[i + 1]);
          waiter?.expired();
          break;
        }
        case wire.DEAD_LETTERED:
        case wire.EXPIRED:
        case wire.REDELIVERED: {
          // A caller-given id is the record's one value; a generated one is its number.
          const id = m[i + 2] === wire.NONE ? vals[v++] : String(m[i + 2]);
          this.#emit(m, i, id);
          break;
        }
        case wire.REPLY:
          this.#settleRequest(m[i + 1])?.resolve(vals[v++]);
          break;
        case wire.REQUEST_TIMED_OUT:
          this.#settleRequest(m[i + 1])?.reject(new FerryError('TIMEOUT', 'no reply before the request timed out'));
          break;
        case wire.HANDLER_TIMED_OUT:
          this.subscribers.get(m[i + 1])?.timedOut(m[i + 2]);
          break;
      }
    }
  }

  #emit(m, i, id) {
    const queue = this.queueName(m[i + 1]);
    if (m[i] === wire.EXPIRED) {
      this.listeners.emit('expired', { queue, id });
    } else if (m[i] === wire.REDELIVERED) {
      this.listeners.emit('redelivered', { queue, id, deliveryCount: m[i + 3] });
    } else {
      const target = m[i + 3];
      const deadLetterQueue = target === wire.NONE ? null : this.queueName(target);
      this.listeners.emit('dead-letter', { queue, id, reason: wire.DEAD_LETTER_REASONS[m[i + 4]], deadLetterQueue });
    }
  }

  #deliver(consumerId, message) {
    const subscriber = this.subscribers.get(consumerId);
    if (subscriber === undefined) {
      // Aborted between the core's decision and now: hand the message back
      // at once instead of letting it wait out its lease.
      this.settleQuietly(RETURN, message[TAG]);
      return;
    }
    if (subscriber instanceof Waiter) this.subscribers.delete(consumerId);
    subscriber.deliver(message);
  }

  #settleRequest(id) {
    const request = this.requests.get(id);
    this.requests.delete(id);
    request?.cleanup?.();
    return request;
  }
}

/** How many JS values the DELIVER record at `i` carries: payload, headers and a caller-given id. */
const deliveryValues = (m, i) => (m[i + 2] === wire.NONE ? 3 : 2);

/** Calls `onAbort` when `signal` aborts; returns the function that stops listening. */
function onAbort(signal, onAbortFn) {
  if (signal === undefined) return undefined;
  signal.addEventListener('abort', onAbortFn, { once: true });
  return () => signal.removeEventListener('abort', onAbortFn);
}

/** The runtime `Broker.open` hands to the constructor it calls (set only during that call). */
let adopted;

/** A validated `storage` option: 'memory', { file: path } or { indexedDb: name }. */
function storageOption(value) {
  if (value === undefined || value === 'memory') return 'memory';
  const kinds = ['file', 'indexedDb'];
  const o = check.options('options.storage', value, kinds);
  const keys = Object.keys(o);
  if (keys.length !== 1) throw typeError('options.storage', "'memory', { file: path } or { indexedDb: name }", value);
  check.string(`options.storage.${keys[0]}`, o[keys[0]]);
  return o;
}

export class Broker {
  #runtime;
  #queues = new Map();
  /** What recovery found when a durable broker opened; undefined in memory. */
  recovery = undefined;

  /** An in-memory broker. For a durable one: `await Broker.open({ storage })`. */
  constructor(options) {
    const o = check.options('options', options, BROKER_OPTIONS);
    if (adopted === undefined && storageOption(o.storage) !== 'memory') {
      throw typeError('options.storage', "'memory' here (durable storage opens with await Broker.open(options))", o.storage);
    }
    this.#runtime = adopted ?? new Runtime((wake) => new BrokerCore(wire.randomSeed(), wake));
  }

  /**
   * Opens a durable broker: recovers its queues and messages from storage
   * ({ file: path } in Node, { indexedDb: name } in browsers and workers)
   * before it resolves. Deliveries that were in flight come back as
   * redeliveries.
   */
  static async open(options) {
    const o = check.options('options', options, BROKER_OPTIONS);
    // Opening without storage would quietly give a broker that keeps nothing.
    if (o.storage === undefined) throw typeError('options.storage', "{ file: path }, { indexedDb: name } or 'memory'", undefined);
    const storage = storageOption(o.storage);
    if (storage === 'memory') return new Broker({ storage });
    const driver = await openStorage(storage);
    let runtime;
    const report = [];
    try {
      const steps = [];
      runtime = new Runtime((wake) => BrokerCore.openDurable(wire.randomSeed(), driver.bytes, steps, report, wake), driver);
      await driver.run(steps);
    } catch (error) {
      runtime?.core.free();
      await driver.close();
      throw asStorageError(error);
    }
    adopted = runtime;
    try {
      const broker = new Broker(o);
      const [records, tornTail, corruptAt, damage] = report;
      broker.recovery = {
        records,
        tornTail: tornTail === wire.NONE ? undefined : tornTail,
        corrupt: corruptAt === wire.NONE ? undefined : { offset: corruptAt, damage },
      };
      // What opening wrote is in the log: the redeliveries of what was in
      // flight may go out, and the timer is armed for what is due.
      runtime.core.committed(runtime.core.lastSealed);
      runtime.pump();
      return broker;
    } finally {
      adopted = undefined;
    }
  }

  /** Declares a queue, or returns the one declared under `name`; different options throw. */
  queue(name, options) {
    return this.#declare('name', name, options);
  }

  /** `queue()` for argument `argument` (a queue name) of any method. */
  #declare(argument, name, options) {
    this.#runtime.assertOpen();
    check.name(argument, name);
    const core = this.#runtime.core;
    // Without options: the existing queue, or a new one declared with the
    // defaults, so a later declaration with other options is refused. The
    // core checks that a re-declaration agrees with the first one.
    const existing = options === undefined ? core.queueId(name) : wire.NONE;
    const durable = this.#runtime.storage !== undefined;
    const id = existing !== wire.NONE ? existing : core.declareQueue(name, ...queueArguments(name, options, durable));
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new Queue(this.#runtime, id, name);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /** Sends to every queue bound to a pattern matching `routingKey`; resolves with their ids. */
  async publish(routingKey, payload, options) {
    const runtime = this.#runtime;
    runtime.assertOpen();
    check.routingKey('routingKey', routingKey);
    const [id, priority, delayMs, ttlMs, headers] = sendArguments('options', options);
    const bytes = runtime.encode(payload, headers);
    const ids = runtime.run(() => runtime.core.publish(routingKey, payload, headers, id, priority, delayMs, ttlMs, bytes));
    await runtime.persisted();
    return Array.from(ids, (n) => (n === wire.NONE ? id : String(n)));
  }

  /** Routes messages published with a key matching `pattern` ('*' one word, '#' any) to the queue. */
  bind(pattern, queueName) {
    check.routingKey('pattern', pattern);
    this.#runtime.core.bind(pattern, this.#declare('queueName', queueName)[QUEUE_ID]);
  }

  unbind(pattern, queueName) {
    check.routingKey('pattern', pattern);
    this.#runtime.core.unbind(pattern, this.#declare('queueName', queueName)[QUEUE_ID]);
  }

  /** Sends `payload` to the queue and resolves with the payload a consumer passes to `message.reply()`. */
  request(queueName, payload, options) {
    const runtime = this.#runtime;
    try {
      const queue = this.#declare('queueName', queueName);
      const o = check.options('options', options, REQUEST_OPTIONS);
      const timeoutMs = o.timeoutMs === undefined ? wire.NONE : check.positive('options.timeoutMs', o.timeoutMs);
      const signal = o.signal === undefined ? undefined : check.signal('options.signal', o.signal);
      if (signal?.aborted) throw abortedError(signal);
      const bytes = runtime.encode(payload, undefined);
      return new Promise((resolve, reject) => {
        const id = runtime.core.request(queue[QUEUE_ID], payload, timeoutMs, bytes);
        const request = { resolve, reject, cleanup: undefined };
        request.cleanup = onAbort(signal, () => {
          runtime.requests.delete(id);
          runtime.core.cancelRequest(id);
          reject(abortedError(signal));
        });
        runtime.requests.set(id, request);
        runtime.keepAlive();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Counts and rates of every queue, by name. */
  stats() {
    this.#runtime.assertOpen();
    // No prototype: a queue may be named __proto__ or toString.
    const queues = Object.create(null);
    this.#runtime.core.queueNames().forEach((name, id) => {
      queues[name] = queueStats(this.#runtime.core.stats(id));
    });
    return { queues };
  }

  /** Subscribes to 'dead-letter', 'expired', 'redelivered' or 'error'; returns the unsubscribe function. */
  on(event, listener) {
    const runtime = this.#runtime;
    const off = runtime.listeners.add(event, listener);
    // Listeners decide whether the timer keeps a Node process alive.
    const recheck = () => runtime.closed || runtime.pump();
    recheck();
    return () => {
      off();
      recheck();
    };
  }

  /** Ends every wait and consumer; later calls reject with code CLOSED. A durable broker writes what is pending first. */
  close() {
    const runtime = this.#runtime;
    runtime.closing ??= runtime.shutdown();
    return runtime.closing;
  }

  [Symbol.asyncDispose]() {
    return this.close();
  }
}

function queueStats(s) {
  return {
    ready: s[0],
    inFlight: s[1],
    delayed: s[2],
    deadLettered: s[3],
    sent: s[4],
    acked: s[5],
    nacked: s[6],
    expired: s[7],
    redelivered: s[8],
    throughputPerSec: s[9],
    latencyMs: { p50: s[10], p95: s[11], p99: s[12] },
  };
}

export class Queue {
  #runtime;

  constructor(runtime, id, name) {
    this.#runtime = runtime;
    this[QUEUE_ID] = id;
    /** @readonly */
    this.name = name;
  }

  /** Resolves with the message id once the message is accepted. */
  async send(payload, options) {
    const runtime = this.#runtime;
    runtime.assertOpen();
    const [id, priority, delayMs, ttlMs, headers] = sendArguments('options', options);
    const bytes = runtime.encode(payload, headers);
    const n = runtime.core.send(this[QUEUE_ID], payload, headers, id, priority, delayMs, ttlMs, bytes);
    await runtime.persisted();
    return n === wire.NONE ? id : String(n);
  }

  /** Sends every item or none; resolves with their ids in order. */
  async sendBatch(items) {
    const runtime = this.#runtime;
    runtime.assertOpen();
    if (!Array.isArray(items)) throw typeError('items', 'an array', items);
    if (items.length > MAX_BATCH) throw rangeError('items', `at most ${MAX_BATCH} messages`, items.length);
    const payloads = new Array(items.length);
    const headers = new Array(items.length);
    const ids = new Array(items.length);
    const encoded = new Array(items.length);
    const numbers = new Float64Array(items.length * 3);
    items.forEach((item, i) => {
      if (item === null || typeof item !== 'object' || !('payload' in item)) {
        throw typeError(`items[${i}]`, 'an object with a payload', item);
      }
      const [id, priority, delayMs, ttlMs, h] = sendArguments(`items[${i}]`, item, BATCH_ITEM);
      payloads[i] = item.payload;
      headers[i] = h;
      ids[i] = id;
      encoded[i] = runtime.encode(item.payload, h);
      numbers[i * 3] = priority;
      numbers[i * 3 + 1] = delayMs;
      numbers[i * 3 + 2] = ttlMs;
    });
    const sent = runtime.run(() => runtime.core.sendBatch(this[QUEUE_ID], payloads, headers, ids, numbers, encoded));
    await runtime.persisted();
    return Array.from(sent, (n, i) => (n === wire.NONE ? ids[i] : String(n)));
  }

  /** Resolves with the next ready message, or null once `waitMs` (default 0) passes without one. */
  async receive(options) {
    const [message] = await this.#take(1, ...receiveArguments(options), false);
    return message ?? null;
  }

  /** Up to `max` ready messages; waits up to `waitMs` (default 0) for the first. */
  async receiveBatch(max, options) {
    check.count('max', max, 1, MAX_BATCH);
    return this.#take(max, ...receiveArguments(options), false);
  }

  /** Takes up to `max` messages; waits (up to `waitMs`, or for ever when Infinity) for the first. */
  async #take(max, waitMs, signal, endsWithNull) {
    const runtime = this.#runtime;
    runtime.assertOpen();
    if (signal?.aborted) throw abortedError(signal);
    const now = runtime.take(this[QUEUE_ID], max);
    if (now.length > 0 || waitMs === 0) return runtime.handOut(now);
    const first = await new Promise((resolve, reject) => {
      const deadline = waitMs === Infinity ? wire.NONE : Date.now() + waitMs;
      const consumer = runtime.core.subscribe(this[QUEUE_ID], 1, true, deadline, ...NO_LIMITS);
      const waiter = new Waiter(resolve, reject, endsWithNull);
      waiter.cleanup = onAbort(signal, () => {
        runtime.subscribers.delete(consumer);
        runtime.core.cancel(consumer);
        reject(abortedError(signal));
      });
      runtime.subscribers.set(consumer, waiter);
      runtime.keepAlive();
    });
    if (first === null) return [];
    if (max === 1 || runtime.closed) return [first];
    const more = await runtime.handOut(runtime.take(this[QUEUE_ID], max - 1));
    return [first, ...more];
  }

  /**
   * Calls `handler(message, { signal })` for each message; with autoAck
   * (default) a fulfilled handler acks, a failed one nacks. At most
   * `rateLimit.max` deliveries per `rateLimit.intervalMs`; a handler past
   * `timeoutMs` fails (nack) and its signal aborts.
   */
  consume(handler, options) {
    const runtime = this.#runtime;
    runtime.assertOpen();
    check.fn('handler', handler);
    const o = check.options('options', options, CONSUME_OPTIONS);
    const prefetch = o.prefetch === undefined ? 1 : check.count('options.prefetch', o.prefetch, 1, MAX_PREFETCH);
    const autoAck = o.autoAck === undefined ? true : check.boolean('options.autoAck', o.autoAck);
    const signal = o.signal === undefined ? undefined : check.signal('options.signal', o.signal);
    const rate = check.rateLimit('options.rateLimit', o.rateLimit);
    // At least 1 ms, as the core counts whole ones: zero would fail every handler.
    const timeoutMs = o.timeoutMs === undefined ? wire.NONE : check.positive('options.timeoutMs', o.timeoutMs);
    const id = runtime.core.subscribe(this[QUEUE_ID], prefetch, false, wire.NONE, ...rate, timeoutMs);
    const entry = new Handler(runtime, this.name, handler, autoAck, timeoutMs);
    const consumer = new Consumer(runtime, id);
    runtime.subscribers.set(id, entry);
    runtime.keepAlive();
    const cancelBySignal = () => stopConsumer(runtime, id, abortedError(signal));
    entry.cleanup = onAbort(signal, cancelBySignal);
    if (signal?.aborted) cancelBySignal();
    return consumer;
  }

  /** Yields messages as they arrive, until the loop ends or the broker closes; ack or nack each one. */
  async *[Symbol.asyncIterator]() {
    while (!this.#runtime.closed) {
      const [message] = await this.#take(1, Infinity, undefined, true);
      if (message === undefined) return;
      let resumed = false;
      try {
        yield message;
        resumed = true;
      } finally {
        // The loop ended on this message (break, throw, return): unless its
        // body settled it, it goes back at once, not after its lease.
        if (!resumed) this.#runtime.settleQuietly(RETURN, message[TAG]);
      }
    }
  }

  /** Removes every ready and delayed message (not those in flight); resolves with how many. */
  async purge() {
    const runtime = this.#runtime;
    const purged = runtime.run(() => runtime.core.purge(this[QUEUE_ID]));
    await runtime.persisted();
    return purged;
  }

  stats() {
    this.#runtime.assertOpen();
    return queueStats(this.#runtime.core.stats(this[QUEUE_ID]));
  }
}

export class Consumer {
  #runtime;
  #id;

  constructor(runtime, id) {
    this.#runtime = runtime;
    this.#id = id;
  }

  get active() {
    return !this.#runtime.closed && this.#runtime.subscribers.has(this.#id);
  }

  /**
   * Stops deliveries; messages this consumer has not acked go back to the
   * queue at once, and the signals of handlers still running abort.
   */
  async cancel() {
    stopConsumer(this.#runtime, this.#id, new FerryError('ABORTED', 'the consumer was cancelled'));
  }
}

/** Cancels consumer `id`, aborting its running handlers with `reason`; nothing if it is gone. */
function stopConsumer(runtime, id, reason) {
  const entry = runtime.subscribers.get(id);
  if (runtime.closed || entry === undefined) return;
  runtime.subscribers.delete(id);
  runtime.core.cancel(id);
  // After the core call: an abort listener may close the broker.
  entry.closed(reason);
}

export class Message {
  #runtime;

  constructor(runtime, tag, id, payload, headers, deliveryCount, redelivered, enqueuedAt) {
    this.#runtime = runtime;
    this[TAG] = tag;
    this.id = id;
    this.payload = payload;
    this.headers = headers;
    this.deliveryCount = deliveryCount;
    this.redelivered = redelivered;
    this.enqueuedAt = enqueuedAt;
  }

  /** Settles the delivery; the message is never delivered again. */
  async ack() {
    const runtime = this.#runtime;
    runtime.assertOpen();
    runtime.core.ack(this[TAG]);
    await runtime.persisted();
  }

  /** Returns the message for redelivery (after `delayMs`, or the queue's backoff), or dead-letters it with `requeue: false`. */
  async nack(options) {
    const o = check.options('options', options, ['requeue', 'delayMs']);
    const requeue = o.requeue === undefined ? true : check.boolean('options.requeue', o.requeue);
    const delayMs = o.delayMs === undefined ? wire.NONE : check.duration('options.delayMs', o.delayMs);
    this.#runtime.run(() => this.#runtime.core.nack(this[TAG], requeue, delayMs));
    await this.#runtime.persisted();
  }

  /** Answers the request this message carries, and acks it. */
  async reply(payload) {
    this.#runtime.run(() => this.#runtime.core.reply(this[TAG], payload));
    await this.#runtime.persisted();
  }

  /** Keeps the delivery for `ms` more milliseconds from now. */
  extendLease(ms) {
    check.duration('ms', ms);
    this.#runtime.run(() => this.#runtime.core.extendLease(this[TAG], ms));
  }
}
