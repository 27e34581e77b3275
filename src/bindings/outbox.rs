//! Effect records for JS, written where JS reads them in place: a
//! Float64Array over the instance's memory (`js/memory.ts`). Once the buffer
//! has grown to its working size, handing effects over allocates nothing:
//! no Vec per call in Rust, no typed-array copy in JS.
//!
//! Two ways to hand a batch over. The broker drains once per flush
//! (`begin`, `push`, then JS reads `len` numbers at `ptr`). The scheduler
//! publishes after every call instead, so adding a task and starting it is
//! one crossing, not three: every call appends its records and updates a
//! header at a fixed address ([where the records start, how many numbers,
//! the next deadline]), and JS marks the batch read by zeroing the count,
//! which lets the next call start a fresh one. A call JS makes while it is
//! still reading (a task that settles synchronously) appends behind the
//! records JS has not reached, so nothing is overwritten or reordered.

/// Header fields, in f64s from `header_ptr`.
const START: usize = 0;
const LEN: usize = 1;
const DEADLINE: usize = 2;

#[derive(Default)]
pub struct Outbox {
    nums: Vec<f64>,
    /// Boxed so that its address never changes: JS reads it every call.
    header: Box<[f64; 3]>,
}

impl Outbox {
    /// Starts a new batch; JS has finished reading the previous one.
    pub fn begin(&mut self) {
        self.nums.clear();
    }

    pub fn push(&mut self, record: &[f64]) {
        self.nums.extend_from_slice(record);
    }

    /// Numbers in the batch.
    pub fn len(&self) -> u32 {
        self.nums.len() as u32
    }

    /// Byte address of the batch in wasm memory; valid until the next `begin`.
    pub fn ptr(&self) -> u32 {
        self.nums.as_ptr() as usize as u32
    }

    /// Before appending under the header protocol: a batch JS has read
    /// (count zeroed by JS) is dropped first.
    pub fn reopen(&mut self) {
        // Volatile: JS wrote it, between two calls, behind Rust's back.
        // SAFETY: a valid, aligned, initialised f64 owned by this struct.
        if unsafe { std::ptr::read_volatile(&self.header[LEN]) } == 0.0 {
            self.nums.clear();
        }
    }

    /// Tells JS where the records are now, how many, and the next deadline
    /// (epoch ms, or NONE) to arm its timer for.
    pub fn publish(&mut self, deadline: f64) {
        let header = [(self.nums.as_ptr() as usize / 8) as f64, self.nums.len() as f64, deadline];
        for (field, value) in [START, LEN, DEADLINE].into_iter().zip(header) {
            // SAFETY: as in `reopen`; volatile so the writes are not elided.
            unsafe { std::ptr::write_volatile(&mut self.header[field], value) };
        }
    }

    /// Byte address of the header.
    pub fn header_ptr(&self) -> u32 {
        self.header.as_ptr() as usize as u32
    }
}
