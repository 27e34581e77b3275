//! A queue's options as canonical JSON: what a broker kept elsewhere (a
//! Redis server, a leader context) compares declarations by, and what a
//! context that declared a queue without options adopts.

use crate::core::backoff::BackoffKind;
use crate::core::broker::{DeadLetterTarget, Overflow, QueueOptions};

/// `o` as the JS API spells options, normalized, in one fixed order.
pub fn canonical(o: &QueueOptions) -> String {
    let mut out = String::from("{");
    let mut field = |name: &str, value: String| {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&format!("{name:?}:{value}"));
    };
    if let Some(n) = o.max_length {
        field("maxLength", n.to_string());
        field("overflow", format!("{:?}", overflow(o.overflow)));
    }
    if let Some(ttl) = o.ttl {
        field("ttlMs", ttl.to_string());
    }
    field("leaseMs", o.lease.to_string());
    field("maxDeliveries", o.max_deliveries.to_string());
    let b = o.backoff;
    if b.base > 0 {
        let kind = match b.kind {
            BackoffKind::Fixed => "fixed",
            BackoffKind::Exponential => "exponential",
        };
        let max = b.max.map_or(String::new(), |m| format!(",\"maxMs\":{m}"));
        field("backoff", format!("{{\"type\":{kind:?},\"baseMs\":{}{max},\"jitter\":{}}}", b.base, b.jitter));
    }
    match &o.dead_letter {
        DeadLetterTarget::Default => {}
        DeadLetterTarget::Named(name) => field("deadLetter", json_string(name)),
        DeadLetterTarget::Discard => field("deadLetter", "null".into()),
    }
    if let Some(d) = o.dedup_window {
        field("dedupWindowMs", d.to_string());
    }
    // Only a leader with a log tells the two apart; it must hear it.
    if !o.durable {
        field("durable", "false".into());
    }
    out.push('}');
    out
}

pub fn overflow(o: Overflow) -> &'static str {
    match o {
        Overflow::Reject => "reject",
        Overflow::DropOldest => "drop-oldest",
    }
}

/// A JSON string: Rust's `{:?}` escapes differently (`\u{1}`).
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
