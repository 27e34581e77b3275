// The public surface, identical in every entry point.
export { Broker, Consumer, Message, Queue } from './broker.js';
export { FerryError } from './errors.js';
export { Scheduler } from './scheduler.js';
