// Bundled by Vite from the installed package: the same import as anywhere.
import { Broker } from 'ferrymq';

const broker = new Broker();
const queue = broker.queue('bundled');
await queue.send('through vite');
const message = await queue.receive();
await message.ack();
document.body.dataset.result = message.payload;
