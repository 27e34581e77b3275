//! Target-independent core: every scheduling and delivery decision lives here.
//!
//! Nothing in this module tree may depend on wasm-bindgen, js-sys or web-sys;
//! time comes in through [`time::Clock`] and randomness through [`rng::Rng`],
//! so every behaviour is reproducible in native tests.

pub mod backoff;
pub mod broker;
pub mod error;
pub mod int_map;
pub mod rate;
pub mod rng;
pub mod scheduler;
pub mod seq_slab;
pub mod time;
pub mod timers;
pub mod storage;
