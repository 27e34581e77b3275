// Every bad call, one scenario each: it must fail with the right error class
// or code (argument errors name the argument), and afterwards the broker has
// lost nothing and still does a full send/receive/ack round. Runs in Node
// and in Chromium.
import { deepEqual, equal, ok, rejects } from './assert.mjs';

const argument = (Kind, name) => (e) =>
  e instanceof Kind && e.code === 'INVALID_ARGUMENT' && e.message.includes(name);
const type = (name) => argument(TypeError, name);
const range = (name) => argument(RangeError, name);
const code = (c) => (e) => e?.name === 'FerryError' && e.code === c;

/** Sends one message to `work` and receives it: a live delivery to misuse. */
async function delivery(broker) {
  const work = broker.queue('work');
  await work.send('w');
  return work.receive();
}

const fn = () => {};

// [name, call({ Broker, broker, main }), expected]
const ROWS = [
  ['new Broker with an unknown option', ({ Broker }) => new Broker({ storage: 'memory', nope: 1 }), type('options.')],
  ['new Broker with a non-object', ({ Broker }) => new Broker('fast'), type('options')],
  ['queue without a name', ({ broker }) => broker.queue(), type('name')],
  ['queue with an empty name', ({ broker }) => broker.queue(''), range('name')],
  ['queue with a number for a name', ({ broker }) => broker.queue(42), type('name')],
  ['queue name over 255 bytes', ({ broker }) => broker.queue('q'.repeat(300)), range('name')],
  ['queue name of 200 two-byte characters (400 bytes)', ({ broker }) => broker.queue('é'.repeat(200)), range('name')],
  ['queue name with a lone surrogate', ({ broker }) => broker.queue('q\uD800'), type('name')],
  ['deadLetter with a lone surrogate', ({ broker }) => broker.queue('x', { deadLetter: 'd\uDC00' }), type('options.deadLetter')],
  ['id with a lone surrogate', ({ main }) => main.send('x', { id: 'a\uD801' }), type('options.id')],
  ['id over 255 bytes', ({ main }) => main.send('x', { id: 'é'.repeat(128) }), range('options.id')],
  ['header value with a lone surrogate', ({ main }) => main.send('x', { headers: { h: '\uDFFF' } }), type('options.headers.h')],
  ['routing key with a lone surrogate', ({ broker }) => broker.publish('a.\uD800', 1), type('routingKey')],
  ['routing key over 255 bytes', ({ broker }) => broker.publish('é'.repeat(200), 1), range('routingKey')],
  ['bind to an empty queue name', ({ broker }) => broker.bind('a', ''), range('queueName')],
  ['unbind from a queue name with a lone surrogate', ({ broker }) => broker.unbind('a', '\uD800'), type('queueName')],
  ['request to an empty queue name', ({ broker }) => broker.request('', 1), range('queueName')],
  ['Broker.open without options', ({ Broker }) => Broker.open(), type('options.storage')],
  ['Broker.open without storage', ({ Broker }) => Broker.open({}), type('options.storage')],
  ['maxLength 0', ({ broker }) => broker.queue('x', { maxLength: 0 }), range('options.maxLength')],
  ['maxLength over MAX_SAFE_INTEGER', ({ broker }) => broker.queue('x', { maxLength: 2 ** 53 }), range('options.maxLength')],
  ['deadLetter naming the queue itself', ({ broker }) => broker.queue('x', { deadLetter: 'x' }), range('options.deadLetter')],
  ['maxLength 1.5', ({ broker }) => broker.queue('x', { maxLength: 1.5 }), range('options.maxLength')],
  ['maxLength as a string', ({ broker }) => broker.queue('x', { maxLength: '10' }), type('options.maxLength')],
  ['unknown overflow', ({ broker }) => broker.queue('x', { overflow: 'drop-newest' }), type('options.overflow')],
  ['negative ttlMs', ({ broker }) => broker.queue('x', { ttlMs: -1 }), range('options.ttlMs')],
  ['NaN ttlMs', ({ broker }) => broker.queue('x', { ttlMs: NaN }), range('options.ttlMs')],
  ['Infinity ttlMs', ({ broker }) => broker.queue('x', { ttlMs: Infinity }), range('options.ttlMs')],
  ['zero leaseMs', ({ broker }) => broker.queue('x', { leaseMs: 0 }), range('options.leaseMs')],
  ['sub-millisecond leaseMs', ({ broker }) => broker.queue('x', { leaseMs: 0.5 }), range('options.leaseMs')],
  ['zero maxDeliveries', ({ broker }) => broker.queue('x', { maxDeliveries: 0 }), range('options.maxDeliveries')],
  ['unknown backoff type', ({ broker }) => broker.queue('x', { backoff: { type: 'linear', baseMs: 1 } }), type('options.backoff.type')],
  ['backoff without baseMs', ({ broker }) => broker.queue('x', { backoff: { type: 'fixed' } }), type('options.backoff.baseMs')],
  ['negative backoff base', ({ broker }) => broker.queue('x', { backoff: { type: 'fixed', baseMs: -5 } }), range('options.backoff.baseMs')],
  ['deadLetter as a number', ({ broker }) => broker.queue('x', { deadLetter: 5 }), type('options.deadLetter')],
  ['zero dedupWindowMs', ({ broker }) => broker.queue('x', { dedupWindowMs: 0 }), range('options.dedupWindowMs')],
  ['durable as a string', ({ broker }) => broker.queue('x', { durable: 'yes' }), type('options.durable')],
  ['unknown queue option', ({ broker }) => broker.queue('x', { lease: 5 }), type('options.lease')],
  ['re-declaring with other options', ({ broker }) => broker.queue('main', { leaseMs: 1 }), code('INVALID_ARGUMENT')],
  ['priority 10', ({ main }) => main.send('x', { priority: 10 }), range('options.priority')],
  ['priority -1', ({ main }) => main.send('x', { priority: -1 }), range('options.priority')],
  ['priority as a string', ({ main }) => main.send('x', { priority: '5' }), type('options.priority')],
  ['negative delayMs', ({ main }) => main.send('x', { delayMs: -1 }), range('options.delayMs')],
  ['NaN delayMs', ({ main }) => main.send('x', { delayMs: NaN }), range('options.delayMs')],
  ['zero message ttlMs', ({ main }) => main.send('x', { ttlMs: 0 }), range('options.ttlMs')],
  ['a header that is not a string', ({ main }) => main.send('x', { headers: { n: 1 } }), type('options.headers.n')],
  ['headers as a string', ({ main }) => main.send('x', { headers: 'h' }), type('options.headers')],
  ['empty id', ({ main }) => main.send('x', { id: '' }), range('options.id')],
  ['numeric id', ({ main }) => main.send('x', { id: 5 }), type('options.id')],
  ['send options as a string', ({ main }) => main.send('x', 'urgent'), type('options')],
  ['unknown send option', ({ main }) => main.send('x', { delay: 5 }), type('options.delay')],
  ['sendBatch of a non-array', ({ main }) => main.sendBatch('x'), type('items')],
  ['sendBatch item without payload', ({ main }) => main.sendBatch([{ payload: 1 }, { value: 2 }]), type('items[1]')],
  ['sendBatch with one bad item', ({ main }) => main.sendBatch([{ payload: 1 }, { payload: 2, priority: 11 }]), range('items[1].priority')],
  ['sendBatch over the batch limit', ({ main }) => main.sendBatch(new Array(100_001).fill({ payload: 0 })), range('items')],
  ['negative waitMs', ({ main }) => main.receive({ waitMs: -1 }), range('options.waitMs')],
  ['Infinity waitMs', ({ main }) => main.receive({ waitMs: Infinity }), range('options.waitMs')],
  ['signal that is not an AbortSignal', ({ main }) => main.receive({ signal: 'stop' }), type('options.signal')],
  ['receiveBatch(0)', ({ main }) => main.receiveBatch(0), range('max')],
  ['receiveBatch(1.5)', ({ main }) => main.receiveBatch(1.5), range('max')],
  ['consume without a function', ({ main }) => main.consume('handler'), type('handler')],
  ['consume with prefetch 0', ({ main }) => main.consume(fn, { prefetch: 0 }), range('options.prefetch')],
  ['consume with autoAck as a string', ({ main }) => main.consume(fn, { autoAck: 'yes' }), type('options.autoAck')],
  ['nack with a negative delay', async ({ broker }) => (await delivery(broker)).nack({ delayMs: -1 }), range('options.delayMs')],
  ['nack with requeue as a string', async ({ broker }) => (await delivery(broker)).nack({ requeue: 'no' }), type('options.requeue')],
  ['extendLease by a negative time', async ({ broker }) => (await delivery(broker)).extendLease(-5), range('ms')],
  ['a second ack', async ({ broker }) => {
    const message = await delivery(broker);
    await message.ack();
    return message.ack();
  }, code('STALE_DELIVERY')],
  ['nack after ack', async ({ broker }) => {
    const message = await delivery(broker);
    await message.ack();
    return message.nack();
  }, code('STALE_DELIVERY')],
  ['reply to a message that is not a request', async ({ broker }) => (await delivery(broker)).reply('?'), code('INVALID_ARGUMENT')],
  ['bind with a numeric pattern', ({ broker }) => broker.bind(5, 'main'), type('pattern')],
  ['bind with a malformed pattern', ({ broker }) => broker.bind('a.b*', 'main'), code('INVALID_ARGUMENT')],
  ['publish without a routing key', ({ broker }) => broker.publish(undefined, 1), type('routingKey')],
  ['request with a zero timeout', ({ broker }) => broker.request('main', 1, { timeoutMs: 0 }), range('options.timeoutMs')],
  ['listening to an unknown event', ({ broker }) => broker.on('message', fn), type('event')],
  ['listening with a non-function', ({ broker }) => broker.on('error', 'log'), type('listener')],
  ['a message of a closed broker', async ({ Broker }) => {
    const other = new Broker();
    const message = await delivery(other);
    await other.close();
    return message.ack();
  }, code('CLOSED')],
];

export const scenarios = Object.fromEntries(
  ROWS.map(([name, call, expected]) => [
    name,
    async (ferrymq) => {
      const broker = new ferrymq.Broker();
      const main = broker.queue('main');
      await main.send('kept', { id: 'kept' });
      await rejects((async () => call({ ...ferrymq, broker, main }))(), expected, name);
      const stats = main.stats();
      deepEqual([stats.ready, stats.inFlight, stats.delayed], [1, 0, 0], 'nothing added, nothing lost');
      const kept = await main.receive();
      equal(kept.id, 'kept');
      await kept.ack();
      await main.send('round');
      const round = await main.receive();
      equal(round.payload, 'round');
      await round.ack();
      ok((await main.receive()) === null);
      await broker.close();
    },
  ]),
);
