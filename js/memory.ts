// A Float64Array over the wasm instance's memory, for reading effect records
// in place (src/bindings/outbox.rs). Memory growth replaces the buffer, so
// the view is renewed whenever it no longer matches.

let memory: WebAssembly.Memory | undefined;
let view = new Float64Array(0);

export function setMemory(wasmMemory: WebAssembly.Memory): void {
  memory = wasmMemory;
}

/** The current view; fetch it again after any call that may have grown memory. */
export function f64(): Float64Array {
  const buffer = memory!.buffer;
  if (view.buffer !== buffer) view = new Float64Array(buffer);
  return view;
}
