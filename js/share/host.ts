// The leader's side of a shared broker: answers the calls of followers on
// other threads or pages from its own broker, as a server would
// (js/remote/runtime.ts makes them; js/redis/library.lua documents each
// function's arguments and answer). Follower input is checked as the public
// API checks a caller's; a delivery may only be settled by the follower it
// was handed to, or (after a hand-over) by anyone who names a delivery an
// earlier leader handed out. Nothing here decides anything the core does not.
//
// Followers in pages (js/share/tabs.ts) resend a call until it is answered,
// to this leader or the next: each call that changes the broker has its
// answer noted in the same commit as its change (storage.ts CallNote), so a
// resend is answered, never done twice.
import { decode, encode } from '../codec.js';
import { FerryError, rangeError } from '../errors.js';
import * as wire from '../wire.js';
import type { LocalRuntime } from '../broker/local.js';
import { NO_HEADERS } from '../broker/effects.js';
import { carriesRequest, tagOf } from '../broker/message.js';
import { sendArguments, type SendArguments } from '../broker/options.js';
import { Settle } from '../broker/settle.js';
import { EVENT_TYPES } from '../remote/runtime.js';
import { wasSuperseded } from '../storage.js';
import { PROTOCOL, type ToFollower, type ToLeader, type WireError } from './protocol.js';

/** The calls whose answers are noted for resends: those that change the broker, each done synchronously. */
const NOTED = new Set(['send', 'send_batch', 'publish_key', 'request', 'ack', 'nack', 'reply', 'release', 'fail', 'purge']);
/** Calls done again harmlessly, but answered only once written: an answer must never name what a crash can undo. */
const WRITTEN = new Set(['declare', 'bind', 'unbind']);

/** Where a follower's messages go. */
export interface FollowerEnd {
  post(message: ToFollower): void;
  close(): void;
}

/** A leader after a hand-over: the answers earlier leaders noted, and the first tag it hands out itself. */
export interface Inherited {
  answers: Map<string, Map<number, unknown>>;
  tagFloor: number;
}

export class Host {
  readonly #runtime: LocalRuntime;
  readonly #followers = new Set<Follower>();
  readonly #inherited: Inherited | undefined;
  /** Stopped because another leader took the storage over: what it did not answer is the next leader's. */
  #superseded = false;

  /** `inherited`: a broker shared by pages, whose followers resend their calls. */
  constructor(runtime: LocalRuntime, inherited?: Inherited) {
    this.#runtime = runtime;
    this.#inherited = inherited;
    // A queue a follower waits on may have become due in any flush: a send,
    // a nack, a timer.
    runtime.flushed = () => {
      for (const follower of this.#followers) follower.wakeDue();
    };
    runtime.whenStopped((reason) => {
      this.#superseded = wasSuperseded(reason);
      this.close(reason);
    });
  }

  /** Client `client`, whose calls earlier leaders noted, closed or died unserved: its notes go, here and in storage. */
  forget(client: string): void {
    if (this.#inherited?.answers.delete(client)) this.#runtime.commits?.note({ client, upTo: Infinity });
  }

  /** A new follower's end of a channel whose other end this host serves. */
  share(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    const follower = this.serve({ post: (m) => port1.postMessage(m), close: () => port1.close() }, undefined);
    port1.addEventListener('message', (e) => follower.received(e.data as ToLeader));
    // Node: the other end closed, or its thread ended.
    port1.addEventListener('close', () => follower.closed());
    port1.start();
    // Node: followers do not keep the leader's thread alive; their own ends keep theirs.
    (port1 as { unref?(): void }).unref?.();
    return port2;
  }

  /** Serves a follower reached through `end`; `client` names one that resends its calls (a page's). */
  serve(end: FollowerEnd, client: string | undefined): Follower {
    const inherited = this.#inherited;
    const follower = new Follower(this.#runtime, end, () => this.#followers.delete(follower), () => this.#superseded, client, inherited && {
      answers: client === undefined ? undefined : inherited.answers.get(client),
      tagFloor: inherited.tagFloor,
    });
    this.#followers.add(follower);
    return follower;
  }

  /** The leader closed (or stopped by itself for `reason`): so do its followers. */
  close(reason?: FerryError): void {
    for (const follower of this.#followers) follower.close(reason);
  }
}

/** What an answer was: a value, or the error as it crossed. */
type Answer = { value: unknown } | { error: WireError };
/** A call being done: its answer is on its way. */
const PENDING = 0;

/** One follower, served through its end. */
export class Follower {
  readonly #runtime: LocalRuntime;
  readonly #end: FollowerEnd;
  readonly #gone: () => void;
  readonly #superseded: () => boolean;
  /** A follower that resends its calls (a page's): named, and answered again from `#answers`. */
  readonly #client: string | undefined;
  /** Answers not yet known to have arrived, by call id (calls of a client only). */
  readonly #answers = new Map<number, Answer | typeof PENDING>();
  /** The calls whose answers are noted in storage and not yet forgotten. */
  readonly #noted = new Set<number>();
  /** The highest `done` the client has said: every answer up to it arrived. */
  #done = -Infinity;
  /** Tags below it were handed out by an earlier leader: anyone may settle them. */
  readonly #tagFloor: number;
  /** Each queue's leaseMs, read once: a queue's options never change after its declaration. */
  readonly #leases = new Map<number, number>();
  /** The deliveries handed to this follower and not settled yet (leader tags). */
  readonly #held = new Set<number>();
  /** The queues it waits on. */
  #watching = new Set<number>();
  #unlisten: (() => void) | undefined = undefined;
  #ended = false;
  /** The leader's ids of the requests this follower made that wait for a reply. */
  readonly #requests = new Set<number>();

  constructor(
    runtime: LocalRuntime,
    end: FollowerEnd,
    gone: () => void,
    superseded: () => boolean,
    client: string | undefined,
    inherited: { answers: Map<number, unknown> | undefined; tagFloor: number } | undefined,
  ) {
    this.#runtime = runtime;
    this.#end = end;
    this.#gone = gone;
    this.#superseded = superseded;
    this.#client = client;
    this.#tagFloor = inherited?.tagFloor ?? 0;
    for (const [call, value] of inherited?.answers ?? []) {
      this.#answers.set(call, { value });
      this.#noted.add(call);
    }
  }

  close(reason: FerryError | undefined): void {
    this.#post({ v: PROTOCOL, closed: reason === undefined ? null : wireError(reason) });
    this.#end.close();
    this.closed();
  }

  /** Wakes this follower for each queue it waits on that has due messages now. */
  wakeDue(): void {
    for (const q of this.#watching) {
      if (!this.#runtime.core.hasReady(q)) continue;
      this.#watching.delete(q);
      this.#post({ v: PROTOCOL, wake: String(q) });
    }
  }

  /** Its end closed, or its context ended: what it held comes back. */
  closed(): void {
    // Once: close() and then the port's own 'close' event both come here.
    if (this.#ended) return;
    this.#ended = true;
    this.#gone();
    this.#unlisten?.();
    this.#unlisten = undefined;
    this.#watching.clear();
    if (this.#runtime.closed) return;
    // It resends nothing any more: its notes may go.
    if (this.#noted.size > 0) this.#runtime.commits?.note({ client: this.#client!, upTo: Infinity });
    this.#noted.clear();
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
    this.#end.post(message);
  }

  received(message: ToLeader): void {
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
    if ('call' in message) {
      if (this.#client !== undefined && this.#answered(message.call, message.done)) return;
      this.#call(message.call, message.fn, message.args);
    }
    else if ('watch' in message) {
      this.#watching = new Set(message.watch.map((sid) => this.#queue(sid)));
      this.wakeDue();
    } else if ('events' in message) this.#listen(message.events === true);
  }

  /**
   * A client's call `id` seen before: answered again (or, still being done,
   * left to its answer). `done`: the client has every answer up to it.
   */
  #answered(id: number, done: number | undefined): boolean {
    if (typeof done === 'number') this.#forget(done);
    const known = this.#answers.get(id);
    if (known === undefined) {
      this.#answers.set(id, PENDING);
      return false;
    }
    if (known !== PENDING) this.#post({ v: PROTOCOL, answer: id, ...known });
    return true;
  }

  /** The client has every answer up to call `done`: they need not be kept, here or in storage. */
  #forget(done: number): void {
    // `done` stays put while the client's oldest call is unanswered, and no
    // call at or below it comes again: nothing to scan for.
    if (done <= this.#done) return;
    this.#done = done;
    for (const call of this.#answers.keys()) if (call <= done) this.#answers.delete(call);
    let forgotten = false;
    for (const call of this.#noted) {
      if (call > done) continue;
      this.#noted.delete(call);
      forgotten = true;
    }
    if (forgotten) this.#runtime.commits?.note({ client: this.#client!, upTo: done });
  }

  #call(id: number, fn: string, args: unknown[]): void {
    let answer: unknown;
    try {
      // Nothing changes on a broker that stopped: the follower hears why.
      this.#runtime.assertOpen();
      const run = Object.hasOwn(this.#functions, fn) ? this.#functions[fn] : undefined;
      if (run === undefined || !Array.isArray(args)) throw rangeError('fn', 'a function of the protocol', fn);
      answer = run.call(this, args);
      if (NOTED.has(fn)) {
        // Done now; noted in the commit that holds the change; answered once that is written.
        if (this.#client !== undefined && this.#runtime.commits !== undefined) {
          this.#runtime.commits.note({ client: this.#client, call: id, answer });
          this.#noted.add(id);
        }
        answer = this.#runtime.settled(answer);
      } else if (WRITTEN.has(fn)) answer = this.#runtime.settled(answer);
    } catch (error) {
      this.#answer(id, undefined, error);
      return;
    }
    Promise.resolve(answer).then((value) => this.#answer(id, value), (error: unknown) => this.#answer(id, undefined, error));
  }

  #answer(id: number, value: unknown, error?: unknown): void {
    // A leader another one superseded did not do the call (its write was
    // refused): a page's follower resends it to the next leader.
    if (this.#client !== undefined && this.#superseded()) return;
    const answer: Answer = error === undefined ? { value } : { error: wireError(error) };
    if (this.#client !== undefined && this.#answers.has(id)) this.#answers.set(id, answer);
    this.#post({ v: PROTOCOL, answer: id, ...answer });
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
    send([sid, ...message]) {
      const [payload, send] = outgoing(message);
      return [sequence(this.#runtime.sendNow(this.#queue(sid), payload, send), send), Date.now()];
    },
    request([sid, ...message]) {
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
    send_batch([sid, ...messages]) {
      if (messages.length % 5 !== 0) throw rangeError('args', 'five per message', messages.length);
      const items: { payload: unknown; send: SendArguments }[] = [];
      for (let i = 0; i < messages.length; i += 5) {
        const [payload, send] = outgoing(messages.slice(i, i + 5));
        items.push({ payload, send });
      }
      const ids = this.#runtime.sendBatchNow(this.#queue(sid), items);
      return [Date.now(), ...ids.map((id, i) => sequence(id, items[i]!.send))];
    },
    publish_key([routingKey, ...message]) {
      const [payload, send] = outgoing(message);
      return this.#runtime.publishNow(String(routingKey), payload, send);
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
      const lease = this.#leaseOf(q);
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
      for (let i = 0; i < deliveries.length; i += 2) {
        try {
          this.#settle(deliveries[i + 1], (tag) => this.#runtime.core.ack(tag));
          answers.push(1);
        } catch (error) {
          answers.push(wireError(error));
        }
      }
      return answers;
    },
    nack([, , tag, requeue, wait]) {
      const delay = wait === '' ? wire.NONE : whole(wait, 0);
      this.#settle(tag, (t) => this.#runtime.core.nack(t, requeue === 1 || requeue === '1', delay));
      return 1;
    },
    reply([, , tag, body]) {
      const [payload] = decode(bytes(body));
      this.#settle(tag, (t) => this.#runtime.replyNow(t, payload));
      return 1;
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
      return this.#runtime.core.purge(this.#queue(sid));
    },
  };

  /** Settles delivery `tag` of this follower with `settle` (which throws when refused); it is no longer this follower's either way. */
  #settle(tag: unknown, settle: (tag: number) => void): void {
    const t = this.#heldTag(tag);
    try {
      settle(t);
    } finally {
      this.#held.delete(t);
    }
  }

  #leaseOf(q: number): number {
    let lease = this.#leases.get(q);
    if (lease === undefined) {
      lease = (JSON.parse(this.#runtime.core.describeQueue(q)) as { leaseMs: number }).leaseMs;
      this.#leases.set(q, lease);
    }
    return lease;
  }

  /** A delivery this follower holds (or one an earlier leader handed out), else STALE_DELIVERY. */
  #heldTag(tag: unknown): number {
    const t = Number(tag);
    if (!this.#held.has(t) && !(Number.isInteger(t) && t >= 0 && t < this.#tagFloor)) {
      throw new FerryError('STALE_DELIVERY', `delivery ${String(tag)} is not in flight here: already settled, or never handed to this follower`);
    }
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
