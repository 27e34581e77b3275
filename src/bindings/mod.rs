//! The wasm-bindgen layer: converts JS numbers and values to core types,
//! calls the core, and encodes its effects for the JS wrapper in `js/`.
//! No semantics live here.

#[cfg(target_os = "unknown")]
mod alloc;
mod broker;
mod canon;
mod clock;
mod decode;
mod errors;
mod options;
mod outbox;
mod remote;
mod scheduler;
mod waker;
mod wire;

use std::cell::RefCell;

use js_sys::Function;
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

thread_local! {
    static ON_PANIC: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Installed once by the JS entry point: told, before the instance aborts,
/// that a panic killed it (see js/instance.ts).
#[wasm_bindgen(js_name = setPanicHandler)]
pub fn set_panic_handler(handler: Function) {
    ON_PANIC.with(|h| *h.borrow_mut() = Some(handler));
}

/// A panic aborts the instance; say why on the console, and tell the
/// wrapper so every broker and scheduler stops with that reason.
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        console_error(&format!("ferrymq panicked: {message}"));
        ON_PANIC.with(|h| {
            if let Ok(Some(handler)) = h.try_borrow().as_deref() {
                let _ = handler.call1(&JsValue::UNDEFINED, &JsValue::from_str(&message));
            }
        });
    }));
}
