// The floor for the broker rows: the same delivery work in plain JavaScript
// with no leases, timers, ids or validation: a ready array, a Map of in-flight
// deliveries keyed by tag, prefetch-limited delivery from a microtask, and
// Promise-returning send/ack like ferrymq's. Anything ferrymq spends above
// this is the cost of its features and of crossing into wasm.

class PlainMessage {
  constructor(queue, tag, payload) {
    this.queue = queue;
    this.tag = tag;
    this.payload = payload;
  }

  async ack() {
    this.queue.settle(this.tag);
  }
}

export class PlainQueue {
  #ready = [];
  #head = 0;
  #inFlight = new Map();
  #nextTag = 1;
  #consumer = undefined;
  #scheduled = false;

  async send(payload) {
    this.#ready.push(payload);
    this.#schedule();
  }

  consume(handler, { prefetch = 1 } = {}) {
    this.#consumer = { handler, prefetch };
    this.#schedule();
  }

  /** Dequeue without a consumer: the message stays in flight until acked. */
  async receive() {
    return this.#take();
  }

  get length() {
    return this.#ready.length - this.#head;
  }

  settle(tag) {
    this.#inFlight.delete(tag);
    this.#schedule();
  }

  #take() {
    if (this.#head === this.#ready.length) return null;
    const payload = this.#ready[this.#head];
    this.#ready[this.#head++] = undefined;
    // Drop the consumed prefix now and then instead of shift()ing each time.
    if (this.#head > 4096 && this.#head * 2 > this.#ready.length) {
      this.#ready = this.#ready.slice(this.#head);
      this.#head = 0;
    }
    const message = new PlainMessage(this, this.#nextTag++, payload);
    this.#inFlight.set(message.tag, message);
    return message;
  }

  // Handlers run from a microtask, as in ferrymq, never inside send() or ack().
  #schedule() {
    if (this.#scheduled || this.#consumer === undefined) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      const { handler, prefetch } = this.#consumer;
      while (this.#inFlight.size < prefetch) {
        const message = this.#take();
        if (message === null) break;
        handler(message);
      }
    });
  }
}
