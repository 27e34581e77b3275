// The broker's public classes.
export { Broker } from './broker.js';
export { Consumer, Message } from './message.js';
export { Queue } from './queue.js';
