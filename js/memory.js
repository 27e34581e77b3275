// A Float64Array over the wasm instance's memory, for reading effect records
// in place (src/bindings/outbox.rs). Memory growth replaces the buffer, so
// the view is renewed whenever it no longer matches.

let memory;
let view = new Float64Array(0);

export function setMemory(wasmMemory) {
  memory = wasmMemory;
}

/** The current view; fetch it again after any call that may have grown memory. */
export function f64() {
  if (view.buffer !== memory.buffer) view = new Float64Array(memory.buffer);
  return view;
}
