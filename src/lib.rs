//! ferrymq: a message queue and async task scheduler.
//!
//! `core` is target-independent Rust with injected time; `bindings` adapts it
//! to JavaScript and exists only when compiling to wasm32.

pub mod core;

#[cfg(target_arch = "wasm32")]
mod bindings;

// The codes the bindings share with JS, and what their numbers decode to,
// are plain Rust: natively, compiled for their tests against the core.
#[cfg(all(test, not(target_arch = "wasm32")))]
#[path = "bindings/wire.rs"]
mod wire;

#[cfg(all(test, not(target_arch = "wasm32")))]
#[path = "bindings/decode.rs"]
mod decode;
