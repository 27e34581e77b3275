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

/// The longest queue name, message id or routing key, in UTF-8 bytes: the
/// core's limit, which the wrapper checks first to name the argument.
#[wasm_bindgen(js_name = maxNameBytes)]
pub fn max_name_bytes() -> u32 {
    crate::core::broker::MAX_NAME_BYTES as u32
}

/// The largest encoded payload (with its headers) one log record can carry.
#[wasm_bindgen(js_name = maxPayloadBytes)]
pub fn max_payload_bytes() -> u32 {
    crate::core::storage::log::MAX_PAYLOAD_BYTES as u32
}

/// A panic aborts the instance; at least say why on the console.
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| console_error(&format!("ferrymq panicked: {info}"))));
}
