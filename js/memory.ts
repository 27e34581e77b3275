// A Float64Array over the wasm instance's memory, for reading effect records
// in place (src/bindings/outbox.rs). Memory growth detaches the buffer (its
// views' length drops to 0), so the view is renewed when that happened;
// checking the length is cheap, unlike fetching `memory.buffer` each time.

let memory: WebAssembly.Memory | undefined;
let view = new Float64Array(0);

export function setMemory(wasmMemory: WebAssembly.Memory): void {
  memory = wasmMemory;
}

/** The current view; fetch it again after any call that may have grown memory. */
export function f64(): Float64Array {
  if (view.length === 0) view = new Float64Array(memory!.buffer);
  return view;
}
