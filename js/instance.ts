// The one WebAssembly instance every broker and scheduler of this context
// shares. A trap (a Rust panic, which aborts) leaves it in an unknown
// state, so after one the instance is dead: brokers and schedulers close
// their pending work with one FerryError (code CLOSED, naming the trap),
// and every later call throws it instead of failing in confusing ways.
// Rust's panic hook reports the panic here (boot.ts installs
// `instanceDied`) before the instance aborts, so noticing costs nothing
// per call.
import { FerryError } from './errors.js';

/** The method a broker runtime or scheduler stops with when the instance dies. */
export const DIED: unique symbol = Symbol('instance died');

/** A broker runtime or scheduler: it stops all its work with `error`. */
export interface Mourner {
  [DIED](error: FerryError): void;
}

let death: FerryError | undefined;
/** Weakly held, so a broker or scheduler nobody closes can still be collected. */
const mourners = new Set<WeakRef<Mourner>>();
let pruneAt = 64;

/** Calls `owner[DIED](error)` if the instance dies (at once if it has). */
export function whenDead(owner: Mourner): void {
  if (death !== undefined) return owner[DIED](death);
  mourners.add(new WeakRef(owner));
  // Forget the collected ones now and then, so the set follows the live owners.
  if (mourners.size >= pruneAt) {
    for (const ref of mourners) if (ref.deref() === undefined) mourners.delete(ref);
    pruneAt = 2 * mourners.size + 64;
  }
}

/** The instance is dead (`reason`: the panic's message). Owners stop from a microtask, outside the dying call. */
export function instanceDied(reason: string): void {
  if (death !== undefined) return;
  const error = new FerryError(
    'CLOSED',
    `ferrymq's WebAssembly instance trapped (${reason}): every broker and scheduler in this context has stopped. This is a bug in ferrymq; please report it.`,
  );
  death = error;
  const owners = [...mourners];
  mourners.clear();
  queueMicrotask(() => {
    for (const ref of owners) ref.deref()?.[DIED](error);
  });
}

/**
 * What an owner puts in place of its core once the instance is dead: every
 * call throws `error`, but `free()`, which has nothing left to free.
 */
export function deadCore<Core extends object>(error: FerryError): Core {
  const fail = (): never => {
    throw error;
  };
  const freed = (): void => {};
  return new Proxy({} as Core, { get: (_, key) => (key === 'free' ? freed : fail) });
}
