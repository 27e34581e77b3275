// Every bad call, one scenario each: it must fail with the right error class
// or code (argument errors name the argument), and afterwards the broker has
// lost nothing and still does a full send/receive/ack round. Runs in Node
// and in Chromium.
import { deepEqual, equal, ok, rejects, throws } from './assert.mjs';

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

// A method that returns a promise must reject, never throw; the others
// (constructors, queue, bind, unbind, on, consume, extendLease) throw at once.
const THROWS = 'throws';
const REJECTS = 'rejects';

// [name, call({ Broker, broker, main, message }), expected, THROWS | REJECTS, given?(ctx)]
// `message` is a live delivery of queue `work`; `given` prepares the call.
const ROWS = [
  ['new Broker with an unknown option', ({ Broker }) => new Broker({ storage: 'memory', nope: 1 }), type('options.'), THROWS],
  ['new Broker with a non-object', ({ Broker }) => new Broker('fast'), type('options'), THROWS],
  ['queue without a name', ({ broker }) => broker.queue(), type('name'), THROWS],
  ['queue with an empty name', ({ broker }) => broker.queue(''), range('name'), THROWS],
  ['queue with a number for a name', ({ broker }) => broker.queue(42), type('name'), THROWS],
  ['queue name over 255 bytes', ({ broker }) => broker.queue('q'.repeat(300)), range('name'), THROWS],
  ['queue name of 200 two-byte characters (400 bytes)', ({ broker }) => broker.queue('é'.repeat(200)), range('name'), THROWS],
  ['queue name with a lone surrogate', ({ broker }) => broker.queue('q\uD800'), type('name'), THROWS],
  ['deadLetter with a lone surrogate', ({ broker }) => broker.queue('x', { deadLetter: 'd\uDC00' }), type('options.deadLetter'), THROWS],
  ['id with a lone surrogate', ({ main }) => main.send('x', { id: 'a\uD801' }), type('options.id'), REJECTS],
  ['id over 255 bytes', ({ main }) => main.send('x', { id: 'é'.repeat(128) }), range('options.id'), REJECTS],
  ['header value with a lone surrogate', ({ main }) => main.send('x', { headers: { h: '\uDFFF' } }), type('options.headers.h'), REJECTS],
  ['routing key with a lone surrogate', ({ broker }) => broker.publish('a.\uD800', 1), type('routingKey'), REJECTS],
  ['routing key over 255 bytes', ({ broker }) => broker.publish('é'.repeat(200), 1), range('routingKey'), REJECTS],
  ['bind to an empty queue name', ({ broker }) => broker.bind('a', ''), range('queueName'), THROWS],
  ['unbind from a queue name with a lone surrogate', ({ broker }) => broker.unbind('a', '\uD800'), type('queueName'), THROWS],
  ['bind to a queue name over 255 bytes', ({ broker }) => broker.bind('a', 'q'.repeat(256)), range('queueName'), THROWS],
  ['request to an empty queue name', ({ broker }) => broker.request('', 1), range('queueName'), REJECTS],
  ['Broker.open without options', ({ Broker }) => Broker.open(), type('options.storage'), REJECTS],
  ['Broker.open without storage', ({ Broker }) => Broker.open({}), type('options.storage'), REJECTS],
  ['maxLength 0', ({ broker }) => broker.queue('x', { maxLength: 0 }), range('options.maxLength'), THROWS],
  ['maxLength over MAX_SAFE_INTEGER', ({ broker }) => broker.queue('x', { maxLength: 2 ** 53 }), range('options.maxLength'), THROWS],
  ['deadLetter naming the queue itself', ({ broker }) => broker.queue('x', { deadLetter: 'x' }), range('options.deadLetter'), THROWS],
  ['maxLength 1.5', ({ broker }) => broker.queue('x', { maxLength: 1.5 }), range('options.maxLength'), THROWS],
  ['maxLength as a string', ({ broker }) => broker.queue('x', { maxLength: '10' }), type('options.maxLength'), THROWS],
  ['unknown overflow', ({ broker }) => broker.queue('x', { overflow: 'drop-newest' }), type('options.overflow'), THROWS],
  ['negative ttlMs', ({ broker }) => broker.queue('x', { ttlMs: -1 }), range('options.ttlMs'), THROWS],
  ['NaN ttlMs', ({ broker }) => broker.queue('x', { ttlMs: NaN }), range('options.ttlMs'), THROWS],
  ['Infinity ttlMs', ({ broker }) => broker.queue('x', { ttlMs: Infinity }), range('options.ttlMs'), THROWS],
  ['zero leaseMs', ({ broker }) => broker.queue('x', { leaseMs: 0 }), range('options.leaseMs'), THROWS],
  ['sub-millisecond leaseMs', ({ broker }) => broker.queue('x', { leaseMs: 0.5 }), range('options.leaseMs'), THROWS],
  ['zero maxDeliveries', ({ broker }) => broker.queue('x', { maxDeliveries: 0 }), range('options.maxDeliveries'), THROWS],
  ['maxDeliveries 2^32', ({ broker }) => broker.queue('x', { maxDeliveries: 2 ** 32 }), range('options.maxDeliveries'), THROWS],
  ['deadLetter over 255 bytes', ({ broker }) => broker.queue('x', { deadLetter: 'd'.repeat(256) }), range('options.deadLetter'), THROWS],
  ['NaN backoff maxMs', ({ broker }) => broker.queue('x', { backoff: { type: 'fixed', baseMs: 1, maxMs: NaN } }), range('options.backoff.maxMs'), THROWS],
  ['unknown backoff type', ({ broker }) => broker.queue('x', { backoff: { type: 'linear', baseMs: 1 } }), type('options.backoff.type'), THROWS],
  ['backoff without baseMs', ({ broker }) => broker.queue('x', { backoff: { type: 'fixed' } }), type('options.backoff.baseMs'), THROWS],
  ['negative backoff base', ({ broker }) => broker.queue('x', { backoff: { type: 'fixed', baseMs: -5 } }), range('options.backoff.baseMs'), THROWS],
  ['deadLetter as a number', ({ broker }) => broker.queue('x', { deadLetter: 5 }), type('options.deadLetter'), THROWS],
  ['zero dedupWindowMs', ({ broker }) => broker.queue('x', { dedupWindowMs: 0 }), range('options.dedupWindowMs'), THROWS],
  ['durable as a string', ({ broker }) => broker.queue('x', { durable: 'yes' }), type('options.durable'), THROWS],
  ['unknown queue option', ({ broker }) => broker.queue('x', { lease: 5 }), type('options.lease'), THROWS],
  ['re-declaring with other options', ({ broker }) => broker.queue('main', { leaseMs: 1 }), code('INVALID_ARGUMENT'), THROWS],
  ['priority 10', ({ main }) => main.send('x', { priority: 10 }), range('options.priority'), REJECTS],
  ['priority -1', ({ main }) => main.send('x', { priority: -1 }), range('options.priority'), REJECTS],
  ['priority as a string', ({ main }) => main.send('x', { priority: '5' }), type('options.priority'), REJECTS],
  ['negative delayMs', ({ main }) => main.send('x', { delayMs: -1 }), range('options.delayMs'), REJECTS],
  ['NaN delayMs', ({ main }) => main.send('x', { delayMs: NaN }), range('options.delayMs'), REJECTS],
  ['zero message ttlMs', ({ main }) => main.send('x', { ttlMs: 0 }), range('options.ttlMs'), REJECTS],
  ['a header that is not a string', ({ main }) => main.send('x', { headers: { n: 1 } }), type('options.headers.n'), REJECTS],
  ['headers as a string', ({ main }) => main.send('x', { headers: 'h' }), type('options.headers'), REJECTS],
  ['empty id', ({ main }) => main.send('x', { id: '' }), range('options.id'), REJECTS],
  ['numeric id', ({ main }) => main.send('x', { id: 5 }), type('options.id'), REJECTS],
  ['send options as a string', ({ main }) => main.send('x', 'urgent'), type('options'), REJECTS],
  ['unknown send option', ({ main }) => main.send('x', { delay: 5 }), type('options.delay'), REJECTS],
  ['sendBatch of a non-array', ({ main }) => main.sendBatch('x'), type('items'), REJECTS],
  ['sendBatch item without payload', ({ main }) => main.sendBatch([{ payload: 1 }, { value: 2 }]), type('items[1]'), REJECTS],
  ['sendBatch with one bad item', ({ main }) => main.sendBatch([{ payload: 1 }, { payload: 2, priority: 11 }]), range('items[1].priority'), REJECTS],
  ['sendBatch over the batch limit', ({ main }) => main.sendBatch(new Array(100_001).fill({ payload: 0 })), range('items'), REJECTS],
  ['negative waitMs', ({ main }) => main.receive({ waitMs: -1 }), range('options.waitMs'), REJECTS],
  ['Infinity waitMs', ({ main }) => main.receive({ waitMs: Infinity }), range('options.waitMs'), REJECTS],
  ['signal that is not an AbortSignal', ({ main }) => main.receive({ signal: 'stop' }), type('options.signal'), REJECTS],
  ['receiveBatch(0)', ({ main }) => main.receiveBatch(0), range('max'), REJECTS],
  ['receiveBatch(1.5)', ({ main }) => main.receiveBatch(1.5), range('max'), REJECTS],
  ['consume without a function', ({ main }) => main.consume('handler'), type('handler'), THROWS],
  ['consume with prefetch 0', ({ main }) => main.consume(fn, { prefetch: 0 }), range('options.prefetch'), THROWS],
  ['consume with prefetch 65536', ({ main }) => main.consume(fn, { prefetch: 65_536 }), range('options.prefetch'), THROWS],
  ['consume with autoAck as a string', ({ main }) => main.consume(fn, { autoAck: 'yes' }), type('options.autoAck'), THROWS],
  ['consume with rateLimit as a number', ({ main }) => main.consume(fn, { rateLimit: 5 }), type('options.rateLimit'), THROWS],
  ['consume with rateLimit max 0', ({ main }) => main.consume(fn, { rateLimit: { max: 0, intervalMs: 1 } }), range('options.rateLimit.max'), THROWS],
  ['consume with rateLimit max 2^32', ({ main }) => main.consume(fn, { rateLimit: { max: 2 ** 32, intervalMs: 1 } }), range('options.rateLimit.max'), THROWS],
  ['consume with rateLimit max 1.5', ({ main }) => main.consume(fn, { rateLimit: { max: 1.5, intervalMs: 1 } }), range('options.rateLimit.max'), THROWS],
  ['consume with rateLimit without intervalMs', ({ main }) => main.consume(fn, { rateLimit: { max: 1 } }), type('options.rateLimit.intervalMs'), THROWS],
  ['consume with rateLimit intervalMs 0', ({ main }) => main.consume(fn, { rateLimit: { max: 1, intervalMs: 0 } }), range('options.rateLimit.intervalMs'), THROWS],
  ['consume with an unknown rateLimit key', ({ main }) => main.consume(fn, { rateLimit: { max: 1, intervalMs: 1, burst: 2 } }), type('options.rateLimit.burst'), THROWS],
  ['consume with an unknown rateLimit window', ({ main }) => main.consume(fn, { rateLimit: { max: 1, intervalMs: 1, window: 'leaky' } }), range('options.rateLimit.window'), THROWS],
  ['consume with a sliding rateLimit that carries over', ({ main }) => main.consume(fn, { rateLimit: { max: 1, intervalMs: 1, carryover: true } }), range('options.rateLimit.carryover'), THROWS],
  ['consume with timeoutMs 0', ({ main }) => main.consume(fn, { timeoutMs: 0 }), range('options.timeoutMs'), THROWS],
  ['consume with a negative timeoutMs', ({ main }) => main.consume(fn, { timeoutMs: -1 }), range('options.timeoutMs'), THROWS],
  ['consume with timeoutMs as a string', ({ main }) => main.consume(fn, { timeoutMs: '5' }), type('options.timeoutMs'), THROWS],
  ['nack with a negative delay', ({ message }) => message.nack({ delayMs: -1 }), range('options.delayMs'), REJECTS],
  ['nack with requeue as a string', ({ message }) => message.nack({ requeue: 'no' }), type('options.requeue'), REJECTS],
  ['extendLease by a negative time', ({ message }) => message.extendLease(-5), range('ms'), THROWS],
  ['a second ack', ({ message }) => message.ack(), code('STALE_DELIVERY'), REJECTS, ({ message }) => message.ack()],
  ['nack after ack', ({ message }) => message.nack(), code('STALE_DELIVERY'), REJECTS, ({ message }) => message.ack()],
  ['reply to a message that is not a request', ({ message }) => message.reply('?'), code('INVALID_ARGUMENT'), REJECTS],
  ['bind with a numeric pattern', ({ broker }) => broker.bind(5, 'main'), type('pattern'), THROWS],
  ['bind with a malformed pattern', ({ broker }) => broker.bind('a.b*', 'main'), code('INVALID_ARGUMENT'), THROWS],
  ['publish without a routing key', ({ broker }) => broker.publish(undefined, 1), type('routingKey'), REJECTS],
  ['request with a zero timeout', ({ broker }) => broker.request('main', 1, { timeoutMs: 0 }), range('options.timeoutMs'), REJECTS],
  ['listening to an unknown event', ({ broker }) => broker.on('message', fn), type('event'), THROWS],
  ['listening with a non-function', ({ broker }) => broker.on('error', 'log'), type('listener'), THROWS],
  ['a message of a closed broker', ({ message }) => message.ack(), code('CLOSED'), REJECTS, async (ctx) => {
    const other = new ctx.Broker();
    ctx.message = await delivery(other);
    await other.close();
  }],
];

export const scenarios = Object.fromEntries(
  ROWS.map(([name, call, expected, how, given]) => [
    name,
    async (ferrymq, { newBroker }) => {
      const broker = await newBroker();
      const main = broker.queue('main');
      await main.send('kept', { id: 'kept' });
      const ctx = { ...ferrymq, broker, main, message: await delivery(broker) };
      await given?.(ctx);
      if (how === THROWS) {
        throws(() => call(ctx), expected, name);
      } else {
        let result;
        try {
          result = call(ctx);
        } catch (error) {
          throw new Error(`${name}: threw synchronously instead of returning a rejected promise: ${error}`);
        }
        ok(result instanceof Promise, `${name}: returns a promise`);
        await rejects(result, expected, name);
      }
      const stats = await main.fetchStats();
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
