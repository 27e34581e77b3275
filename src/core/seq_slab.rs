//! Values keyed by sequence numbers that are handed out in increasing order
//! (task ids, message seqs) and mostly end in about that order.
//!
//! Recent keys sit in fixed-size chunks indexed by `key - base`: an insert or
//! lookup touches neighbouring memory instead of hashing into a big table,
//! and memory grows one chunk at a time. A hash table grows by doubling, and
//! in wasm the old table's memory stays allocated to the instance (linear
//! memory never shrinks), so a table of N entries costs the instance up to
//! 1.5x its size; chunks cost at most one partly used chunk more.
//!
//! A key that outlives many later ones (a long-running task, a message left
//! unacked) would pin its chunk and every chunk after it. Once the chunks are
//! mostly holes, the front chunk's live entries move to a small map of
//! stragglers and the chunk goes, so memory stays proportional to the live
//! keys. Each entry moves at most once: O(1) amortized.

use std::collections::VecDeque;

use crate::core::int_map::IntMap;

/// Entries per chunk.
const CHUNK: usize = 256;

/// Keys past the last chunk by more than this many chunks start a new run
/// of chunks (what was in chunks moves aside) rather than allocating the gap.
const MAX_GAP_CHUNKS: usize = 64;

struct Chunk<V> {
    slots: Box<[Option<V>]>,
    live: usize,
}

impl<V> Chunk<V> {
    fn new() -> Self {
        Self { slots: std::iter::repeat_with(|| None).take(CHUNK).collect(), live: 0 }
    }
}

pub struct SeqSlab<V> {
    /// Key of the first slot of `chunks[0]`; every key below it is a straggler or absent.
    base: u64,
    chunks: VecDeque<Chunk<V>>,
    in_chunks: usize,
    stragglers: IntMap<u64, V>,
}

impl<V> Default for SeqSlab<V> {
    fn default() -> Self {
        Self { base: 0, chunks: VecDeque::new(), in_chunks: 0, stragglers: IntMap::default() }
    }
}

impl<V: std::fmt::Debug> std::fmt::Debug for SeqSlab<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V: PartialEq> PartialEq for SeqSlab<V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(key, v)| other.get(key) == Some(v))
    }
}

impl<V> SeqSlab<V> {
    pub fn len(&self) -> usize {
        self.in_chunks + self.stragglers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: u64, value: V) -> Option<V> {
        if self.chunks.is_empty() && key >= self.base {
            // Start the chunks where the keys are. `base` only moves
            // forward, so every straggler stays below it.
            self.base = key - key % CHUNK as u64;
        }
        let Some((chunk, slot)) = self.locate(key) else {
            return self.stragglers.insert(key, value);
        };
        if chunk >= self.chunks.len() + MAX_GAP_CHUNKS {
            self.set_aside_all();
            return self.insert(key, value);
        }
        while self.chunks.len() <= chunk {
            self.chunks.push_back(Chunk::new());
        }
        let chunk = &mut self.chunks[chunk];
        let old = chunk.slots[slot].replace(value);
        if old.is_none() {
            chunk.live += 1;
            self.in_chunks += 1;
        }
        old
    }

    // A key below `base` is a straggler or absent; one at or past it is in
    // the chunks or absent.

    pub fn get(&self, key: u64) -> Option<&V> {
        match self.locate(key) {
            Some((c, s)) => self.chunks.get(c)?.slots[s].as_ref(),
            None => self.stragglers.get(&key),
        }
    }

    pub fn get_mut(&mut self, key: u64) -> Option<&mut V> {
        match self.locate(key) {
            Some((c, s)) => self.chunks.get_mut(c)?.slots[s].as_mut(),
            None => self.stragglers.get_mut(&key),
        }
    }

    pub fn contains_key(&self, key: u64) -> bool {
        self.get(key).is_some()
    }

    pub fn remove(&mut self, key: u64) -> Option<V> {
        let Some((c, s)) = self.locate(key) else {
            return self.stragglers.remove(&key);
        };
        let chunk = self.chunks.get_mut(c)?;
        let value = chunk.slots[s].take()?;
        chunk.live -= 1;
        self.in_chunks -= 1;
        self.compact();
        Some(value)
    }

    /// Every entry: those in chunks in key order, then the stragglers.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &V)> {
        let base = self.base;
        let in_chunks = self.chunks.iter().enumerate().flat_map(move |(c, chunk)| {
            let first = base + (c * CHUNK) as u64;
            chunk.slots.iter().enumerate().filter_map(move |(i, v)| Some((first + i as u64, v.as_ref()?)))
        });
        in_chunks.chain(self.stragglers.iter().map(|(&key, v)| (key, v)))
    }

    pub fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.iter().map(|(key, _)| key)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    /// (chunk, slot) of a key at or past `base`; None for a straggler's.
    fn locate(&self, key: u64) -> Option<(usize, usize)> {
        let index = usize::try_from(key.checked_sub(self.base)?).unwrap_or(usize::MAX);
        Some((index / CHUNK, index % CHUNK))
    }

    /// Drops empty leading chunks; while the chunks are mostly holes, moves
    /// the front chunk's entries aside so it can go too.
    fn compact(&mut self) {
        loop {
            let mostly_holes = self.chunks.len() * CHUNK > 2 * self.in_chunks + 2 * CHUNK;
            let Some(front) = self.chunks.front_mut() else {
                return;
            };
            if front.live > 0 {
                if !mostly_holes {
                    return;
                }
                let first = self.base;
                for (i, slot) in front.slots.iter_mut().enumerate() {
                    if let Some(value) = slot.take() {
                        self.stragglers.insert(first + i as u64, value);
                    }
                }
                self.in_chunks -= front.live;
            }
            self.chunks.pop_front();
            self.base += CHUNK as u64;
        }
    }

    /// Moves every entry in chunks to the stragglers and drops the chunks.
    fn set_aside_all(&mut self) {
        let (base, chunks) = (self.base, std::mem::take(&mut self.chunks));
        for (c, chunk) in chunks.into_iter().enumerate() {
            let first = base + (c * CHUNK) as u64;
            let live = chunk.slots.into_vec().into_iter().enumerate().filter_map(|(i, v)| Some((first + i as u64, v?)));
            self.stragglers.extend(live);
        }
        self.in_chunks = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn finished_keys_miss_and_live_ones_are_found() {
        let mut s = SeqSlab::default();
        for k in 0..3u64 {
            assert_eq!(s.insert(k, k * 10), None);
        }
        assert_eq!(s.remove(1), Some(10));
        assert_eq!(s.remove(1), None);
        assert!(s.get(3).is_none() && s.get(u64::MAX).is_none());
        assert_eq!(s.get(2), Some(&20));
        assert_eq!(s.insert(2, 21), Some(20), "insert replaces and returns the old value");
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn a_long_lived_key_does_not_pin_the_chunks() {
        let mut s = SeqSlab::default();
        s.insert(0, 0);
        for k in 1..100_000u64 {
            s.insert(k, k);
            assert_eq!(s.remove(k), Some(k));
        }
        assert!(s.chunks.len() <= 3, "{} chunks held for one live key", s.chunks.len());
        assert_eq!(s.get(0), Some(&0));
        assert_eq!(s.keys().collect::<Vec<_>>(), [0]);
        assert_eq!(s.remove(0), Some(0));
        assert!(s.is_empty());
    }

    #[test]
    fn a_far_key_does_not_allocate_the_gap() {
        let mut s = SeqSlab::default();
        s.insert(5, 'a');
        s.insert(1 << 40, 'b');
        assert!(s.chunks.len() <= 1);
        assert_eq!((s.get(5), s.get(1 << 40)), (Some(&'a'), Some(&'b')));
    }

    proptest::proptest! {
        /// Against a BTreeMap: mostly increasing keys, removals mostly of
        /// recent ones so old ones linger and compaction runs, and now and
        /// then a key far behind or ahead.
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec((0u8..8, proptest::prelude::any::<u16>()), 1..3_000)) {
            let mut s = SeqSlab::default();
            let mut model = BTreeMap::new();
            let mut next = 1_000u64;
            for (op, pick) in ops {
                match op {
                    0..=3 => {
                        next += 1 + u64::from(pick % 3);
                        proptest::prop_assert_eq!(s.insert(next, pick), model.insert(next, pick));
                    }
                    4 => {
                        let key = u64::from(pick) % (next + 1);
                        proptest::prop_assert_eq!(s.insert(key, pick), model.insert(key, pick));
                    }
                    5 if pick % 64 == 0 => {
                        next += u64::from(pick) * 1_000;
                        proptest::prop_assert_eq!(s.insert(next, pick), model.insert(next, pick));
                    }
                    _ if !model.is_empty() => {
                        let keys: Vec<u64> = model.keys().copied().collect();
                        let key = keys[keys.len() - 1 - usize::from(pick) % keys.len().min(8)];
                        proptest::prop_assert_eq!(s.remove(key), model.remove(&key));
                    }
                    _ => {}
                }
                proptest::prop_assert_eq!(s.len(), model.len());
                proptest::prop_assert!(s.chunks.len() * CHUNK <= 2 * s.in_chunks + 2 * CHUNK + MAX_GAP_CHUNKS * CHUNK);
            }
            let listed: BTreeMap<u64, u16> = s.iter().map(|(k, &v)| (k, v)).collect();
            proptest::prop_assert_eq!(listed, model.clone());
            for (k, v) in &model {
                proptest::prop_assert_eq!(s.get(*k), Some(v));
            }
        }
    }
}
