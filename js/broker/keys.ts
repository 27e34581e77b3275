// Module-private keys shared by the broker's classes. Symbols, so what users
// hold (a Message, a Queue) carries them without exposing them by name.

/** A message's delivery tag in the core. */
export const TAG: unique symbol = Symbol('delivery tag');
/** A queue's id in the core. */
export const QUEUE_ID: unique symbol = Symbol('queue id');
/** The static method that makes a Queue, Message or Consumer: their constructors are private to users. */
export const MAKE: unique symbol = Symbol('make');

/** What `Runtime.settleQuietly` does with a delivery nobody awaits the settling of. */
export const enum Settle {
  Ack,
  /** Back to the queue with its backoff, counted as a failed delivery. */
  Nack,
  /** Back to the queue at once, uncounted (the core's release): it was never handled (an abandoned wait or loop). */
  Release,
}
