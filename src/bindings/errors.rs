use std::cell::RefCell;

use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::core::error::CoreError;

thread_local! {
    static FACTORY: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Installed once by the JS entry point: `(code, message) => new FerryError(code, message)`.
#[wasm_bindgen(js_name = setErrorFactory)]
pub fn set_error_factory(factory: Function) {
    FACTORY.with(|f| *f.borrow_mut() = Some(factory));
}

pub fn to_js(error: CoreError) -> JsValue {
    let code = JsValue::from_str(error.code.as_str());
    let message = JsValue::from_str(&error.message);
    FACTORY.with(|f| match &*f.borrow() {
        Some(factory) => factory.call2(&JsValue::NULL, &code, &message).unwrap_or_else(|thrown| thrown),
        None => js_sys::Error::new(&error.to_string()).into(),
    })
}
