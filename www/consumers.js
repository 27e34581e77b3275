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
  /**
   * Deliveries (`id#deliveryCount`) being nacked or handed back by a removed
   * consumer: the broker's 'redelivered' or 'dead-letter' event that
   * follows is no lease expiry.
   */
  #returning = new Set();
  list = new Set();

  constructor(queue, log, { leaseMs, latencies }) {
    this.#queue = queue;
    this.#log = log;
    this.#leaseMs = leaseMs;
    this.#latencies = latencies;
  }

  add({ workMs = 200, failurePercent = 0, prefetch = 1 } = {}) {
    // `working`: the deliveries (`id#deliveryCount`) its handler holds.
    const consumer = { name: `C${++this.#serial}`, workMs, failurePercent, prefetch, handle: undefined, working: new Map() };
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
    this.#cancel(consumer, 'removed');
  }

  /**
   * The broker's 'redelivered' event: a message went back to the queue. A
   * nack or a removed consumer says so in the log already; anything else is
   * a consumer that held it past its lease.
   */
  redelivered({ id, deliveryCount }) {
    if (!this.#returning.delete(`${id}#${deliveryCount}`)) this.#leaseExpired(id);
  }

  /**
   * The broker's 'dead-letter' event. A delivery limit reached by no nack
   * and no removed consumer is a lease that expired on the last delivery.
   */
  deadLettered({ id, reason, deadLetterQueue }) {
    const returning = [...this.#returning].filter((key) => key.startsWith(`${id}#`));
    for (const key of returning) this.#returning.delete(key);
    if (reason === 'delivery-limit' && returning.length === 0) this.#leaseExpired(id);
    this.#log.step(id, 'dead', deadLetterQueue === null ? `${reason}, dropped` : `${reason} → ${deadLetterQueue}`);
  }

  #leaseExpired(id) {
    // The consumer whose lease ran out still holds the delivery: it answers late, if ever.
    const holder = [...this.list].find((consumer) => [...consumer.working.values()].includes(id));
    this.#log.step(id, 'lease', `${holder?.name ?? 'a consumer'} held it ${this.#leaseMs / 1000} s`);
  }

  #cancel(consumer, why) {
    if (consumer.handle === undefined) return;
    // Its unanswered messages go back to the queue at once (those whose
    // lease has not expired meanwhile); their late answers are stale.
    for (const [key, id] of consumer.working) {
      this.#returning.add(key);
      this.#log.step(id, 'released', `${consumer.name} ${why}`);
    }
    consumer.handle.cancel();
  }

  #subscribe(consumer) {
    this.#cancel(consumer, 're-subscribed');
    consumer.handle = this.#queue.consume((message) => this.#process(consumer, message), {
      prefetch: consumer.prefetch,
      autoAck: false,
    });
  }

  async #process(consumer, message) {
    const { id, deliveryCount, payload } = message;
    const key = `${id}#${deliveryCount}`;
    consumer.working.set(key, id);
    this.#log.step(id, deliveryCount > 1 ? 'retried' : 'delivered', deliveryCount > 1 ? `${consumer.name} #${deliveryCount}` : consumer.name);
    // A stalling message hangs its first consumer past the lease, as a
    // crashed or stuck worker would; the broker redelivers it (maybe to
    // this same consumer: the expired lease freed its slot), and the ack
    // that comes in the end is too late.
    const stalled = payload.stall && deliveryCount === 1;
    await sleep(stalled ? this.#leaseMs + 2000 : consumer.workMs * (0.5 + Math.random()));
    // Answered from here on: removing the consumer now hands nothing back.
    consumer.working.delete(key);
    let answer = 'ack';
    try {
      if (payload.poison || (!stalled && Math.random() * 100 < consumer.failurePercent)) {
        answer = 'nack';
        // Logged first: the nack may dead-letter the message, and that
        // event fires before nack() resolves.
        this.#log.step(id, 'nacked', payload.poison ? `${consumer.name}: poison` : consumer.name);
        this.#returning.add(key);
        await message.nack().finally(() => this.#returning.delete(key));
      } else {
        await message.ack();
        const now = Date.now();
        this.#latencies.record(now, now - payload.dueAt);
        this.#log.step(id, 'acked', consumer.name);
      }
    } catch (error) {
      // STALE_DELIVERY: the lease expired or the consumer was removed or
      // re-subscribed while it worked, and the message was handed back; the
      // broker refuses a late ack instead of counting it twice.
      if (error?.code !== 'STALE_DELIVERY') throw error;
      this.#log.step(id, 'returned', `${consumer.name}'s ${answer}`);
    }
  }
}
