//! Effect records for JS, written where JS reads them in place: a
//! Float64Array over the instance's memory (`js/memory.ts`). Once the buffer
//! has grown to its working size, handing effects over allocates nothing:
//! no Vec per call in Rust, no typed-array copy in JS.

#[derive(Default)]
pub struct Outbox {
    nums: Vec<f64>,
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
}
