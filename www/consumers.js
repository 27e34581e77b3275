// Consumers: each takes messages with its own prefetch, "processes" each for
// a while, then acks it, or nacks it at its failure rate so the queue's
// retries and dead-lettering show. Acks are manual (autoAck: false) so the
// log can show exactly which callback ran. Two kinds of message make
// trouble on purpose: a poison message every consumer nacks, and a stalling
// one whose first consumer hangs past its lease.
import { $, clientRow, numberField, sleep } from './dom.js';

export class Consumers {
  #queue;
  #log;
  #leaseMs;
  #latencies;
  #serial = 0;
  /** Message ids being nacked or handed back by a removed consumer: their redelivery is no lease expiry. */
  #returning = new Set();
  /** Message id -> the consumer that last got it, to name it when its lease expires. */
  #holders = new Map();
  list = new Set();

  constructor(queue, log, { leaseMs, latencies }) {
    this.#queue = queue;
    this.#log = log;
    this.#leaseMs = leaseMs;
    this.#latencies = latencies;
  }

  add({ workMs = 200, failurePercent = 0, prefetch = 1 } = {}) {
    const consumer = { name: `C${++this.#serial}`, workMs, failurePercent, prefetch, handle: undefined, working: new Set() };
    consumer.row = clientRow('consumer', consumer.name, [
      numberField('work', { name: 'work', min: 0, max: 10000, step: 50, value: workMs, unit: 'ms' }, (v) => { consumer.workMs = v; }),
      numberField('fails', { name: 'failure', min: 0, max: 100, step: 5, value: failurePercent, unit: '%' }, (v) => { consumer.failurePercent = v; }),
      // Prefetch is fixed per consume() call, so a change re-subscribes.
      numberField('prefetch', { name: 'prefetch', min: 1, max: 32, value: prefetch }, (v) => {
        consumer.prefetch = v;
        this.#subscribe(consumer);
      }),
    ], () => this.remove(consumer));
    $('consumers').append(consumer.row);
    this.list.add(consumer);
    this.#subscribe(consumer);
    return consumer;
  }

  remove(consumer) {
    this.list.delete(consumer);
    consumer.row.remove();
    this.#cancel(consumer);
  }

  /**
   * The broker's 'redelivered' event: a message went back to the queue. A
   * nack or a removed consumer says so in the log already; anything else is
   * a consumer that held it past its lease.
   */
  redelivered(id) {
    if (this.#returning.delete(id)) return;
    this.#log.step(id, 'lease', `${this.#holders.get(id) ?? 'a consumer'} held it ${this.#leaseMs / 1000} s`);
  }

  #cancel(consumer) {
    if (consumer.handle === undefined) return;
    // Its unacked messages go back to the queue at once; their late acks are stale.
    for (const id of consumer.working) this.#returning.add(id);
    consumer.handle.cancel();
  }

  #subscribe(consumer) {
    this.#cancel(consumer);
    consumer.handle = this.#queue.consume((message) => this.#process(consumer, message), {
      prefetch: consumer.prefetch,
      autoAck: false,
    });
  }

  async #process(consumer, message) {
    const { id, deliveryCount, payload } = message;
    this.#holders.set(id, consumer.name);
    consumer.working.add(id);
    this.#log.step(id, deliveryCount > 1 ? 'retried' : 'delivered', deliveryCount > 1 ? `${consumer.name} #${deliveryCount}` : consumer.name);
    // A stalling message hangs its first consumer past the lease, as a
    // crashed or stuck worker would; the broker hands it to another.
    await sleep(payload.stall && deliveryCount === 1 ? this.#leaseMs + 2000 : consumer.workMs * (0.5 + Math.random()));
    try {
      if (payload.poison || Math.random() * 100 < consumer.failurePercent) {
        // Logged first: the nack may dead-letter the message, and that
        // event fires before nack() resolves.
        this.#log.step(id, 'nacked', payload.poison ? `${consumer.name}: poison` : consumer.name);
        this.#returning.add(id);
        await message.nack().finally(() => this.#returning.delete(id));
      } else {
        await message.ack();
        this.#latencies.record(Date.now(), Date.now() - payload.dueAt);
        this.#log.step(id, 'acked', consumer.name);
      }
    } catch (error) {
      // STALE_DELIVERY: the lease expired or the consumer was removed or
      // re-subscribed while it worked, and the message was handed back; the
      // broker refuses a late ack instead of counting it twice.
      if (error?.code !== 'STALE_DELIVERY') throw error;
      this.#log.step(id, 'returned', consumer.name);
    } finally {
      consumer.working.delete(id);
      if (this.#holders.get(id) === consumer.name) this.#holders.delete(id);
    }
  }
}
