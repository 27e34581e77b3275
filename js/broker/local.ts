// A broker whose messages live in this context: in memory, or durable on a
// log (a file in Node, IndexedDB in browsers) that the core decides every
// write of. Sends, acks and nacks are done when the core call returns; on a
// durable broker their promises resolve once the log has them.
import { BrokerCore } from '../../pkg/ferrymq.js';
import { encode } from '../codec.js';
import { asStorageError, FerryError } from '../errors.js';
import { f64 } from '../memory.js';
import { noop } from '../promises.js';
import type { OpenStorage } from '../storage.js';
import type { MessageId, QueueStats, Recovery } from '../types.js';
import * as wire from '../wire.js';
import { Commits } from './commits.js';
import { messageAt, valuesOf } from './effects.js';
import { type Message, tagOf } from './message.js';
import { queueArguments, type SendArguments } from './options.js';
import { queueStats } from './queue.js';
import { type BatchItem, closedError, Runtime } from './runtime.js';
import { Settle } from './settle.js';

export class LocalRuntime extends Runtime<BrokerCore> {
  /** Durable only: the way to the log. */
  readonly commits: Commits | undefined;

  /** `storage`: the open storage of a durable broker. */
  constructor(makeCore: (wake: () => void) => BrokerCore, storage?: OpenStorage) {
    super(makeCore);
    this.commits = storage && new Commits(storage, () => this.core, () => this.closed, (error) => this.fail(error));
  }

  /**
   * A durable broker recovered from `storage`, and what recovery found.
   * `keepLeases`: a shared broker's new leader, whose followers may still
   * hold deliveries (their leases run on); else what was in flight comes
   * back at once. Call `start()` once whoever listens to it is in place.
   */
  static recover(storage: OpenStorage, keepLeases: boolean): { runtime: LocalRuntime; recovery: Recovery; start(): Promise<void> } {
    const report: number[] = [];
    const steps: unknown[] = [];
    const runtime = new LocalRuntime(
      (wake) => BrokerCore.openDurable(wire.randomSeed(), storage.bytes, keepLeases, steps, report, wake),
      storage,
    );
    const [records, tornTail, corruptAt, damage] = report as [number, number, number, string];
    const recovery: Recovery = {
      records,
      tornTail: tornTail === wire.NONE ? undefined : tornTail,
      corrupt: corruptAt === wire.NONE ? undefined : { offset: corruptAt, damage },
    };
    const start = async (): Promise<void> => {
      try {
        await storage.run(steps as Parameters<typeof storage.run>[0]);
      } catch (error) {
        runtime.core.free();
        throw asStorageError(error);
      }
      // What opening wrote is in the log: the redeliveries of what was in
      // flight may go out, and the timer is armed for what is due.
      runtime.core.committed(runtime.core.lastSealed);
      runtime.pump();
    };
    return { runtime, recovery, start };
  }

  get durable(): boolean {
    return this.commits !== undefined;
  }

  /**
   * On a durable broker: resolves once everything done so far is in the
   * log (rejects with STORAGE if writing it fails). Undefined in memory.
   */
  persisted(): Promise<void> | undefined {
    if (this.commits === undefined) return undefined;
    this.pump();
    return this.commits.persisted();
  }

  /**
   * The promise of an operation already done: resolved with `value` at once
   * in memory, once written on a durable broker. The hot calls (send, ack,
   * nack, reply, publish) end with it instead of being async functions: in
   * memory that saves a promise and a microtask per call.
   */
  settled<T>(value: T): Promise<T> {
    const persisted = this.persisted();
    return persisted === undefined ? Promise.resolve(value) : persisted.then(() => value);
  }

  /**
   * Makes the core call `store(slot)` for a payload and its headers. The
   * slot holds them for one stored message, or for `count(result)` (publish
   * makes one per matching queue); a call that throws leaves it free.
   */
  withPayload<R>(
    payload: unknown,
    headers: Record<string, string> | undefined,
    store: (slot: number) => R,
    count?: (result: R) => number,
  ): R {
    const slot = this.payloads.take(payload, headers);
    let result: R;
    try {
      result = store(slot);
    } catch (error) {
      this.payloads.free(slot);
      throw error;
    }
    if (count !== undefined) this.payloads.hold(slot, count(result));
    return result;
  }

  /** The bytes the log stores for a message; undefined in memory. */
  encode(payload: unknown, headers: Record<string, string> | undefined): Uint8Array | undefined {
    return this.commits === undefined ? undefined : encode(payload, headers);
  }

  declare(argument: string, name: string, options: unknown): number {
    const core = this.core;
    // Without options: the existing queue, or a new one declared with the
    // defaults, so a later declaration with other options is refused. The
    // core checks that a re-declaration agrees with the first one.
    const existing = options === undefined ? core.queueId(name) : wire.NONE;
    return existing !== wire.NONE ? existing : core.declareQueue(name, queueArguments(options, this.durable), argument);
  }

  send(queue: number, payload: unknown, send: SendArguments): Promise<MessageId> {
    let sent;
    try {
      sent = this.sendNow(queue, payload, send);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.settled(sent);
  }

  /**
   * The synchronous part of `send`: the message is queued (throws when
   * refused), not yet persisted; `persisted()` tells when it is. A shared
   * broker's host notes the answer in the same commit.
   */
  sendNow(queue: number, payload: unknown, [id, priority, delayMs, ttlMs, headers]: SendArguments): MessageId {
    const bytes = this.encode(payload, headers);
    const n = this.withPayload(payload, headers, (slot) => this.core.send(queue, slot, id, priority, delayMs, ttlMs, bytes));
    return n === wire.NONE ? id! : String(n);
  }

  async sendBatch(queue: number, items: BatchItem[]): Promise<MessageId[]> {
    const ids = this.sendBatchNow(queue, items);
    await this.persisted();
    return ids;
  }

  /** The synchronous part of `sendBatch` (see `sendNow`). */
  sendBatchNow(queue: number, items: BatchItem[]): MessageId[] {
    const ids = items.map((item) => item.send[0]);
    const encoded = items.map((item) => this.encode(item.payload, item.send[4]));
    const numbers = new Float64Array(items.length * 3);
    items.forEach(({ send }, i) => numbers.set([send[1], send[2], send[3]], i * 3));
    // Again: an item's getter may have closed the broker meanwhile.
    this.assertOpen();
    const table = this.payloads;
    const slots = Uint32Array.from(items, (item) => table.take(item.payload, item.send[4]));
    let sent;
    try {
      sent = this.core.sendBatch(queue, slots, ids, numbers, encoded);
    } catch (error) {
      for (const slot of slots) table.free(slot);
      throw error;
    }
    return Array.from(sent, (n, i) => (n === wire.NONE ? ids[i]! : String(n)));
  }

  publish(routingKey: string, payload: unknown, send: SendArguments): Promise<MessageId[]> {
    let sent;
    try {
      sent = this.publishNow(routingKey, payload, send);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.settled(sent);
  }

  /** The synchronous part of `publish` (see `sendNow`). */
  publishNow(routingKey: string, payload: unknown, [id, priority, delayMs, ttlMs, headers]: SendArguments): MessageId[] {
    const bytes = this.encode(payload, headers);
    // Again: an options getter may have closed the broker meanwhile.
    this.assertOpen();
    // One stored message per matching queue (ids has one per queue).
    const store = (slot: number): Float64Array => this.core.publish(routingKey, slot, id, priority, delayMs, ttlMs, bytes);
    const ids = this.withPayload(payload, headers, store, (ids) => ids.length);
    return Array.from(ids, (n) => (n === wire.NONE ? id! : String(n)));
  }

  bind(pattern: string, queue: number): void {
    this.core.bind(pattern, queue);
  }

  unbind(pattern: string, queue: number): void {
    this.core.unbind(pattern, queue);
  }

  startRequest(queue: number, payload: unknown, timeoutMs: number): number {
    const bytes = this.encode(payload, undefined);
    return this.withPayload(payload, undefined, (slot) => this.core.request(queue, slot, timeoutMs, bytes));
  }

  takeNow(queue: number, max: number): Message[] | Promise<Message[]> {
    this.assertOpen();
    const vals: unknown[] = [];
    const n = this.core.take(queue, max, vals);
    const messages: Message[] = [];
    if (n === 0) return messages;
    const m = f64();
    const base = this.core.takenPtr() / 8;
    for (let i = 0, v = 0; i < n; i += wire.BROKER_STRIDE) {
      messages.push(messageAt(this, m, base + i, vals, v));
      v += valuesOf(m, base + i);
    }
    // In memory what was taken is handed out as it is: no promise per receive.
    // Durable brokers hand a delivery out only once its lease is written:
    // those still deliverable then (one that expired meanwhile was
    // dead-lettered instead).
    if (this.commits === undefined) return messages;
    return this.persisted()!.then(() => (this.closed ? messages : messages.filter((m) => this.core.handOut(tagOf(m)))));
  }

  async purge(queue: number): Promise<number> {
    const purged = this.core.purge(queue);
    await this.persisted();
    return purged;
  }

  queueStats(queue: number): QueueStats {
    return queueStats(this.core.stats(queue));
  }

  fetchQueueStats(queue: number): Promise<QueueStats> {
    return Promise.resolve(this.queueStats(queue));
  }

  fetchQueueNames(): Promise<string[]> {
    return Promise.resolve(this.queueNames());
  }

  ack(tag: number): Promise<void> {
    try {
      this.core.ack(tag);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.settled(undefined);
  }

  nack(tag: number, requeue: boolean, delayMs: number): Promise<void> {
    try {
      this.core.nack(tag, requeue, delayMs);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.settled(undefined);
  }

  reply(tag: number, payload: unknown): Promise<void> {
    try {
      this.replyNow(tag, payload);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.settled(undefined);
  }

  /** The synchronous part of `reply` (see `sendNow`). */
  replyNow(tag: number, payload: unknown): void {
    // Held until the REPLY (or, with nobody left to answer, DROPPED) effect hands it on.
    this.withPayload(payload, undefined, (slot) => this.core.reply(tag, slot));
  }

  extendLease(tag: number, ms: number): void {
    this.core.extendLease(tag, ms);
  }

  settleQuietly(action: Settle, tag: number): void {
    if (this.closed) return;
    try {
      if (action === Settle.Ack) this.core.ack(tag);
      else if (action === Settle.Nack) this.core.nack(tag, true, wire.NONE);
      else this.core.release(tag);
    } catch (error) {
      // Settled already, or its lease ran out: the message is redelivered or
      // gone, as the core decided. Anything else is not for swallowing.
      if (!(error instanceof FerryError && error.code === 'STALE_DELIVERY')) throw error;
    }
  }

  /** A durable broker first commits what is pending and waits for its log. */
  async shutdown(): Promise<void> {
    // Stopped by itself (its storage failed, its instance died), nothing is left to write.
    if (this.stopped === undefined) {
      // Durable: everything accepted so far goes into one last commit.
      this.commits?.commit();
      this.closeNow(closedError());
    }
    if (this.commits !== undefined) {
      await this.commits.settled();
      // Stopped by itself, it is letting go of its storage already: this waits for that.
      await this.commits.storage.close();
    }
    this.core.free();
  }

  /** Fail-stop: memory is ahead of the log, so the broker stops; reopen it from storage. */
  fail(error: unknown): void {
    if (this.closed) return;
    const failure = asStorageError(error);
    if (this.listeners.wants('error')) this.listeners.emit('error', { error: failure, queue: undefined, id: undefined });
    // Never silent: without a listener, say it where a developer looks.
    else console.error('ferrymq: durable storage failed; the broker has stopped (reopen it from storage):', failure);
    this.stopWith(failure);
  }

  protected ioSettled(): Promise<void> | undefined {
    return this.commits?.settled();
  }

  protected afterFlush(): void {
    this.commits?.commit();
  }

  protected holdsOpen(): boolean {
    return false;
  }

  protected released(): void {
    this.commits?.storage.close().catch(noop);
  }

  protected abandon(reason: FerryError): void {
    this.commits?.abandon(reason);
  }
}
