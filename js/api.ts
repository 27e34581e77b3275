// The public surface, identical in every entry point.
export { Broker, Consumer, Message, Queue } from './broker/index.js';
export { FerryError } from './errors.js';
export { Scheduler } from './scheduler.js';
