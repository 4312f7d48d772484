//! Lent buffers: read without owning a buffer while idle.
//!
//! A server holding many idle connections pays, per connection, for its
//! task, its registration and, above all, its read buffer, which sits in
//! the task's future while the task waits for the next message. A *lent*
//! read turns that around: [`read_lent`](crate::TcpStream::read_lent) waits
//! for readiness with no buffer at all, and only when the socket is
//! readable borrows a buffer from this thread's pool, reads into it and
//! hands it to the caller as a [`Lent`]. Dropping the `Lent` gives the
//! buffer back. An idle connection holds none; the pool holds as many as
//! the connections *in the middle of a message* need at once, which on
//! one thread is usually one.
//!
//! # Design notes
//! - One pool per thread, and so one per runtime on a thread-per-core
//!   server: taking and giving back touch no lock and no atomic. A `Lent`
//!   is `!Send`, so it always comes back to the pool it left.
//! - The pool is a *spare* (one free buffer, in a destructor-free
//!   thread-local, the fast path) and a free list behind it, which keeps
//!   at most [`POOL_MAX`] more; buffers given back beyond that are freed, so
//!   a burst leaves no lasting bloat.
//! - Every buffer is [`LENT_BUFFER_SIZE`] bytes, zeroed once when first
//!   made.
//! - The read is one `read(2)` into the whole buffer: a short read (the
//!   usual case) drains the socket, as for `read(&mut buf)`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::ptr;

/// The size of a lent buffer: 16 KiB, a whole TCP segment burst on
/// loopback and several on a network, so one read usually drains what a
/// client sent (the echo benchmark's messages are 64 B to 4 KiB).
pub const LENT_BUFFER_SIZE: usize = 16 * 1024;

/// How many free buffers a thread's pool keeps besides its spare (512 KiB
/// in all). A server whose handlers hold a `Lent` only between a read and
/// the write of the reply needs one at a time; more are only kept for
/// handlers that wait (on a slow peer's `write_all`, say) while holding one.
pub const POOL_MAX: usize = 32;

/// One buffer. A boxed array, not a boxed slice: a thin pointer, so a
/// `Lent` is two words.
type Buffer = Box<[u8; LENT_BUFFER_SIZE]>;

thread_local! {
    /// The hot spare: one free buffer as a raw pointer from
    /// `Box::into_raw` (null: none). A `Cell` of a pointer has no
    /// destructor, so reaching it is a plain thread-local load: the echo
    /// benchmark measured 56 instructions per request for a take and a
    /// give through `POOL` alone, against about 10 through the spare.
    static SPARE: Cell<*mut [u8; LENT_BUFFER_SIZE]> = const { Cell::new(ptr::null_mut()) };
    /// The other free buffers. Its destructor (registered on the first
    /// allocation, which always comes through here) frees them and the
    /// spare when the thread ends.
    static POOL: RefCell<Pool> = const { RefCell::new(Pool(Vec::new())) };
}

/// The free list behind the spare.
struct Pool(Vec<Buffer>);

impl Drop for Pool {
    fn drop(&mut self) {
        // The thread is ending: free the spare too. (`SPARE` has no
        // destructor, so it is still there.)
        let spare = SPARE.with(|s| s.replace(ptr::null_mut()));
        if !spare.is_null() {
            // SAFETY: a non-null spare came from `Box::into_raw` in `give`
            // and was just taken out, so this is its only owner.
            drop(unsafe { Box::from_raw(spare) });
        }
    }
}

/// A buffer from this thread's spare, its pool, or a new one.
#[inline]
fn take() -> Buffer {
    let spare = SPARE.with(|s| s.replace(ptr::null_mut()));
    if spare.is_null() {
        return take_slow();
    }
    // SAFETY: a non-null spare came from `Box::into_raw` in `give` and was
    // just taken out, so this is its only owner.
    unsafe { Box::from_raw(spare) }
}

#[cold]
fn take_slow() -> Buffer {
    // `try_with`: a read during the thread's teardown gets a fresh buffer.
    let pooled = POOL.try_with(|pool| pool.borrow_mut().0.pop()).ok().flatten();
    pooled.unwrap_or_else(|| {
        let zeroed = vec![0; LENT_BUFFER_SIZE].into_boxed_slice();
        zeroed.try_into().expect("the vector has the buffer's length")
    })
}

/// Gives a buffer back: as the spare if there is none, else to the pool
/// (or frees it if the pool is full).
#[inline]
fn give(buf: Buffer) {
    SPARE.with(|s| {
        if s.get().is_null() {
            s.set(Box::into_raw(buf));
        } else {
            give_slow(buf);
        }
    });
}

#[cold]
fn give_slow(buf: Buffer) {
    let _ = POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.0.len() < POOL_MAX {
            pool.0.push(buf);
        }
    });
}

/// The number of free buffers this thread keeps (its spare and its pool),
/// for tests and monitoring.
pub fn pooled() -> usize {
    let spare = usize::from(!SPARE.with(Cell::get).is_null());
    spare + POOL.try_with(|pool| pool.borrow().0.len()).unwrap_or(0)
}

/// Bytes read into a buffer lent by this thread's pool: derefs to the
/// bytes read (`&[u8]`, or `&mut [u8]` to change them in place). Empty
/// means the peer closed its side (EOF), as `read` returning 0 does.
/// Dropping it gives the buffer back; keep it only as long as you need the
/// bytes (copy them out with `to_vec` to keep them longer).
///
/// ```
/// use sprout::net::{TcpListener, TcpStream};
///
/// sprout::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
///     let (server, _) = listener.accept().await.unwrap();
///     client.write_all(b"hello").await.unwrap();
///
///     let mut data = server.read_lent().await.unwrap(); // no buffer held while waiting
///     data.make_ascii_uppercase();
///     assert_eq!(&data[..], b"HELLO");
///     drop(data); // the buffer goes back to the pool
/// });
/// ```
pub struct Lent {
    /// Taken back (by `Drop`) only once.
    buf: ManuallyDrop<Buffer>,
    len: usize,
    /// The buffer belongs to this thread's pool: a `Lent` stays on its
    /// thread (copy the bytes out to send them elsewhere).
    _not_send: PhantomData<*const ()>,
}

impl Lent {
    /// A buffer from the pool, with nothing read into it yet.
    #[inline]
    pub(crate) fn empty() -> Lent {
        Lent { buf: ManuallyDrop::new(take()), len: 0, _not_send: PhantomData }
    }

    /// The whole buffer, to read into.
    #[inline]
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        &mut self.buf[..]
    }

    /// Records how many bytes the read put in.
    #[inline]
    pub(crate) fn filled(mut self, n: usize) -> Lent {
        debug_assert!(n <= LENT_BUFFER_SIZE);
        self.len = n.min(LENT_BUFFER_SIZE);
        self
    }

    /// Whether the peer closed its side (nothing was read).
    #[inline]
    pub fn is_eof(&self) -> bool {
        self.len == 0
    }
}

impl Deref for Lent {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl DerefMut for Lent {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.len]
    }
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl Drop for Lent {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `drop` runs once, and nothing touches `buf` after it.
        give(unsafe { ManuallyDrop::take(&mut self.buf) });
    }
}

impl fmt::Debug for Lent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lent").field("len", &self.len).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_go_back_to_the_pool_and_the_pool_is_capped() {
        std::thread::spawn(|| {
            assert_eq!(pooled(), 0);
            let first = Lent::empty().filled(3);
            assert_eq!(first.len(), 3);
            assert!(!first.is_eof());
            drop(first);
            assert_eq!(pooled(), 1);
            let again = Lent::empty();
            assert_eq!(pooled(), 0, "the pooled buffer was reused");
            assert!(again.is_eof());
            drop(again);
            let many: Vec<Lent> = (0..POOL_MAX + 10).map(|_| Lent::empty()).collect();
            drop(many);
            assert_eq!(pooled(), POOL_MAX + 1, "the spare and a full pool");
        })
        .join()
        .unwrap();
    }
}
