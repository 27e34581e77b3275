// The public surface, identical in every entry point.
export { Broker, Consumer, Message, Queue } from './broker/index.js';
export { FerryError, type ErrorCode } from './errors.js';
export type * from './types.js';
export { Scheduler } from './scheduler/scheduler.js';
