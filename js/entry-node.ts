// Node entry, bundled to CommonJS: instantiates the wasm synchronously, so
// both require() and import get a ready module with no init() call.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initSync } from '../pkg/ferrymq.js';
import { boot } from './boot.js';
import { RedisRuntime } from './redis/runtime.js';
import { Host } from './share/host.js';
import { PortRuntime } from './share/follower.js';
import { registerRemote, registerSharing, registerStorage } from './storage.js';
import { openFile } from './storage-file.js';

boot(initSync({ module: readFileSync(join(__dirname, 'ferrymq_bg.wasm')) }));
registerStorage('file', openFile);
registerRemote(RedisRuntime.open);
registerSharing({ host: (runtime) => new Host(runtime), follower: PortRuntime.open });

export * from './api.js';
