// The leader's side of a shared broker: answers the calls of followers on
// other threads (or, later, pages) from its own broker, as a server would
// (js/remote/runtime.ts makes them; js/redis/library.lua documents each
// function's arguments and answer). Follower input is checked as the public
// API checks a caller's; a delivery may only be settled by the follower it
// was handed to. Nothing here decides anything the core does not.
import { decode, encode } from '../codec.js';
import { FerryError, rangeError } from '../errors.js';
import * as wire from '../wire.js';
import type { LocalRuntime } from '../broker/local.js';
import { NO_HEADERS } from '../broker/effects.js';
import { carriesRequest, tagOf } from '../broker/message.js';
import { sendArguments, type SendArguments } from '../broker/options.js';
import { Settle } from '../broker/settle.js';
import { EVENT_TYPES } from '../remote/runtime.js';
import { PROTOCOL, type ToFollower, type ToLeader, type WireError } from './protocol.js';


export class Host {
  readonly #runtime: LocalRuntime;
  readonly #followers = new Set<Follower>();

  constructor(runtime: LocalRuntime) {
    this.#runtime = runtime;
    // A queue a follower waits on may have become due in any flush: a send,
    // a nack, a timer.
    runtime.flushed = () => {
      for (const follower of this.#followers) follower.wakeDue();
    };
    runtime.onStop = (reason) => this.close(reason);
  }

  /** A new follower's end of a channel whose other end this host serves. */
  share(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    const follower = new Follower(this.#runtime, port1, () => this.#followers.delete(follower));
    this.#followers.add(follower);
    return port2;
  }

  /** The leader closed (or stopped by itself for `reason`): so do its followers. */
  close(reason?: FerryError): void {
    for (const follower of this.#followers) follower.close(reason);
  }
}

/** One follower, served over `port`. */
class Follower {
  readonly #runtime: LocalRuntime;
  readonly #port: MessagePort;
  readonly #gone: () => void;
  /** The deliveries handed to this follower and not settled yet (leader tags). */
  readonly #held = new Set<number>();
  /** The queues it waits on. */
  #watching = new Set<number>();
  #unlisten: (() => void) | undefined = undefined;
  #ended = false;
  /** The leader's ids of the requests this follower made that wait for a reply. */
  readonly #requests = new Set<number>();

  constructor(runtime: LocalRuntime, port: MessagePort, gone: () => void) {
    this.#runtime = runtime;
    this.#port = port;
    this.#gone = gone;
    port.addEventListener('message', (e) => this.#received(e.data as ToLeader));
    // Node: the other end closed, or its thread ended.
    port.addEventListener('close', () => this.#closed());
    port.start();
    // Node: followers do not keep the leader's thread alive; their own ends keep theirs.
    (port as { unref?(): void }).unref?.();
  }

  close(reason: FerryError | undefined): void {
    this.#post({ v: PROTOCOL, closed: reason === undefined ? null : wireError(reason) });
    this.#port.close();
    this.#closed();
  }

  /** Wakes this follower for each queue it waits on that has due messages now. */
  wakeDue(): void {
    for (const q of this.#watching) {
      if (!this.#runtime.core.hasReady(q)) continue;
      this.#watching.delete(q);
      this.#post({ v: PROTOCOL, wake: String(q) });
    }
  }

  #closed(): void {
    // Once: close() and then the port's own 'close' event both come here.
    if (this.#ended) return;
    this.#ended = true;
    this.#gone();
    this.#unlisten?.();
    this.#unlisten = undefined;
    this.#watching.clear();
    if (this.#runtime.closed) return;
    // What it held comes back at once, as from a cancelled consumer; what it asked is forgotten.
    for (const tag of this.#held) this.#fail(tag);
    this.#held.clear();
    for (const rid of this.#requests) {
      this.#runtime.core.cancelRequest(rid);
      this.#runtime.endRequest(rid);
    }
    this.#requests.clear();
  }

  #post(message: ToFollower): void {
    this.#port.postMessage(message);
  }

  #received(message: ToLeader): void {
    // A follower's mistake is its own: nothing it sends may throw here, in the leader's event loop.
    try {
      this.#handle(message);
    } catch {
      // A malformed watch or events message: ignored, as a server ignores a bad frame.
    }
  }

  #handle(message: ToLeader): void {
    if (message?.v !== PROTOCOL) {
      // Another build of ferrymq: say so to a call, ignore anything else.
      const call = (message as { call?: unknown } | undefined)?.call;
      if (typeof call === 'number') {
        this.#answer(call, undefined, new FerryError('STORAGE', `the leader speaks protocol ${PROTOCOL}, this follower another: use one ferrymq build`));
      }
      return;
    }
    if ('call' in message) this.#call(message.call, message.fn, message.args);
    else if ('watch' in message) {
      this.#watching = new Set(message.watch.map((sid) => this.#queue(sid)));
      this.wakeDue();
    } else if ('events' in message) this.#listen(message.events === true);
  }

  #call(id: number, fn: string, args: unknown[]): void {
    let answer: unknown;
    try {
      // Nothing changes on a broker that stopped: the follower hears why.
      this.#runtime.assertOpen();
      const run = Object.hasOwn(this.#functions, fn) ? this.#functions[fn] : undefined;
      if (run === undefined || !Array.isArray(args)) throw rangeError('fn', 'a function of the protocol', fn);
      answer = run.call(this, args);
    } catch (error) {
      this.#answer(id, undefined, error);
      return;
    }
    Promise.resolve(answer).then((value) => this.#answer(id, value), (error: unknown) => this.#answer(id, undefined, error));
  }

  #answer(id: number, value: unknown, error?: unknown): void {
    if (error === undefined) this.#post({ v: PROTOCOL, answer: id, value });
    else this.#post({ v: PROTOCOL, answer: id, error: wireError(error) });
  }

  /** The server functions, as the Redis library has them; each takes the call's arguments. */
  readonly #functions: Record<string, (this: Follower, args: unknown[]) => unknown> = {
    hello() {
      return PROTOCOL;
    },
    declare([name, explicit, ...fields]) {
      const canon = fields[fields.indexOf('canon') + 1];
      const options = explicit === '1' && typeof canon === 'string' ? JSON.parse(canon) : undefined;
      return String(this.#runtime.declare('name', String(name), options));
    },
    options([sid]) {
      return this.#runtime.core.describeQueue(this.#queue(sid));
    },
    queues() {
      const names: Record<string, string> = Object.create(null);
      this.#runtime.queueNames().forEach((name, q) => {
        names[q] = name;
      });
      return names;
    },
    async send([sid, ...message]) {
      const [payload, send] = outgoing(message);
      return [sequence(await this.#runtime.send(this.#queue(sid), payload, send), send), Date.now()];
    },
    async request([sid, ...message]) {
      const [payload] = outgoing(message.slice(0, 5));
      const rid = whole(message[6], 0);
      const timeoutMs = message[7] === wire.NONE ? wire.NONE : whole(message[7], 1);
      const runtime = this.#runtime;
      const leaderRid = runtime.startRequest(this.#queue(sid), payload, timeoutMs);
      this.#requests.add(leaderRid);
      // The requester times out by itself; this end only forwards a reply.
      runtime.requests.set(leaderRid, {
        resolve: (reply) => {
          this.#requests.delete(leaderRid);
          let body;
          try {
            body = encode(reply, undefined);
          } catch (error) {
            // Answered with a value that cannot leave the leader's context.
            this.#post({ v: PROTOCOL, reply: rid, error: wireError(error) });
            return;
          }
          this.#post({ v: PROTOCOL, reply: rid, body });
        },
        reject: () => this.#requests.delete(leaderRid),
        cleanup: undefined,
      });
      runtime.pump();
      return [0, Date.now()];
    },
    async send_batch([sid, ...messages]) {
      if (messages.length % 5 !== 0) throw rangeError('args', 'five per message', messages.length);
      const items: { payload: unknown; send: SendArguments }[] = [];
      for (let i = 0; i < messages.length; i += 5) {
        const [payload, send] = outgoing(messages.slice(i, i + 5));
        items.push({ payload, send });
      }
      const ids = await this.#runtime.sendBatch(this.#queue(sid), items);
      return [Date.now(), ...ids.map((id, i) => sequence(id, items[i]!.send))];
    },
    async publish_key([routingKey, ...message]) {
      const [payload, send] = outgoing(message);
      return this.#runtime.publish(String(routingKey), payload, send);
    },
    bind([sid, pattern]) {
      this.#runtime.bind(String(pattern), this.#queue(sid));
      return 0;
    },
    unbind([sid, pattern]) {
      this.#runtime.unbind(String(pattern), this.#queue(sid));
      return 0;
    },
    async claim([sid, max]) {
      const q = this.#queue(sid);
      const runtime = this.#runtime;
      const taken = await runtime.takeNow(q, whole(max, 1));
      const lease = (JSON.parse(runtime.core.describeQueue(q)) as { leaseMs: number }).leaseMs;
      const out: unknown[] = [Date.now(), lease, -1];
      for (const m of taken) {
        const tag = tagOf(m);
        // The follower went away while a durable claim was being written: back at once.
        if (this.#ended) {
          this.#fail(tag);
          continue;
        }
        let body;
        try {
          body = encode(m.payload, m.headers === NO_HEADERS ? undefined : m.headers);
        } catch {
          // A payload only this context can hold (a function, a class):
          // a failed delivery, so it ends in the dead-letter queue.
          runtime.extendLease(tag, 0);
          continue;
        }
        this.#held.add(tag);
        out.push(tag, tag, m.id, m.deliveryCount, m.enqueuedAt, carriesRequest(m) ? 1 : 0, body);
      }
      return out;
    },
    ack([, ...deliveries]) {
      const answers = [];
      for (let i = 0; i < deliveries.length; i += 2) answers.push(this.#settle(deliveries[i + 1], (tag) => this.#runtime.ack(tag)));
      return Promise.all(answers.map((a) => a.then(() => 1, (error: unknown) => wireError(error))));
    },
    nack([, , tag, requeue, wait]) {
      const delay = wait === '' ? wire.NONE : whole(wait, 0);
      return this.#settle(tag, (t) => this.#runtime.nack(t, requeue === 1 || requeue === '1', delay)).then(() => 1);
    },
    reply([, , tag, body]) {
      const [payload] = decode(bytes(body));
      return this.#settle(tag, (t) => this.#runtime.reply(t, payload)).then(() => 1);
    },
    extend([, , tag, ms]) {
      const [t, by] = [this.#heldTag(tag), whole(ms, 0)];
      this.#runtime.extendLease(t, by);
      // 0 gives it back at once: no longer this follower's.
      if (by === 0) this.#held.delete(t);
      return 1;
    },
    release([, , tag]) {
      const t = this.#heldTag(tag);
      this.#held.delete(t);
      this.#runtime.settleQuietly(Settle.Release, t);
      return 1;
    },
    fail([, , tag]) {
      const t = this.#heldTag(tag);
      this.#held.delete(t);
      this.#fail(t);
      return 1;
    },
    async stats([sid]) {
      // The core's numbers as they are: a typed array crosses as one.
      return this.#runtime.core.stats(this.#queue(sid));
    },
    purge([sid]) {
      return this.#runtime.purge(this.#queue(sid));
    },
  };

  /** Settles delivery `tag` of this follower with `settle`; it is no longer this follower's either way. */
  #settle(tag: unknown, settle: (tag: number) => Promise<void>): Promise<void> {
    try {
      const t = this.#heldTag(tag);
      return settle(t).finally(() => this.#held.delete(t));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A delivery this follower holds, else STALE_DELIVERY. */
  #heldTag(tag: unknown): number {
    const t = Number(tag);
    if (!this.#held.has(t)) throw new FerryError('STALE_DELIVERY', `delivery ${String(tag)} is not in flight here: already settled, or never handed to this follower`);
    return t;
  }

  /** Back at once as after its lease (a counted failure); nothing if it was settled meanwhile. */
  #fail(tag: number): void {
    try {
      this.#runtime.extendLease(tag, 0);
    } catch {
      // Settled or expired already: nothing to give back.
    }
  }

  /** A queue of this broker by its id as the follower names it. */
  #queue(sid: unknown): number {
    const q = Number(sid);
    if (!Number.isInteger(q) || q < 0 || this.#runtime.core.queueName(q) === undefined) throw rangeError('queue', 'a queue of this broker', sid);
    return q;
  }

  #listen(on: boolean): void {
    this.#unlisten?.();
    this.#unlisten = undefined;
    if (!on) return;
    const offs = EVENT_TYPES.map((type) =>
      this.#runtime.listeners.add(type, (event: Record<string, unknown> & { type: string }) => this.#post({ v: PROTOCOL, event })));
    this.#unlisten = () => offs.forEach((off) => off());
  }
}

/** A message as the calls pass one: id ('' for none), priority, delayMs, ttlMs ('' for none), body. */
function outgoing([id, priority, delayMs, ttlMs, body]: unknown[]): [payload: unknown, send: SendArguments] {
  const [payload, headers] = decode(bytes(body));
  const send = sendArguments('message', {
    ...(id === '' ? {} : { id }),
    priority,
    delayMs,
    ...(ttlMs === '' ? {} : { ttlMs }),
    ...(headers === undefined ? {} : { headers }),
  });
  return [payload, send];
}

function bytes(body: unknown): Uint8Array {
  if (!(body instanceof Uint8Array)) throw rangeError('body', 'bytes', body);
  return body;
}

function whole(value: unknown, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw rangeError('argument', `a whole number, at least ${min}`, value);
  return n;
}

/** A message id as the calls answer it: its number when generated, 0 when the caller gave it (and knows it). */
const sequence = (id: string, [given]: SendArguments): number => (given === undefined ? Number(id) : 0);

function wireError(error: unknown): WireError {
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, code: (e as { code?: string }).code, message: e.message };
}
