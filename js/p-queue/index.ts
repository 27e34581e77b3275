// ferrymq/p-queue: p-queue 9's API on ferrymq's Scheduler.
export { default, PQueue, TimeoutError } from './p-queue.js';
export type { EventEmitter } from './emitter.js';
export type * from './types.js';
