//! Reads the options objects of the cold paths (`declareQueue`, `new
//! SchedulerCore`, `subscribeConsumer`) property by property into the
//! core's option types. Every error is a TypeError or RangeError naming
//! the property's JS path (`options.backoff.baseMs`). The wrapper has
//! checked their shape (types, unknown keys, string enums); this still
//! refuses whatever it cannot decode instead of guessing, so no input
//! makes it panic. Numbers become core types through `decode`; the rules
//! of meaning are the core's.

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;

use super::decode;
use super::errors::{range_error, type_error};
use crate::core::backoff::{Backoff, BackoffKind};
use crate::core::broker::{DeadLetterTarget, Overflow, QueueOptions, Subscription};
use crate::core::rate::{RateLimit, Window};
use crate::core::time::Millis;

/// One options object (or undefined: none given) and its JS path.
pub struct Options {
    object: JsValue,
    path: String,
}

/// What JS's error messages say a value was (as js/errors.ts `describe`).
fn describe(value: &JsValue) -> String {
    if let Some(n) = value.as_f64() {
        decode::js_number(n)
    } else if let Some(s) = value.as_string() {
        format!("{s:?}")
    } else if value.is_null() {
        "null".into()
    } else if let Some(b) = value.as_bool() {
        b.to_string()
    } else {
        value.js_typeof().as_string().unwrap_or_default()
    }
}

impl Options {
    /// `value` as the argument `path`: an object, or undefined for none.
    pub fn new(value: JsValue, path: String) -> Result<Self, JsValue> {
        if !value.is_undefined() && (!value.is_object() || Array::is_array(&value)) {
            return Err(type_error(&path, &format!("must be an object, got {}", describe(&value))));
        }
        Ok(Self { object: value, path })
    }

    fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    /// The property `key`; undefined when there is no object. A getter
    /// that throws makes its exception the error.
    fn get(&self, key: &str) -> Result<JsValue, JsValue> {
        if self.object.is_undefined() {
            return Ok(JsValue::UNDEFINED);
        }
        Reflect::get(&self.object, &JsValue::from_str(key))
    }

    fn wrong_type(&self, key: &str, expected: &str, value: &JsValue) -> JsValue {
        type_error(&self.path(key), &format!("must be {expected}, got {}", describe(value)))
    }

    /// A number property decoded by `decode` (a RangeError naming it when that refuses).
    pub fn number<T>(&self, key: &str, decode: impl FnOnce(f64) -> Result<T, String>) -> Result<Option<T>, JsValue> {
        let value = self.get(key)?;
        if value.is_undefined() {
            return Ok(None);
        }
        let n = value.as_f64().ok_or_else(|| self.wrong_type(key, "a number", &value))?;
        decode(n).map(Some).map_err(|problem| range_error(&self.path(key), &problem))
    }

    pub fn duration(&self, key: &str) -> Result<Option<Millis>, JsValue> {
        self.number(key, decode::duration)
    }

    pub fn boolean(&self, key: &str) -> Result<Option<bool>, JsValue> {
        let value = self.get(key)?;
        if value.is_undefined() {
            return Ok(None);
        }
        value.as_bool().map(Some).ok_or_else(|| self.wrong_type(key, "a boolean", &value))
    }

    /// A string property that must be one of `choices`' names.
    pub fn choice<T: Copy>(&self, key: &str, choices: &[(&str, T)]) -> Result<Option<T>, JsValue> {
        let value = self.get(key)?;
        if value.is_undefined() {
            return Ok(None);
        }
        let given = value.as_string();
        match choices.iter().find(|(name, _)| given.as_deref() == Some(*name)) {
            Some(&(_, choice)) => Ok(Some(choice)),
            None => {
                let names: Vec<String> = choices.iter().map(|(name, _)| format!("'{name}'")).collect();
                Err(self.wrong_type(key, &format!("one of {}", names.join(", ")), &value))
            }
        }
    }

    /// A nested options object (None when absent).
    pub fn object(&self, key: &str) -> Result<Option<Options>, JsValue> {
        let value = self.get(key)?;
        if value.is_undefined() {
            return Ok(None);
        }
        Options::new(value, self.path(key)).map(Some)
    }

    /// A required property: its error when absent names it.
    pub fn required<T>(&self, key: &str, found: Option<T>, expected: &str) -> Result<T, JsValue> {
        found.ok_or_else(|| self.wrong_type(key, expected, &JsValue::UNDEFINED))
    }
}

/// `backoff: { type, baseMs, maxMs?, jitter? }`; absent: retry at once.
pub fn backoff(options: &Options) -> Result<Backoff, JsValue> {
    let Some(o) = options.object("backoff")? else {
        return Ok(Backoff::NONE);
    };
    let kinds = [("fixed", BackoffKind::Fixed), ("exponential", BackoffKind::Exponential)];
    let kind = o.choice("type", &kinds)?;
    Ok(Backoff {
        kind: o.required("type", kind, "'fixed' or 'exponential'")?,
        base: o.required("baseMs", o.duration("baseMs")?, "a number of milliseconds")?,
        max: o.duration("maxMs")?,
        jitter: o.boolean("jitter")?.unwrap_or(false),
    })
}

/// `rateLimit: { max, intervalMs, window?, carryover? }`: window 'sliding'
/// (the default) or 'fixed', which alone may carry over.
pub fn rate_limit(options: &Options) -> Result<Option<RateLimit>, JsValue> {
    let Some(o) = options.object("rateLimit")? else {
        return Ok(None);
    };
    let max = o.required("max", o.number("max", decode::count)?, "a number")?;
    let interval = o.number("intervalMs", decode::safe_integer)?;
    let interval = o.required("intervalMs", interval, "a number")?;
    let fixed = o.choice("window", &[("sliding", false), ("fixed", true)])?.unwrap_or(false);
    let carryover = o.boolean("carryover")?;
    let window = match (fixed, carryover) {
        (true, carryover) => Window::Fixed { carryover: carryover.unwrap_or(false) },
        (false, None | Some(false)) => Window::Sliding,
        // A sliding window has no edge to carry anything over.
        (false, Some(true)) => return Err(range_error(&o.path("carryover"), "must be unset unless window is 'fixed', got true")),
    };
    Ok(Some(RateLimit { max, interval, window }))
}

/// `subscribeConsumer`'s options: this reads `prefetch`, `rateLimit` and
/// `timeoutMs` (the rest are the wrapper's).
pub fn subscription(o: &Options) -> Result<Subscription, JsValue> {
    let defaults = Subscription::default();
    Ok(Subscription {
        prefetch: o.number("prefetch", decode::count)?.unwrap_or(defaults.prefetch),
        rate_limit: rate_limit(o)?,
        timeout: o.duration("timeoutMs")?,
        ..defaults
    })
}

/// `declareQueue`'s options; each absent one takes the core's default.
pub fn queue(o: &Options) -> Result<QueueOptions, JsValue> {
    let defaults = QueueOptions::default();
    let overflow = [("reject", Overflow::Reject), ("drop-oldest", Overflow::DropOldest)];
    let dead_letter = o.get("deadLetter")?;
    let dead_letter = if dead_letter.is_undefined() {
        DeadLetterTarget::Default
    } else if dead_letter.is_null() {
        DeadLetterTarget::Discard
    } else {
        let name = dead_letter.as_string().ok_or_else(|| o.wrong_type("deadLetter", "a string or null", &dead_letter))?;
        DeadLetterTarget::Named(name)
    };
    Ok(QueueOptions {
        max_length: o.number("maxLength", decode::safe_integer)?,
        overflow: o.choice("overflow", &overflow)?.unwrap_or_default(),
        ttl: o.duration("ttlMs")?,
        lease: o.duration("leaseMs")?.unwrap_or(defaults.lease),
        max_deliveries: o.number("maxDeliveries", decode::count)?.unwrap_or(defaults.max_deliveries),
        backoff: backoff(o)?,
        dead_letter,
        dedup_window: o.duration("dedupWindowMs")?,
        durable: o.boolean("durable")?.unwrap_or(defaults.durable),
    })
}
