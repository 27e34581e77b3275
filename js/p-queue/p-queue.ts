// ferrymq/p-queue: p-queue 9's API on ferrymq's Scheduler, so a p-queue
// user switches with one import line. Ordering, limits, timeouts and aborts
// are the Scheduler's (its wasm core decides them); this file translates
// options, errors and events to what p-queue users expect. Where it differs
// from p-queue on purpose, README's "Coming from p-queue" says so.
import type { RateLimit, TaskEvent, TaskEventType } from '../types.js';
import { EventEmitter, LISTENING } from './emitter.js';
import { Engine, settlingLater } from './engine.js';
import { atLeastOne, describe, describeRate, timeoutOf, wholeCount } from './options.js';
import type { EventName, Options, QueueAddOptions, RunningTask, Task } from './types.js';


// Events p-queue emits when a task ends.
const ENDINGS = new Set<EventName>(['completed', 'error', 'pendingZero', 'next', 'empty', 'idle']);

export default class PQueue extends EventEmitter<EventName> {
  readonly #scheduler: Engine;
  #concurrency: number;
  /** Scheduler events this queue listens to, subscribed when a listener first needs them. */
  readonly #heard = new Set<TaskEventType>();
  /** Tasks started so far (counted once an ending event is listened to). */
  #starts = 0;
  /** Whether the last of rateLimit/rateLimitCleared emitted was rateLimit. */
  #announcedLimited = false;
  #announcing = false;

  /** Default timeout (ms) for tasks added from now on; settable. */
  timeout: number | undefined;

  constructor(options?: Options) {
    super();
    const o = {
      carryoverIntervalCount: false,
      intervalCap: Infinity,
      interval: 0,
      concurrency: Infinity,
      autoStart: true,
      strict: false,
      ...options,
    };
    if (o.queueClass !== undefined) {
      throw new TypeError("ferrymq/p-queue does not take `queueClass`: ferrymq's scheduler core orders tasks (priority, then first in, first out)");
    }
    atLeastOne('intervalCap', o.intervalCap);
    if (!(Number.isFinite(o.interval) && o.interval >= 0)) {
      throw new TypeError(`Expected \`interval\` to be a finite number >= 0, got ${describeRate(o.interval)}`);
    }
    if (o.strict && o.interval === 0) throw new TypeError('The `strict` option requires a non-zero `interval`');
    if (o.strict && o.intervalCap === Infinity) throw new TypeError('The `strict` option requires a finite `intervalCap`');
    const carryover = Boolean(o.carryoverIntervalCount ?? o.carryoverConcurrencyCount);
    const limited = o.intervalCap !== Infinity && o.interval > 0;
    const rateLimit: RateLimit | undefined = limited
      ? {
          max: wholeCount(o.intervalCap),
          intervalMs: Math.ceil(o.interval),
          ...(o.strict ? { window: 'sliding' } : { window: 'fixed', carryover }),
        }
      : undefined;
    this.#concurrency = atLeastOne('concurrency', o.concurrency);
    this.timeout = timeoutOf(o.timeout);
    this.#scheduler = new Engine(
      { concurrency: wholeCount(o.concurrency), autoStart: o.autoStart !== false, rateLimit },
      () => this.emit('add'),
    );
    if (limited) {
      const changed = () => this.#rateLimitChanged();
      this.#scheduler.on('rateLimit', changed);
      this.#scheduler.on('rateLimitCleared', changed);
    }
  }

  /** Runs `fn({ signal })` when the limits allow; settles as it does. */
  add<T>(fn: Task<T>, options?: QueueAddOptions): Promise<Awaited<T>> {
    // The common call costs no option objects. Ids match p-queue's without
    // being passed: the Scheduler numbers tasks "1", "2", … as it does.
    if (options === undefined && this.timeout === undefined) return this.#scheduler.add(settlingLater(fn));
    options ??= {};
    let timeout;
    try {
      timeout = timeoutOf(Object.hasOwn(options, 'timeout') ? options.timeout : this.timeout);
    } catch (error) {
      return Promise.reject(error);
    }
    const { signal } = options;
    if (signal?.aborted) {
      this.emit('next');
      return Promise.reject(signal.reason);
    }
    return this.#scheduler.add(settlingLater(fn), {
      id: options.id,
      priority: options.priority ?? 0,
      signal,
      timeoutMs: timeout === undefined ? undefined : Math.ceil(timeout),
    });
  }

  addAll<T>(fns: ReadonlyArray<Task<T>>, options?: QueueAddOptions): Promise<Array<Awaited<T>>> {
    return Promise.all(fns.map((fn) => this.add(fn, options)));
  }

  /** Starts (or resumes) running tasks; returns the queue. */
  start(): this {
    this.#scheduler.resume();
    return this;
  }

  pause(): void {
    this.#scheduler.pause();
  }

  /**
   * Removes every waiting task. Unlike p-queue, whose promises for them stay
   * pending forever, they reject with a FerryError of code CLEARED, marked
   * handled so nobody awaiting them crashes the process.
   */
  clear(): void {
    this.#scheduler.clear();
    // p-queue reports the limit's end at once here, not a step later.
    this.#announceRateLimit();
    this.emit('empty');
    if (this.pending === 0) this.emit('idle');
    this.emit('next');
  }

  onEmpty(): Promise<void> {
    return this.#when(['empty'], () => this.size === 0);
  }

  onIdle(): Promise<void> {
    // The Scheduler's own: the same moment as the 'idle' event, with no events to make.
    return this.#scheduler.onIdle();
  }

  onPendingZero(): Promise<void> {
    return this.#when(['pendingZero'], () => this.pending === 0);
  }

  onSizeLessThan(limit: number): Promise<void> {
    return this.#when(['next', 'active'], () => this.size < limit, true);
  }

  onRateLimit(): Promise<void> {
    return this.#when(['rateLimit'], () => this.isRateLimited);
  }

  onRateLimitCleared(): Promise<void> {
    return this.#when(['rateLimitCleared'], () => !this.isRateLimited);
  }

  /** Rejects with the error of the next task that fails. */
  onError(): Promise<never> {
    return new Promise((_, reject) => this.once('error', reject));
  }

  get size(): number {
    return this.#scheduler.size;
  }

  sizeBy(options: { priority?: number } = {}): number {
    return this.#scheduler.sizeBy(options.priority === undefined ? {} : { priority: options.priority });
  }

  get pending(): number {
    return this.#scheduler.pending;
  }

  get isPaused(): boolean {
    return this.#scheduler.isPaused;
  }

  get isRateLimited(): boolean {
    return this.#scheduler.isRateLimited;
  }

  /** All slots taken, or the rate limit reached, with tasks waiting. */
  get isSaturated(): boolean {
    return this.size > 0 && (this.pending >= this.#concurrency || this.isRateLimited);
  }

  get runningTasks(): ReadonlyArray<RunningTask> {
    const now = Date.now();
    return this.#scheduler.runningTasks.map(({ id, priority, startedAt, timeoutMs }) => ({
      id,
      priority,
      startTime: startedAt,
      timeout: timeoutMs,
      timeoutRemaining: timeoutMs === undefined ? undefined : Math.max(0, startedAt + timeoutMs - now),
    }));
  }

  get concurrency(): number {
    return this.#concurrency;
  }

  set concurrency(value: number) {
    atLeastOne('concurrency', value);
    this.#scheduler.concurrency = wholeCount(value);
    this.#concurrency = value;
  }

  setPriority(id: string, priority: number): void {
    if (typeof priority !== 'number' || !Number.isFinite(priority)) {
      throw new TypeError(`Expected \`priority\` to be a finite number, got ${describe(priority)}`);
    }
    try {
      this.#scheduler.setPriority(id, priority);
    } catch (error) {
      if (!(error instanceof RangeError || error instanceof TypeError)) throw error;
      throw new ReferenceError(`No promise function with the id "${id}" exists in the queue.`);
    }
  }

  /** Resolves at once when `ready()`, else at the first of `events` after which it is (or any, unless `recheck`). */
  #when(events: readonly EventName[], ready: () => boolean, recheck = false): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = (): void => {
        if (recheck && !ready()) return;
        for (const event of events) this.off(event, listener);
        resolve();
      };
      for (const event of events) this.on(event, listener);
    });
  }

  /**
   * The Scheduler reports each change of the rate limit as it happens;
   * p-queue reports the state once the synchronous step that changed it is
   * over, so a limit begun and ended in one step (an add, then clear())
   * makes no events.
   */
  #rateLimitChanged(): void {
    if (this.#announcing) return;
    this.#announcing = true;
    queueMicrotask(() => {
      this.#announcing = false;
      this.#announceRateLimit();
    });
  }

  #announceRateLimit(): void {
    const limited = this.isRateLimited;
    if (limited === this.#announcedLimited) return;
    this.#announcedLimited = limited;
    this.emit(limited ? 'rateLimit' : 'rateLimitCleared');
  }

  /** @internal Subscribes to the Scheduler events `event` is made from, once. */
  override [LISTENING](event: EventName): void {
    if (event === 'active' || ENDINGS.has(event)) {
      this.#hear('active', () => {
        this.#starts += 1;
        this.emit('active');
      });
    }
    if (ENDINGS.has(event)) {
      this.#hear('completed', (e) => this.#ended('completed', e.result, true));
      this.#hear('failed', (e) => this.#ended('error', e.error, true));
      this.#hear('aborted', (e) => (e.running ? this.#ended('error', e.error, true) : this.#ended()));
    }
  }

  #hear<E extends TaskEventType>(event: E, listener: (event: Extract<TaskEvent, { type: E }>) => void): void {
    if (this.#heard.has(event)) return;
    this.#heard.add(event);
    this.#scheduler.on(event, listener);
  }

  /**
   * A task ended (`ran`: it had started). p-queue's order: its result or
   * error, pendingZero, what starts in its place (or empty and idle), next.
   */
  #ended(event?: 'completed' | 'error', value?: unknown, ran = false): void {
    if (event !== undefined) this.emit(event, value);
    if (ran && this.pending === 0) this.emit('pendingZero');
    const starts = this.#starts;
    // After the Scheduler has started what may start in its place: the
    // queue became empty here only if nothing did.
    queueMicrotask(() => {
      if (this.#starts === starts && this.size === 0) {
        this.emit('empty');
        if (this.pending === 0) this.emit('idle');
      }
      this.emit('next');
    });
  }
}

export { PQueue };
