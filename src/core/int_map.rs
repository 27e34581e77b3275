//! Hash maps keyed by integers from our own counters (sequence numbers,
//! delivery tags, consumer ids), not attacker-chosen keys: `SipHash`'s flood
//! resistance buys nothing there and costs a large share of each lookup. A
//! multiply spreads consecutive keys over all bits.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

pub type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

#[derive(Default)]
pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
