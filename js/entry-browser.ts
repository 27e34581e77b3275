// Browser, worker and bundler entry: top-level await instantiates the wasm
// next to this file, so importers get a ready module with no init() call.
import init from '../pkg/ferrymq.js';
import { boot } from './boot.js';
import { openShared } from './share/tabs.js';
import { registerShared, registerStorage } from './storage.js';
import { openIndexedDb } from './storage-indexeddb.js';

boot(await init({ module_or_path: new URL('./ferrymq_bg.wasm', import.meta.url) }));
registerStorage('indexedDb', openIndexedDb);
registerShared(openShared);

export * from './api.js';
