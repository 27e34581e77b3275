// The demo drives one producer and one consumer through a ferrymq queue and
// writes every callback to the log, newest first.
import { Broker } from 'ferrymq';

const $ = (id) => document.getElementById(id);
const LOG_LIMIT = 200;

const broker = new Broker();
const orders = broker.queue('orders');
const counts = { sent: 0, acked: 0 };

function log(kind, text) {
  const item = document.createElement('li');
  item.className = kind;
  item.textContent = `${new Date().toLocaleTimeString()}  ${kind.padEnd(9)} ${text}`;
  $('log').prepend(item);
  $('log').children[LOG_LIMIT]?.remove();
}

function render() {
  $('sent').textContent = counts.sent;
  $('acked').textContent = counts.acked;
  $('in-flight').textContent = counts.sent - counts.acked;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

orders.consume(async (message) => {
  log('delivered', `#${message.id} ${JSON.stringify(message.payload)} (delivery ${message.deliveryCount})`);
  await sleep(Number($('work').value));
  await message.ack();
  counts.acked++;
  log('acked', `#${message.id}`);
  render();
}, { autoAck: false });

let producing = true;
let orderNumber = 0;
async function produce() {
  while (true) {
    if (producing) {
      const payload = { order: ++orderNumber, sku: `SKU-${1 + (orderNumber % 7)}` };
      // The consumer may get the message before send() resolves, so the log
      // line goes first, under an id we choose.
      const id = `order-${orderNumber}`;
      log('sent', `#${id} ${JSON.stringify(payload)}`);
      counts.sent++;
      render();
      await orders.send(payload, { id });
    }
    await sleep(Number($('interval').value) || 400);
  }
}

$('toggle-producer').addEventListener('click', (event) => {
  producing = !producing;
  event.target.textContent = producing ? 'Pause producer' : 'Resume producer';
});

render();
produce();
