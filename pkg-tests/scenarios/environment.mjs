// What a scenario gets besides the package: where its durable logs go
// (newStorage), a broker on the storage under test (newBroker) and a wait
// for everything queued so far to have run (settled), in Node and in pages.
const IDLE = Symbol.for('ferrymq.idle');
const HOST_CLOCK = Symbol.for('ferrymq.hostClock');
// Taken before any scenario installs its fake clock.
const realSetTimeout = globalThis.setTimeout.bind(globalThis);

/**
 * `storage`: 'memory', or 'durable' for brokers opened on newStorage() (a
 * log, or a server: a broker kept on a server then reads this process's
 * clock there too, so a fake clock moves both), or 'follower' for brokers
 * whose calls go to a leader of their own (in memory) over a MessagePort.
 * `idle` waits for the I/O of every broker made here; the fake clock
 * awaits it between timers (fake-clock.mjs whenIdle).
 */
export function environment({ Broker }, newStorage, storage) {
  const brokers = [];
  const idle = async () => {
    for (const broker of brokers) await broker[IDLE]();
  };
  return {
    newStorage,
    newBroker: async () => {
      let broker;
      if (storage === 'follower') {
        const leader = new Broker();
        brokers.push(leader);
        broker = await Broker.open({ storage: { port: leader.share() } });
      } else broker = storage === 'durable' ? await Broker.open({ storage: newStorage() }) : new Broker();
      broker[HOST_CLOCK]();
      brokers.push(broker);
      return broker;
    },
    settled: async () => {
      await new Promise((resolve) => realSetTimeout(resolve, 0));
      await idle();
    },
    idle,
  };
}
