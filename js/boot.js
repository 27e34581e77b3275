// Runs once the wasm instance exists: lets Rust raise FerryErrors of the
// same class users import, and lets JS read effect records in place.
import { setErrorFactory, setPanicHandler } from '../pkg/ferrymq.js';
import { FerryError } from './errors.js';
import { instanceDied } from './instance.js';
import { setMemory } from './memory.js';

/** @param {{ memory: WebAssembly.Memory }} exports the instance's exports */
export function boot(exports) {
  setMemory(exports.memory);
  setErrorFactory((code, message) => new FerryError(code, message));
  setPanicHandler(instanceDied);
}
