//! ferrymq: a message queue and async task scheduler.
//!
//! `core` is target-independent Rust with injected time; `bindings` adapts it
//! to JavaScript and exists only when compiling to wasm32.

pub mod core;

#[cfg(target_arch = "wasm32")]
mod bindings;
