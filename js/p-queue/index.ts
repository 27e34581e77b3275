// ferrymq/p-queue: p-queue 9's API on ferrymq's Scheduler.
export { default, PQueue } from './p-queue.js';
export { TimeoutError } from './timeout-error.js';
export type { EventEmitter, Listener } from './emitter.js';
export type * from './types.js';
