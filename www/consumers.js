// Consumers: each takes messages with its own prefetch, "processes" each for
// a while, then acks it, or nacks it at its failure rate so the queue's
// retries and dead-lettering show. Acks are manual (autoAck: false) so the
// log can show exactly which callback ran.
import { $, clientRow, numberField, sleep } from './dom.js';

export class Consumers {
  #queue;
  #log;
  #serial = 0;
  list = new Set();

  constructor(queue, log) {
    this.#queue = queue;
    this.#log = log;
  }

  add({ workMs = 200, failurePercent = 0, prefetch = 1 } = {}) {
    const consumer = { name: `C${++this.#serial}`, workMs, failurePercent, prefetch, handle: undefined };
    consumer.row = clientRow('consumer', consumer.name, [
      numberField('work', { name: 'work', min: 0, max: 5000, step: 50, value: workMs, unit: 'ms' }, (v) => { consumer.workMs = v; }),
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
    // Its unacked messages go back to the queue at once; their late acks are stale.
    consumer.handle.cancel();
  }

  #subscribe(consumer) {
    consumer.handle?.cancel();
    const handle = this.#queue.consume((message) => this.#process(consumer, message), {
      prefetch: consumer.prefetch,
      autoAck: false,
    });
    consumer.handle = handle;
  }

  async #process(consumer, message) {
    const { id, deliveryCount } = message;
    this.#log.step(id, deliveryCount > 1 ? 'retried' : 'delivered', deliveryCount > 1 ? `${consumer.name} #${deliveryCount}` : consumer.name);
    await sleep(consumer.workMs * (0.5 + Math.random()));
    try {
      if (Math.random() * 100 < consumer.failurePercent) {
        // Logged first: the nack may dead-letter the message, and that
        // event fires before nack() resolves.
        this.#log.step(id, 'nacked', consumer.name);
        await message.nack();
      } else {
        await message.ack();
        this.#log.step(id, 'acked', consumer.name);
      }
    } catch (error) {
      // STALE_DELIVERY: the consumer was removed or re-subscribed while it
      // worked, and the message was handed back; the broker refuses a late
      // ack instead of counting it twice.
      if (error?.code !== 'STALE_DELIVERY') throw error;
      this.#log.step(id, 'returned', consumer.name);
    }
  }
}
