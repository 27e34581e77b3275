// Broker, Queue and Message: the JS face of the broker core. Every decision
// (order, leases, retries, dead letters) is taken in Rust; this file turns
// calls into numbers for the core and the core's effects into Promises and
// handler calls. Handlers run from a microtask after the core call returned,
// never while Rust is borrowed, so a handler may call back into the broker.
import { BrokerCore } from '../pkg/ferrymq.js';
import { FerryError } from './errors.js';
import { HostTimer } from './timer.js';
import * as check from './validate.js';
import * as wire from './wire.js';

const QUEUE_OPTIONS = ['leaseMs'];
const SEND_OPTIONS = ['id', 'priority', 'delayMs', 'ttlMs', 'headers'];
const RECEIVE_OPTIONS = ['waitMs', 'signal'];
const CONSUME_OPTIONS = ['prefetch', 'autoAck', 'signal'];

const closedError = () => new FerryError('CLOSED', 'the broker is closed');

function sendArguments(options) {
  const o = check.options('options', options, SEND_OPTIONS);
  return [
    o.id === undefined ? undefined : check.string('options.id', o.id),
    o.priority === undefined ? 0 : check.count('options.priority', o.priority, 0, 9),
    o.delayMs === undefined ? 0 : check.duration('options.delayMs', o.delayMs),
    o.ttlMs === undefined ? wire.NONE : check.duration('options.ttlMs', o.ttlMs),
    o.headers === undefined ? undefined : headers(o.headers),
  ];
}

function headers(value) {
  const h = check.options('options.headers', value, Object.keys(value ?? {}));
  for (const [key, v] of Object.entries(h)) {
    if (typeof v !== 'string') throw check.string(`options.headers.${key}`, v);
  }
  return h;
}

/** State shared by a broker and everything it hands out. */
class Runtime {
  core = new BrokerCore(wire.randomSeed());
  timer = new HostTimer(() => this.#onTimer());
  /** consumer id -> {handler, autoAck} for consume(), or {resolve} for a waiting receive() */
  subscribers = new Map();
  #outbox = [];
  #flushScheduled = false;
  closed = false;

  assertOpen() {
    if (this.closed) throw closedError();
  }

  /** Moves the core's pending effects to the outbox and re-arms the timer. */
  pump() {
    const vals = [];
    const nums = this.core.drain(vals);
    if (nums.length > 0) {
      this.#outbox.push(nums, vals);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => this.#flush());
      }
    }
    this.timer.arm(this.core.nextDeadline(), Date.now());
  }

  #onTimer() {
    if (this.closed) return;
    this.core.advance();
    this.pump();
  }

  #flush() {
    this.#flushScheduled = false;
    const batches = this.#outbox;
    this.#outbox = [];
    for (let b = 0; b < batches.length; b += 2) this.#dispatch(batches[b], batches[b + 1]);
  }

  #dispatch(nums, vals) {
    let v = 0;
    for (let i = 0; i < nums.length; i += wire.STRIDE) {
      switch (nums[i]) {
        case wire.DELIVER: {
          const message = readDelivery(this, nums, i, vals, v);
          v += nums[i + 2] === wire.NONE ? 3 : 2;
          this.#deliver(nums[i + 1], message);
          break;
        }
        case wire.WAIT_EXPIRED: {
          const waiter = this.subscribers.get(nums[i + 1]);
          this.subscribers.delete(nums[i + 1]);
          waiter?.resolve(null);
          break;
        }
        // Events and replies get listeners with the broker-API issue; until
        // then only their values are stepped over.
        case wire.REPLY:
          v += 1;
          break;
        case wire.DEAD_LETTERED:
        case wire.EXPIRED:
        case wire.REDELIVERED:
          if (nums[i + 2] === wire.NONE) v += 1;
          break;
      }
    }
  }

  #deliver(consumerId, message) {
    const subscriber = this.subscribers.get(consumerId);
    if (subscriber === undefined) return; // cancelled meanwhile: its lease returns the message
    if (subscriber.resolve) {
      this.subscribers.delete(consumerId);
      subscriber.resolve(message);
      return;
    }
    runHandler(subscriber, message);
  }
}

function runHandler(subscriber, message) {
  let result;
  try {
    result = subscriber.handler(message);
  } catch (error) {
    result = Promise.reject(error);
  }
  if (!subscriber.autoAck) return;
  Promise.resolve(result).then(
    () => message.ack().catch(() => {}),
    () => message.nack().catch(() => {}),
  );
}

/** Builds the Message for a DELIVER record at `i`; its values start at `v`. */
function readDelivery(runtime, nums, i, vals, v) {
  const autoId = nums[i + 2];
  return new Message(
    runtime,
    nums[i + 3],
    autoId === wire.NONE ? vals[v + 2] : String(autoId),
    vals[v],
    vals[v + 1] ?? {},
    nums[i + 4],
    nums[i + 5] === 1,
    nums[i + 6],
  );
}

export class Broker {
  #runtime = new Runtime();
  #queues = new Map();

  constructor(options) {
    check.options('options', options, []);
  }

  /** Declares a queue, or returns the one already declared under `name`. */
  queue(name, options) {
    this.#runtime.assertOpen();
    check.string('name', name);
    const o = check.options('options', options, QUEUE_OPTIONS);
    const leaseMs = o.leaseMs === undefined ? wire.NONE : check.duration('options.leaseMs', o.leaseMs);
    // The core checks that a re-declaration agrees with the first one.
    const id = this.#runtime.core.declareQueue(name, options !== undefined, leaseMs);
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new Queue(this.#runtime, id, name);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  async close() {
    const runtime = this.#runtime;
    if (runtime.closed) return;
    runtime.closed = true;
    runtime.timer.cancel();
    for (const subscriber of runtime.subscribers.values()) subscriber.reject?.(closedError());
    runtime.subscribers.clear();
    runtime.core.free();
  }

  [Symbol.asyncDispose]() {
    return this.close();
  }
}

export class Queue {
  #runtime;
  #id;

  constructor(runtime, id, name) {
    this.#runtime = runtime;
    this.#id = id;
    /** @readonly */
    this.name = name;
  }

  async send(payload, options) {
    this.#runtime.assertOpen();
    const [id, priority, delayMs, ttlMs, headers] = sendArguments(options);
    const autoId = this.#runtime.core.send(this.#id, payload, headers, id, priority, delayMs, ttlMs);
    this.#runtime.pump();
    return id ?? String(autoId);
  }

  /** Resolves with the next ready message, or null once `waitMs` (default 0) passes without one. */
  receive(options) {
    const runtime = this.#runtime;
    try {
      runtime.assertOpen();
      const o = check.options('options', options, RECEIVE_OPTIONS);
      const waitMs = o.waitMs === undefined ? 0 : check.duration('options.waitMs', o.waitMs);
      const vals = [];
      const nums = runtime.core.get(this.#id, vals);
      runtime.pump();
      if (nums.length > 0) return Promise.resolve(readDelivery(runtime, nums, 0, vals, 0));
      if (waitMs === 0) return Promise.resolve(null);
      return new Promise((resolve, reject) => {
        const consumer = runtime.core.subscribe(this.#id, 1, true, Date.now() + waitMs);
        runtime.subscribers.set(consumer, { resolve, reject });
        runtime.pump();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Calls `handler` for each message; with autoAck (default) a fulfilled handler acks, a failed one nacks. */
  consume(handler, options) {
    const runtime = this.#runtime;
    runtime.assertOpen();
    check.fn('handler', handler);
    const o = check.options('options', options, CONSUME_OPTIONS);
    const prefetch = o.prefetch === undefined ? 1 : check.count('options.prefetch', o.prefetch, 1, 65535);
    const autoAck = o.autoAck === undefined ? true : check.boolean('options.autoAck', o.autoAck);
    const id = runtime.core.subscribe(this.#id, prefetch, false, wire.NONE);
    runtime.subscribers.set(id, { handler, autoAck });
    runtime.pump();
    return new Consumer(runtime, id);
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

  async cancel() {
    const runtime = this.#runtime;
    if (!this.active) return;
    runtime.subscribers.delete(this.#id);
    runtime.core.cancel(this.#id);
    runtime.pump();
  }
}

export class Message {
  #runtime;
  #tag;

  constructor(runtime, tag, id, payload, headers, deliveryCount, redelivered, enqueuedAt) {
    this.#runtime = runtime;
    this.#tag = tag;
    this.id = id;
    this.payload = payload;
    this.headers = headers;
    this.deliveryCount = deliveryCount;
    this.redelivered = redelivered;
    this.enqueuedAt = enqueuedAt;
  }

  async ack() {
    this.#runtime.assertOpen();
    this.#runtime.core.ack(this.#tag);
    this.#runtime.pump();
  }

  async nack(options) {
    this.#runtime.assertOpen();
    const o = check.options('options', options, ['requeue', 'delayMs']);
    const requeue = o.requeue === undefined ? true : check.boolean('options.requeue', o.requeue);
    const delayMs = o.delayMs === undefined ? wire.NONE : check.duration('options.delayMs', o.delayMs);
    this.#runtime.core.nack(this.#tag, requeue, delayMs);
    this.#runtime.pump();
  }
}
