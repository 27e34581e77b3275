// A clock a scenario moves by hand, in Node and in pages alike: it stands in
// for Date.now (which ferrymq's wasm core reads as its clock) and for
// setTimeout/clearTimeout (which its host timers use) and setInterval/
// clearInterval (which p-queue uses, for the same tests run against it)
// until uninstalled.
// Time moves only in advance(), timer by timer in deadline order, with every
// promise settled between two, so "not before its delay" and "gone after its
// lease" are decided by the clock, never by how fast the machine is.

/** What else must finish before time moves on: the writes of durable brokers (see whenIdle). */
let idle = async () => {};

/** The environment's wait for its brokers' I/O, which the clock awaits between timers. */
export function whenIdle(wait) {
  idle = wait;
}

/** Installs the clock at `start` (epoch ms); returns { now, advance(ms), uninstall() }. */
function installFakeClock(start = Date.now()) {
  const real = {
    now: Date.now,
    setTimeout: globalThis.setTimeout,
    clearTimeout: globalThis.clearTimeout,
    setInterval: globalThis.setInterval,
    clearInterval: globalThis.clearInterval,
  };
  // Pages refuse setTimeout called with another `this` (Illegal invocation).
  const realSetTimeout = real.setTimeout.bind(globalThis);
  let now = start;
  let next = 0;
  /** id -> { at, fire } */
  const timers = new Map();
  // Everything queued so far has run: one real macrotask later, and every
  // broker's writes done.
  const settled = () => new Promise((resolve) => realSetTimeout(resolve, 0)).then(() => idle());

  Date.now = () => now;
  /** `every`: an interval's period; it is set again each time it fires. */
  const schedule = (fn, ms, args, repeats) => {
    const id = ++next;
    const delay = Math.max(repeats ? 1 : 0, Number(ms) || 0);
    timers.set(id, { at: now + delay, every: repeats ? delay : undefined, fire: () => fn(...args) });
    // Node's timers have ref/unref; nothing here holds a process open anyway.
    return { id, ref: () => {}, unref: () => {}, hasRef: () => false, [Symbol.toPrimitive]: () => id };
  };
  const cancel = (handle) => timers.delete(typeof handle === 'object' ? handle?.id : handle);
  globalThis.setTimeout = (fn, ms = 0, ...args) => schedule(fn, ms, args, false);
  globalThis.setInterval = (fn, ms = 0, ...args) => schedule(fn, ms, args, true);
  globalThis.clearTimeout = cancel;
  globalThis.clearInterval = cancel;

  const due = (until) => {
    let first;
    for (const [id, t] of timers) if (t.at <= until && (first === undefined || t.at < first[1].at)) first = [id, t];
    return first;
  };

  return {
    now: () => now,
    /** Moves time forward by `ms`, firing each timer due on the way at its own time. */
    async advance(ms) {
      const target = now + ms;
      for (;;) {
        await settled();
        const first = due(target);
        if (first === undefined) break;
        const [id, timer] = first;
        if (timer.every === undefined) timers.delete(id);
        now = Math.max(now, timer.at);
        if (timer.every !== undefined) timer.at = now + timer.every;
        timer.fire();
      }
      now = target;
      await settled();
    },
    uninstall() {
      Date.now = real.now;
      globalThis.setTimeout = real.setTimeout;
      globalThis.clearTimeout = real.clearTimeout;
      globalThis.setInterval = real.setInterval;
      globalThis.clearInterval = real.clearInterval;
    },
  };
}

/** Runs `scenario(clock)` on a fake clock, and puts the real one back whatever happens. */
export async function withFakeClock(scenario) {
  const clock = installFakeClock();
  try {
    return await scenario(clock);
  } finally {
    clock.uninstall();
  }
}
