//! The wasm build's global allocator: dlmalloc, as std uses on this target,
//! but growing linear memory by a thirty-second of its size at a time
//! instead of by what each request needs.
//!
//! Why: std's dlmalloc grows memory 64 KiB at a time, so a broker filling up
//! with a million messages grew it about 1,600 times. Each grow makes V8
//! wrap the memory in a new ArrayBuffer, which it counts as external memory
//! at the memory's whole size until a full collection retires the old one;
//! those counts triggered a mark-compact every ~30 ms: 104 of them, and a
//! third of the time, in sending and taking a million messages. Growing
//! geometrically makes the grows logarithmic in the final size (about 150
//! up to 100 MB; 22 mark-compacts, sends 2.5x faster) and leaves at most a
//! thirty-second of the memory unused, in pages the OS has not committed. A
//! sixteenth was measured too: no faster within the noise, 3 B more per
//! queued message.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::UnsafeCell;
use core::ptr;

use dlmalloc::{Allocator, Dlmalloc};

const PAGE: usize = 64 * 1024;

/// Memory grows by at least this fraction of its current size.
const GROWTH_DIVISOR: usize = 32;

/// Where dlmalloc gets its memory from: `memory.grow`, geometrically. (The
/// crate's own also hands out the linker's spare heap first; that is less
/// than a page, so this one does not bother.)
struct GeometricGrowth;

unsafe impl Allocator for GeometricGrowth {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        let needed = size.div_ceil(PAGE);
        let preferred = needed.max(wasm32::memory_size(0) / GROWTH_DIVISOR);
        // Near the 4 GiB limit the larger step can fail where the request fits.
        for pages in [preferred, needed] {
            let previous = wasm32::memory_grow(0, pages);
            if previous != usize::MAX {
                let (base, size) = (previous * PAGE, pages * PAGE);
                // As the crate's own wasm allocator does: a region must not
                // end exactly at 4 GiB, where the address one past its end
                // wraps to 0; dlmalloc keeps out of the last 16 bytes.
                let size = if base.wrapping_add(size) == 0 { size - 16 } else { size };
                return (base as *mut u8, size, 0);
            }
        }
        (ptr::null_mut(), 0, 0)
    }

    // Linear memory never shrinks and segments never move: as std's allocator.
    fn remap(&self, _ptr: *mut u8, _old: usize, _new: usize, _can_move: bool) -> *mut u8 {
        ptr::null_mut()
    }

    fn free_part(&self, _ptr: *mut u8, _old: usize, _new: usize) -> bool {
        false
    }

    fn free(&self, _ptr: *mut u8, _size: usize) -> bool {
        false
    }

    fn can_release_part(&self, _flags: u32) -> bool {
        false
    }

    fn allocates_zeros(&self) -> bool {
        true
    }

    fn page_size(&self) -> usize {
        PAGE
    }
}

struct Global(UnsafeCell<Dlmalloc<GeometricGrowth>>);

// This build has no threads (no atomics target feature): nothing is shared.
unsafe impl Sync for Global {}

#[global_allocator]
static GLOBAL: Global = Global(UnsafeCell::new(Dlmalloc::new_with_allocator(GeometricGrowth)));

unsafe impl GlobalAlloc for Global {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        (*self.0.get()).malloc(layout.size(), layout.align())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        (*self.0.get()).free(ptr, layout.size(), layout.align())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        (*self.0.get()).calloc(layout.size(), layout.align())
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        (*self.0.get()).realloc(ptr, layout.size(), layout.align(), new_size)
    }
}
