// A broker shared by the pages and dedicated workers of an origin that open
// the same IndexedDB database. Every context queues for the database's Web
// Lock; whoever holds it leads: it recovers the broker from storage and
// serves everyone's calls (host.ts), its own included. Every context's
// Broker is a follower (follower.ts) of whoever leads, through a `TabLink`:
// so a context that takes over changes nothing its application holds.
//
// Failure handling, in one place:
// - A leader that dies (closed, crashed, frozen past a stolen lock) releases
//   the lock; the next waiter takes over, raises the term (which fences any
//   write of the old one, storage-indexeddb.ts), recovers with the leases
//   followers hold kept, and announces itself.
// - Messages between pages can be lost (a paused page): a call is resent
//   until answered, at once to a newly announced leader and then every
//   RESEND_MS. Calls that change the broker are answered from the notes a
//   leader writes with their change (host.ts), so a resend is never done twice.
// - A dead follower's member lock is granted to the leader, which gives back
//   what it held.
import { LocalRuntime } from '../broker/local.js';
import { noop } from '../promises.js';
import type { OpenStorage } from '../storage.js';
import { assertIndexedDb, lockName, openLog } from '../storage-indexeddb.js';
import type { Recovery } from '../types.js';
import { type Follower, Host } from './host.js';
import { PortRuntime, type LeaderPort } from './follower.js';
import { PROTOCOL, type ToFollower, type ToLeader } from './protocol.js';

/** How often an unanswered call is sent again. */
const RESEND_MS = 1_000;
/** How long a leader whose storage failed waits before it queues for the lock again. */
const RETRY_MS = 250;

/**
 * What crosses the database's channel. The messages one side posts in one
 * turn of its event loop travel together: one channel message, and on the
 * leader one task, so the calls in it share one commit.
 */
type Envelope =
  /** A follower's messages to whoever leads. */
  | { v: typeof PROTOCOL; from: string; ms: ToLeader[] }
  /** The leader's messages to one follower. */
  | { v: typeof PROTOCOL; to: string; ms: ToFollower[] }
  /** A new leader: followers resend what is unanswered. */
  | { v: typeof PROTOCOL; leader: string };

/** Opens database `name` shared: resolves with a follower once some context (maybe this one) leads and answered it. */
export async function openShared(name: string): Promise<{ runtime: PortRuntime; recovery: Recovery | undefined }> {
  assertIndexedDb();
  const link = new TabLink(name);
  await link.member;
  const runtime = await PortRuntime.open(link);
  return { runtime, recovery: link.recovery };
}

/** The page's end of a shared broker; PortRuntime's port. */
class TabLink implements LeaderPort {
  readonly #db: string;
  readonly #client = randomId();
  readonly #channel: BroadcastChannel;
  #listener: ((e: { data: unknown }) => void) | undefined = undefined;
  /** Calls not answered yet, as sent, by id. */
  readonly #pending = new Map<number, { message: ToLeader & { call: number }; sent: number }>();
  /** The last watch and events messages: a new leader hears them again. */
  #watch: ToLeader | undefined = undefined;
  #events: ToLeader | undefined = undefined;
  /** This context's own leader part, while it leads. */
  #leading: Leading | undefined = undefined;
  #closed = false;
  /** Whether this link's lock request is queued or granted; and whether to queue again once it ends. */
  #requesting = false;
  #queueWhenLetGo = false;
  /** Whether a leader answered this link yet: its own broker may hold deliveries then. */
  #answered = false;
  readonly #resend: ReturnType<typeof setInterval>;
  /** Held while this link is open: the leader waits on it to learn that this context died. */
  #releaseMember: () => void = noop;
  /**
   * Resolves once that lock is held (or cannot be). A follower says nothing
   * before: a leader's watch on the lock, granted first, would take it for
   * dead.
   */
  readonly member: Promise<void>;
  readonly #outbox = new Outbox<ToLeader>((ms) => this.#send({ v: PROTOCOL, from: this.#client, ms }));
  /** What recovery found, when this context led first. */
  recovery: Recovery | undefined = undefined;
  onChange: LeaderPort['onChange'] = undefined;
  readonly #hidden = (): void => void this.#resign(false);
  readonly #shown = (e: Event): void => {
    if ((e as PageTransitionEvent).persisted) this.#queue();
  };

  constructor(db: string) {
    this.#db = db;
    this.#channel = new BroadcastChannel(`ferrymq:${db}`);
    this.#channel.onmessage = (e) => this.#heard(e.data);
    this.#resend = setInterval(() => this.#resendOlder(Date.now() - RESEND_MS), RESEND_MS);
    this.member = new Promise<void>((held) => {
      navigator.locks
        .request(memberLock(db, this.#client), () => {
          held();
          // Granted after close(): nothing to hold.
          return this.#closed ? undefined : new Promise<void>((release) => (this.#releaseMember = release));
        })
        .catch(() => held());
    });
    // A page going away hands over at once instead of leaving the others to
    // notice its death; back from the back/forward cache, it queues again.
    globalThis.addEventListener?.('pagehide', this.#hidden);
    globalThis.addEventListener?.('pageshow', this.#shown);
    this.#queue();
  }

  get role(): 'leader' | 'follower' {
    return this.#leading === undefined ? 'follower' : 'leader';
  }

  get leader(): LocalRuntime | undefined {
    return this.#leading?.runtime;
  }

  addEventListener(type: 'message' | 'close', listener: (e: { data: unknown }) => void): void {
    // Nobody closes a link but its runtime: no 'close' to tell.
    if (type === 'message') this.#listener = listener;
  }

  start(): void {}

  postMessage(message: ToLeader): void {
    if ('call' in message) {
      this.#pending.set(message.call, { message, sent: Date.now() });
      this.#toLeader(this.#withDone(message));
    } else {
      if ('watch' in message) this.#watch = message;
      else this.#events = message;
      this.#toLeader(message);
    }
  }

  /** Resolves once this context let go of the broker it kept, if it led: its last commit written, the lock released. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    clearInterval(this.#resend);
    globalThis.removeEventListener?.('pagehide', this.#hidden);
    globalThis.removeEventListener?.('pageshow', this.#shown);
    const stopped = this.#resign(false);
    this.#channel.close();
    this.#releaseMember();
    return stopped;
  }

  /**
   * Queues for the database's lock: granted, this context leads until it
   * resigns. One request at a time: a page back from the back/forward cache
   * whose request is still queued does not add another.
   */
  #queue(): void {
    if (this.#closed || this.#requesting) return;
    this.#requesting = true;
    navigator.locks
      .request(lockName(this.#db), (held) => (held === null ? undefined : this.#lead()))
      .catch((error: unknown) => {
        // The lock was stolen from this leader: it stops, and waits its turn again.
        if (this.#leading !== undefined) this.#resign(true);
        else if (!this.#closed) this.onChange?.({ error });
      })
      .finally(() => {
        this.#requesting = false;
        if (this.#queueWhenLetGo) {
          this.#queueWhenLetGo = false;
          this.#queue();
        }
      });
  }

  /** Queues again after `after` ms, or, if the last request still holds the lock then, once it lets go. */
  #queueAgain(after: number): void {
    setTimeout(() => {
      if (this.#requesting) this.#queueWhenLetGo = true;
      else this.#queue();
    }, after);
  }

  /** Holds the lock: recovers, serves, and announces; resolves (releasing the lock) once it stops leading. */
  async #lead(): Promise<void> {
    if (this.#closed) return;
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    let leading: Leading;
    let storage: OpenStorage | undefined;
    try {
      storage = await openLog(this.#db, stop);
      const alive = await members(this.#db);
      // A takeover (this context, or another one alive, may hold
      // deliveries) keeps the leases; the first context to open returns them.
      const takeover = this.#answered || alive.size > (alive.has(this.#client) ? 1 : 0);
      const { runtime, recovery, start } = LocalRuntime.recover(storage, takeover);
      // A leader that stops by itself hands over; its followers resend.
      runtime.listeners.add('error', noop);
      await start();
      const answers = storage.answers ?? new Map();
      const host = new Host(runtime, { answers, tagFloor: runtime.core.tagFloor });
      // Contexts that closed or died while no leader watched them resend
      // nothing: their notes go (a live one holds its member lock before it
      // ever calls).
      for (const client of answers.keys()) if (!alive.has(client)) host.forget(client);
      leading = new Leading(runtime, host, this.#db, (envelope) => this.#send(envelope), stop);
      this.recovery ??= recovery;
    } catch (error) {
      if (!this.#closed) this.onChange?.({ error });
      await storage?.close().catch(noop);
      stop();
      this.#queueAgain(RETRY_MS);
      return stopped;
    }
    // After the host's own listener (added first): its followers are told before this tab resigns.
    leading.runtime.whenStopped((reason) => {
      if (this.#leading !== leading) return;
      this.onChange?.({ error: reason });
      this.#resign(true, RETRY_MS);
    });
    if (this.#closed) {
      await leading.stop();
      return stopped;
    }
    this.#leading = leading;
    this.#send({ v: PROTOCOL, leader: this.#client });
    this.onChange?.({ role: 'leader' });
    this.#resendOlder(Infinity);
    return stopped;
  }

  /** Stops leading (if it does), resolving once stopped; `again`: queues for the lock again, after `after` ms. */
  #resign(again: boolean, after = 0): Promise<void> {
    const leading = this.#leading;
    if (leading === undefined) return Promise.resolve();
    this.#leading = undefined;
    const stopped = leading.stop().catch(noop);
    if (!this.#closed) this.onChange?.({ role: 'follower' });
    if (again) this.#queueAgain(after);
    return stopped;
  }

  /**
   * A message on the channel. Calls and answers are routed whatever their
   * protocol: the host answers a call of another ferrymq build (a page left
   * open across a deploy) with STORAGE, and the follower ends its call on
   * such an answer likewise, so a tab of another build is told, never left
   * waiting. Only a new leader of this protocol counts.
   */
  #heard(envelope: unknown): void {
    const e = envelope as { v?: unknown; from?: unknown; to?: unknown; ms?: unknown; leader?: unknown } | null;
    if (e === null || typeof e !== 'object') return;
    const from = typeof e.from === 'string' ? e.from : undefined;
    if (from !== undefined || e.to === this.#client) {
      if (!Array.isArray(e.ms)) return;
      for (const m of e.ms as unknown[]) {
        if (m === null || typeof m !== 'object') continue;
        if (from === undefined) this.#fromLeader(m as ToFollower);
        else this.#leading?.received(from, m as ToLeader);
      }
    } else if (e.v === PROTOCOL && typeof e.leader === 'string' && e.leader !== this.#client) {
      // Another context took over: everything unanswered goes to it.
      this.#resign(true);
      this.#resendOlder(Infinity);
    }
  }

  readonly #fromOwnLeader = (message: ToFollower): void => this.#fromLeader(message);

  #fromLeader(message: ToFollower): void {
    // A leader closing or stopping is a hand-over here, not the end: the
    // next one answers what is pending.
    if ('closed' in message) return;
    if ('answer' in message) {
      if (!this.#pending.delete(message.answer)) return;
      this.#answered = true;
    }
    this.#listener?.({ data: message });
  }

  /** Sends again every unanswered call last sent before `before`, and what this follower waits on. */
  #resendOlder(before: number): void {
    const now = Date.now();
    let resent = false;
    for (const call of this.#pending.values()) {
      if (call.sent >= before) continue;
      call.sent = now;
      resent = true;
      this.#toLeader(this.#withDone(call.message));
    }
    // A wake lost on its way (a paused page) would leave a consumer waiting: say again what it waits on.
    if (this.#watch !== undefined) this.#toLeader(this.#watch);
    if (before === Infinity || resent) {
      if (this.#events !== undefined) this.#toLeader(this.#events);
    }
  }

  /** The call, saying which answers this follower has: every one below the oldest pending. */
  #withDone(message: ToLeader & { call: number }): ToLeader {
    // Call ids only grow and each enters #pending once: its first key is the oldest (this one at the latest).
    const oldest = this.#pending.keys().next().value!;
    return { ...message, done: oldest - 1 };
  }

  /** Posts on the channel; nothing once this link closed (a turn's last messages may come after). */
  #send(envelope: Envelope): void {
    if (!this.#closed) this.#channel.postMessage(envelope);
  }

  #toLeader(m: ToLeader): void {
    if (this.#leading !== undefined) this.#leading.local(this.#client, m, this.#fromOwnLeader);
    else this.#outbox.post(m);
  }
}

/** This context's leader part: the broker kept here, and the followers it serves. */
class Leading {
  readonly #followers = new Map<string, Follower>();
  /** Stops the leader's watches on its followers' member locks. */
  readonly #watches = new AbortController();
  #stopped: Promise<void> | undefined = undefined;

  constructor(
    readonly runtime: LocalRuntime,
    private readonly host: Host,
    private readonly db: string,
    private readonly send: (envelope: Envelope) => void,
    private readonly release: () => void,
  ) {}

  /** A message of this context's own follower: no channel, no copy; answered in a later microtask, as a port would. */
  local(client: string, message: ToLeader, deliver: (reply: ToFollower) => void): void {
    let follower = this.#followers.get(client);
    if (follower === undefined) {
      follower = this.host.serve({ post: (reply) => queueMicrotask(() => deliver(reply)), close: noop }, client);
      this.#followers.set(client, follower);
    }
    follower.received(message);
  }

  /** A message of follower `client`, from another context. */
  received(client: string, message: ToLeader): void {
    if (this.#stopped !== undefined) return;
    let follower = this.#followers.get(client);
    if (follower === undefined) {
      const outbox = new Outbox<ToFollower>((ms) => this.send({ v: PROTOCOL, to: client, ms }));
      follower = this.host.serve({ post: (m) => outbox.post(m), close: noop }, client);
      this.#followers.set(client, follower);
      const gone = follower;
      // Granted once that context closed or died: what it held comes back.
      navigator.locks
        .request(memberLock(this.db, client), { signal: this.#watches.signal }, () => {
          this.#followers.delete(client);
          gone.closed();
        })
        .catch(noop);
    }
    follower.received(message);
  }

  /** Stops serving and closes the broker kept here (its last commit written), then releases the lock. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#watches.abort();
      try {
        if (!this.runtime.closed) await this.runtime.shutdown();
      } finally {
        this.release();
      }
    })();
    return this.#stopped;
  }
}

/** Messages posted in one turn, sent together at its end. */
class Outbox<M> {
  #messages: M[] = [];

  constructor(private readonly send: (messages: M[]) => void) {}

  post(message: M): void {
    if (this.#messages.length === 0) queueMicrotask(() => this.#flush());
    this.#messages.push(message);
  }

  #flush(): void {
    const messages = this.#messages;
    this.#messages = [];
    this.send(messages);
  }
}

const memberLock = (db: string, client: string): string => `${lockName(db)}:member:${client}`;

/** The clients that have database `db` open now: those holding their member lock. */
async function members(db: string): Promise<Set<string>> {
  const prefix = memberLock(db, '');
  const { held = [] } = await navigator.locks.query();
  return new Set(held.flatMap((lock) => (lock.name?.startsWith(prefix) ? [lock.name.slice(prefix.length)] : [])));
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

