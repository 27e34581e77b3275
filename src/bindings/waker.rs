//! How a broker core tells the wrapper there is work: after every call that
//! may change it, the host's `wake` is called (at most once between two
//! drains) if the call left work or made a deadline earlier than the one the
//! host's timer is armed for. No caller has to remember to pump: a state
//! change the host never hears of cannot happen.

use js_sys::Function;
use wasm_bindgen::JsValue;

use crate::core::time::Millis;

pub struct Waker {
    /// Only schedules the host's flush (queueMicrotask) and never calls back
    /// in, so calling it while a core is borrowed is safe.
    wake: Function,
    woken: bool,
    /// The deadline the host last armed its timer for.
    armed: Option<Millis>,
}

impl Waker {
    pub fn new(wake: Function) -> Self {
        Self { wake, woken: false, armed: None }
    }

    /// After a call: wakes the host if it left work (`has_work`) or the
    /// core's next deadline (`next`, read only if needed) is sooner than armed.
    pub fn after(&mut self, has_work: bool, next: impl FnOnce() -> Option<Millis>) {
        if self.woken {
            return;
        }
        let sooner = || match (next(), self.armed) {
            (Some(next), Some(armed)) => next < armed,
            (next, None) => next.is_some(),
            (None, Some(_)) => false,
        };
        if has_work || sooner() {
            self.woken = true;
            // It cannot fail but by a host bug, and a broker must not trap over one.
            let _ = self.wake.call0(&JsValue::UNDEFINED);
        }
    }

    /// The host is draining: the next call that leaves work wakes it again.
    pub fn drained(&mut self) {
        self.woken = false;
    }

    /// The host armed its timer for `at`; returned, as JS reads it.
    pub fn armed(&mut self, at: Option<Millis>) -> f64 {
        self.armed = at;
        super::wire::from_millis(at)
    }
}
