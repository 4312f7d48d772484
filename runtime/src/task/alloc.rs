//! Task memory: size-classed free lists carved from 64 KiB chunks.
//!
//! Every task is one block. Going to the global allocator for each one
//! costs more than the rest of a spawn and a join together (glibc's
//! `malloc` and `free` took about 350 of the 700 instructions a spawn plus
//! join cost), so each runtime keeps its own blocks:
//!
//! - a block size is a multiple of 16 bytes, up to 512 (32 classes); larger
//!   or over-aligned tasks go to the global allocator as before;
//! - a class hands out its most recently freed block first (LIFO: the one
//!   most likely still in cache), else the next block of its current chunk,
//!   else a new 64 KiB chunk;
//! - a freed block goes on its class's free list, with the link in its
//!   first word. Chunks go back to the system only when the heap is dropped.
//!
//! That last point is the trade-off: a burst of a million tasks keeps its
//! memory (for reuse) until the runtime is dropped, as a long-lived glibc
//! heap largely would too. A block carries no allocator header, so a task
//! also takes 8 to 16 bytes less than it would in a glibc chunk.
//!
//! Only the runtime thread that owns the heap allocates or frees (tasks are
//! created by `spawn` on that thread and freed only there, see
//! `task/waker.rs`), so the free lists are plain `Cell`s.

use std::alloc::{self, Layout};
use std::cell::{Cell, UnsafeCell};
use std::ptr::{self, NonNull};

/// Block sizes are multiples of this, and blocks are aligned to it.
const GRANULE: usize = 16;
/// The largest block the heap serves itself.
const MAX_BLOCK: usize = 512;
const CLASSES: usize = MAX_BLOCK / GRANULE;
/// Chunk size: large enough to amortise the system allocator over hundreds
/// of tasks, small enough that a class used once wastes little (untouched
/// pages of a chunk cost no resident memory).
const CHUNK: usize = 64 * 1024;

/// A runtime's task blocks (its `TaskHome` owns them; see `home.rs`).
/// See the module docs.
pub(crate) struct Blocks {
    /// Class `c` holds blocks of `(c + 1) * GRANULE` bytes; null when empty.
    free: [Cell<*mut u8>; CLASSES],
    /// The unused tail of each class's current chunk: `[next, end)`.
    bump: [Cell<(*mut u8, *mut u8)>; CLASSES],
    /// Every chunk, freed when the heap is dropped.
    chunks: UnsafeCell<Vec<NonNull<u8>>>,
}

// SAFETY: the blocks are reached from other threads only as part of the
// `TaskHome` that foreign wakers read their mailbox from, and they never
// call into them: only the runtime thread allocates and frees task blocks.
// They are dropped with the heap, when no block is live.
unsafe impl Sync for Blocks {}
// SAFETY: as above; dropping them on another thread only frees chunk memory.
unsafe impl Send for Blocks {}

/// The class serving `layout`, if the heap serves it.
#[inline]
const fn class_of(layout: Layout) -> Option<usize> {
    if layout.size() <= MAX_BLOCK && layout.align() <= GRANULE && layout.size() > 0 {
        Some(layout.size().div_ceil(GRANULE) - 1)
    } else {
        None
    }
}

/// A block's layout with its class worked out in advance: a vtable holds
/// one (`Header::vtable`), so freeing a block of any type is a free-list
/// push with no arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlockLayout {
    layout: Layout,
    /// `class_of(layout)`, or [`LARGE`].
    class: usize,
}

/// `BlockLayout::class` of a block from the global allocator.
const LARGE: usize = usize::MAX;

impl BlockLayout {
    /// The block layout for `layout`.
    pub(crate) const fn new(layout: Layout) -> BlockLayout {
        let class = match class_of(layout) {
            Some(class) => class,
            None => LARGE,
        };
        BlockLayout { layout, class }
    }

    /// The block layout of a `T`.
    pub(crate) const fn of<T>() -> BlockLayout {
        BlockLayout::new(Layout::new::<T>())
    }
}

fn chunk_layout() -> Layout {
    // A power-of-two size with a small alignment is always a valid layout.
    Layout::from_size_align(CHUNK, GRANULE).expect("valid chunk layout")
}

impl Blocks {
    pub(crate) fn new() -> Blocks {
        Blocks {
            free: std::array::from_fn(|_| Cell::new(ptr::null_mut())),
            bump: std::array::from_fn(|_| Cell::new((ptr::null_mut(), ptr::null_mut()))),
            chunks: UnsafeCell::new(Vec::new()),
        }
    }

    /// Allocates a block for `layout`.
    ///
    /// Inlined whole: a task's layout is a constant, so its class is too,
    /// and what is left is the free-list pop or the bump of the current
    /// chunk (a burst of spawns takes every block from the bump).
    ///
    /// # Safety
    /// Called on the runtime thread that owns the heap.
    #[inline]
    pub(crate) unsafe fn alloc(&self, block: BlockLayout) -> NonNull<u8> {
        let class = block.class;
        if class == LARGE {
            return alloc_large(block.layout);
        }
        let head = self.free[class].get();
        if !head.is_null() {
            // SAFETY: a free block's first word is the link `dealloc` wrote;
            // blocks are 16-aligned, so the read is aligned.
            let next = unsafe { head.cast::<*mut u8>().read() };
            self.free[class].set(next);
            // SAFETY: non-null, checked above.
            return unsafe { NonNull::new_unchecked(head) };
        }
        let size = (class + 1) * GRANULE;
        let (next, end) = self.bump[class].get();
        if end.addr() - next.addr() >= size {
            // SAFETY: `size` bytes remain before `end`, within the current chunk.
            self.bump[class].set((unsafe { next.add(size) }, end));
            // SAFETY: `next` points into a live chunk, so it is non-null.
            return unsafe { NonNull::new_unchecked(next) };
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.carve(class) }
    }

    /// Takes the first block of `class` from a new chunk (the class's
    /// current one is used up, or it has none yet).
    ///
    /// # Safety
    /// As `alloc`.
    #[cold]
    #[inline(never)]
    unsafe fn carve(&self, class: usize) -> NonNull<u8> {
        let size = (class + 1) * GRANULE;
        let layout = chunk_layout();
        // SAFETY: the chunk layout has a non-zero size.
        let chunk = NonNull::new(unsafe { alloc::alloc(layout) }).unwrap_or_else(|| alloc::handle_alloc_error(layout));
        // SAFETY: only the runtime thread touches the chunk list (see `alloc`).
        unsafe { (*self.chunks.get()).push(chunk) };
        let next = chunk.as_ptr();
        // SAFETY: `size` bytes and the chunk's end are within (or one past)
        // the chunk's allocation.
        self.bump[class].set(unsafe { (next.add(size), next.add(CHUNK)) });
        chunk
    }

    /// Returns a block allocated by `alloc` with the same `block`.
    ///
    /// # Safety
    /// On the runtime thread that owns the heap; `ptr` came from this heap's
    /// `alloc(block)`, and nothing uses the block any more.
    #[inline]
    pub(crate) unsafe fn dealloc(&self, ptr: NonNull<u8>, block: BlockLayout) {
        if block.class == LARGE {
            // SAFETY: it came from `alloc::alloc(block.layout)` in `alloc_large`.
            return unsafe { dealloc_large(ptr, block.layout) };
        }
        let free = &self.free[block.class];
        // SAFETY: the block is ours again and at least 16 bytes, 16-aligned.
        unsafe { ptr.as_ptr().cast::<*mut u8>().write(free.get()) };
        free.set(ptr.as_ptr());
    }
}

/// A block the classes do not serve (large or over-aligned), from the
/// global allocator.
#[cold]
#[inline(never)]
fn alloc_large(layout: Layout) -> NonNull<u8> {
    // SAFETY: task layouts have a non-zero size (the header alone is 56 bytes).
    let ptr = unsafe { alloc::alloc(layout) };
    NonNull::new(ptr).unwrap_or_else(|| alloc::handle_alloc_error(layout))
}

/// Frees a block of [`alloc_large`].
///
/// # Safety
/// `ptr` came from `alloc_large(layout)`, and nothing uses it any more.
#[cold]
#[inline(never)]
unsafe fn dealloc_large(ptr: NonNull<u8>, layout: Layout) {
    // SAFETY: by the caller's promise.
    unsafe { alloc::dealloc(ptr.as_ptr(), layout) }
}

impl Drop for Blocks {
    fn drop(&mut self) {
        for chunk in self.chunks.get_mut().drain(..) {
            // SAFETY: every chunk came from `alloc::alloc(chunk_layout())`, and
            // the heap is dropped only once no task block is live.
            unsafe { alloc::dealloc(chunk.as_ptr(), chunk_layout()) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        assert_eq!(class_of(l(56, 8)), Some(3));
        assert_eq!(class_of(l(64, 8)), Some(3));
        assert_eq!(class_of(l(65, 16)), Some(4));
        assert_eq!(class_of(l(512, 16)), Some(31));
        assert_eq!(class_of(l(513, 8)), None);
        assert_eq!(class_of(l(64, 64)), None);
    }

    #[test]
    fn reuse_is_lifo_and_blocks_do_not_overlap() {
        let home = Blocks::new();
        let layout = BlockLayout::new(Layout::from_size_align(72, 8).unwrap());
        let big = BlockLayout::new(Layout::from_size_align(4096, 8).unwrap());
        assert_eq!(big.class, LARGE);
        // SAFETY: single-threaded test: this thread owns the heap.
        unsafe {
            let blocks: Vec<NonNull<u8>> = (0..3000).map(|_| home.alloc(layout)).collect();
            for (i, b) in blocks.iter().enumerate() {
                ptr::write_bytes(b.as_ptr(), i as u8, layout.layout.size());
            }
            for (i, b) in blocks.iter().enumerate() {
                assert!(std::slice::from_raw_parts(b.as_ptr(), layout.layout.size()).iter().all(|&x| x == i as u8));
                assert_eq!(b.as_ptr() as usize % GRANULE, 0);
            }
            home.dealloc(blocks[7], layout);
            home.dealloc(blocks[9], layout);
            assert_eq!(home.alloc(layout), blocks[9]);
            assert_eq!(home.alloc(layout), blocks[7]);
            let outside = home.alloc(big);
            home.dealloc(outside, big);
            for b in blocks {
                home.dealloc(b, layout);
            }
        }
    }
}
