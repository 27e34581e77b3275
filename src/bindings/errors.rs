use std::cell::RefCell;

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;

use crate::core::error::{CoreError, Field};

thread_local! {
    static FACTORY: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Installed once by the JS entry point: `(code, message) => new FerryError(code, message)`.
#[wasm_bindgen(js_name = setErrorFactory)]
pub fn set_error_factory(factory: Function) {
    FACTORY.with(|f| *f.borrow_mut() = Some(factory));
}

/// The core's error as JS sees it: one about a field is a RangeError naming
/// the field by its option path (see `option_path`), any other a FerryError.
pub fn to_js(error: CoreError) -> JsValue {
    match error.field {
        Some(field) => range_error(option_path(field), &error.message),
        None => ferry_error(error),
    }
}

/// `to_js` for a call that names `field` itself: `argument` instead of its option path.
pub fn to_js_naming(error: CoreError, field: Field, argument: &str) -> JsValue {
    match error.field {
        Some(f) if f == field => range_error(argument, &error.message),
        _ => to_js(error),
    }
}

fn ferry_error(error: CoreError) -> JsValue {
    let code = JsValue::from_str(error.code.as_str());
    let message = JsValue::from_str(&error.message);
    FACTORY.with(|f| match &*f.borrow() {
        Some(factory) => factory.call2(&JsValue::NULL, &code, &message).unwrap_or_else(|thrown| thrown),
        None => js_sys::Error::new(&error.to_string()).into(),
    })
}

/// How the wrapper's callers spell each field: the key of the options
/// argument it is given in, or the positional argument.
fn option_path(field: Field) -> &'static str {
    match field {
        Field::QueueName => "name",
        Field::MaxLength => "options.maxLength",
        Field::Ttl => "options.ttlMs",
        Field::Lease => "options.leaseMs",
        Field::MaxDeliveries => "options.maxDeliveries",
        Field::DeadLetter => "options.deadLetter",
        Field::DedupWindow => "options.dedupWindowMs",
        Field::Prefetch => "options.prefetch",
        Field::Timeout => "options.timeoutMs",
        Field::RateMax => "options.rateLimit.max",
        Field::RateInterval => "options.rateLimit.intervalMs",
        Field::Concurrency => "options.concurrency",
        Field::MessageId => "options.id",
        Field::RoutingKey => "routingKey",
        Field::Pattern => "pattern",
    }
}

/// A RangeError with code INVALID_ARGUMENT, as js/errors.ts makes them:
/// "`argument` `problem`" (problem: "must be ...").
pub fn range_error(argument: &str, problem: &str) -> JsValue {
    with_code(js_sys::RangeError::new(&format!("{argument} {problem}")).into())
}

/// A TypeError with code INVALID_ARGUMENT, as js/errors.ts makes them.
pub fn type_error(argument: &str, problem: &str) -> JsValue {
    with_code(js_sys::TypeError::new(&format!("{argument} {problem}")).into())
}

fn with_code(error: JsValue) -> JsValue {
    // Setting a property of a fresh Error cannot fail; were it to, the
    // error still names the argument, which is what matters most.
    let _ = Reflect::set(&error, &JsValue::from_str("code"), &JsValue::from_str("INVALID_ARGUMENT"));
    error
}
