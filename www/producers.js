// Producers: each sends to the queue at its own rate, priority and delay.
// Messages get ids we choose (P1-17), so the log can show "sent" before
// send() resolves — the consumer may already have the message by then.
// Every payload says when it is due (sent, plus its delay), so the latency
// chart can leave out the delay a producer asked for.
import { $, clientRow, numberField } from './dom.js';

export class Producers {
  #queue;
  #log;
  #serial = 0;
  #messageSerial = 0;
  paused = false;
  list = new Set();

  constructor(queue, log) {
    this.#queue = queue;
    this.#log = log;
  }

  add({ rate = 4, priority = 0, delayMs = 0 } = {}) {
    const producer = { name: `P${++this.#serial}`, rate, priority, delayMs, timer: 0 };
    const row = clientRow('producer', producer.name, [
      numberField('rate', { name: 'rate', min: 0.2, max: 50, step: 0.2, value: rate, unit: '/s' }, (v) => { producer.rate = v; }),
      numberField('priority', { name: 'priority', min: 0, max: 9, value: priority }, (v) => { producer.priority = v; }),
      numberField('delay', { name: 'delay', min: 0, max: 10000, step: 100, value: delayMs, unit: 'ms' }, (v) => { producer.delayMs = v; }),
    ], () => this.remove(producer));
    producer.row = row;
    $('producers').append(row);
    this.list.add(producer);
    // A chained timeout rather than setInterval, so a rate change applies to the next tick.
    const tick = () => {
      if (!this.paused) this.#tick(producer);
      producer.timer = setTimeout(tick, 1000 / producer.rate);
    };
    producer.timer = setTimeout(tick, 1000 / producer.rate);
    return producer;
  }

  remove(producer) {
    clearTimeout(producer.timer);
    producer.row.remove();
    this.list.delete(producer);
  }

  #nextId(prefix) {
    return `${prefix}-${++this.#messageSerial}`;
  }

  /** Logs "sent" first, then sends; a failed send shows on the message's row. */
  #send(prefix, payload, options, detail) {
    const id = this.#nextId(prefix);
    this.#log.step(id, 'sent', detail);
    this.#queue.send({ ...payload, dueAt: Date.now() + (options.delayMs ?? 0) }, { ...options, id })
      .catch((error) => this.#log.failed(id, error));
    return id;
  }

  #tick({ name, priority, delayMs }) {
    this.#send(name, { from: name }, { priority, delayMs }, delayMs ? `+${delayMs}ms` : priority ? `p${priority}` : '');
  }

  /**
   * Sends one message that makes trouble on purpose: `poison` (every
   * consumer nacks it) or `stall` (its first consumer hangs past the lease).
   * Returns its id.
   */
  trouble(kind) {
    return this.#send(kind === 'poison' ? 'POISON' : 'STALL', { from: kind, [kind]: true }, {}, kind);
  }

  /** Sends `count` messages in one all-or-nothing batch: a spike the charts show. */
  burst(count) {
    const items = Array.from({ length: count }, () => ({ id: this.#nextId('B'), payload: { from: 'burst', dueAt: Date.now() } }));
    for (const { id } of items) this.#log.step(id, 'sent', 'burst');
    this.#queue.sendBatch(items).catch((error) => items.forEach(({ id }) => this.#log.failed(id, error)));
  }
}
