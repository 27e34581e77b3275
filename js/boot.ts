// Runs once the wasm instance exists: lets Rust raise FerryErrors of the
// same class users import, and lets JS read effect records in place.
import { setErrorFactory, setPanicHandler } from '../pkg/ferrymq.js';
import { FerryError, type ErrorCode } from './errors.js';
import { instanceDied } from './instance.js';
import { setMemory } from './memory.js';

/** @param exports the instance's exports */
export function boot(exports: { memory: WebAssembly.Memory }): void {
  setMemory(exports.memory);
  setErrorFactory((code: ErrorCode, message: string) => new FerryError(code, message));
  setPanicHandler(instanceDied);
}
