// Runs once the wasm instance exists: lets Rust raise FerryErrors of the
// same class users import.
import { setErrorFactory } from '../pkg/ferrymq.js';
import { FerryError } from './errors.js';

export function boot() {
  setErrorFactory((code, message) => new FerryError(code, message));
}
