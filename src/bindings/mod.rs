//! The wasm-bindgen layer: converts JS numbers and values to core types,
//! calls the core, and encodes its effects for the JS wrapper in `js/`.
//! No semantics live here.

mod broker;
mod clock;
mod errors;
mod outbox;
mod scheduler;
mod wire;

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
}

/// A panic aborts the instance; at least say why on the console.
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| console_error(&format!("ferrymq panicked: {info}"))));
}
