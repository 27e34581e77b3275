// The Scheduler's public types, taken from the hand-written contract users
// compile against (js/index.d.ts), so the implementation is checked against
// it. When the public .d.ts is emitted from this code instead, their
// declarations move here.
export type {
  Backoff, RateLimit, RunningTask, SchedulerOptions, Task, TaskContext, TaskEvent, TaskEventType, TaskOptions,
} from '../index.js';
