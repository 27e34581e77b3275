// The public Scheduler where the entry points import it; it lives in scheduler/.
export { Scheduler } from './scheduler/scheduler.js';
