//! The storage disciplines: which item a `get` takes.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;

mod sealed {
    pub trait Sealed {}
}

/// The storage discipline of a queue: [`Fifo`], [`Lifo`], [`Priority`] or
/// [`Rendezvous`]. Sealed: these four are all there is.
pub trait Buffer<T>: sealed::Sealed {
    #[doc(hidden)]
    fn empty() -> Self;
    #[doc(hidden)]
    fn len(&self) -> usize;
    #[doc(hidden)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    #[doc(hidden)]
    fn push(&mut self, item: T);
    #[doc(hidden)]
    fn pop(&mut self) -> Option<T>;
    #[doc(hidden)]
    fn peek(&self) -> Option<&T>;
    /// Puts back an item that was handed to a getter that then gave up.
    /// Every item in the buffer arrived after it (a getter only waits on an
    /// empty buffer), so it goes where the oldest item goes.
    #[doc(hidden)]
    fn restore(&mut self, item: T);
}

/// First in, first out (`queue.Queue`).
pub struct Fifo<T>(VecDeque<T>);

/// Last in, first out (`queue.LifoQueue`).
pub struct Lifo<T>(VecDeque<T>);

/// Smallest first (`queue.PriorityQueue`): a binary heap, so items that
/// compare equal come out in no particular order. Put `(priority, seq,
/// item)` tuples to break ties by arrival, as in Python.
pub struct Priority<T>(BinaryHeap<Reverse<T>>);

/// No buffer at all (`gevent.queue.Channel`): a put waits for a get.
pub struct Rendezvous<T>(VecDeque<T>);

impl<T> sealed::Sealed for Fifo<T> {}
impl<T> sealed::Sealed for Lifo<T> {}
impl<T> sealed::Sealed for Priority<T> {}
impl<T> sealed::Sealed for Rendezvous<T> {}

impl<T> Buffer<T> for Fifo<T> {
    fn empty() -> Self {
        Fifo(VecDeque::new())
    }
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn peek(&self) -> Option<&T> {
        self.0.front()
    }
    fn restore(&mut self, item: T) {
        self.0.push_front(item);
    }
}

impl<T> Buffer<T> for Lifo<T> {
    fn empty() -> Self {
        Lifo(VecDeque::new())
    }
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop_back()
    }
    fn peek(&self) -> Option<&T> {
        self.0.back()
    }
    fn restore(&mut self, item: T) {
        // The oldest item is the last out: the bottom of the stack.
        self.0.push_front(item);
    }
}

impl<T: Ord> Buffer<T> for Priority<T> {
    fn empty() -> Self {
        Priority(BinaryHeap::new())
    }
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn push(&mut self, item: T) {
        self.0.push(Reverse(item));
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|Reverse(item)| item)
    }
    fn peek(&self) -> Option<&T> {
        self.0.peek().map(|Reverse(item)| item)
    }
    fn restore(&mut self, item: T) {
        self.push(item);
    }
}

impl<T> Buffer<T> for Rendezvous<T> {
    fn empty() -> Self {
        Rendezvous(VecDeque::new())
    }
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
    // Only restored items ever sit here (the capacity is 0).
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn peek(&self) -> Option<&T> {
        self.0.front()
    }
    fn restore(&mut self, item: T) {
        self.0.push_front(item);
    }
}

macro_rules! debug_name {
    ($($t:ident),*) => {$(
        impl<T> fmt::Debug for $t<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($t))
            }
        }
    )*};
}
debug_name!(Fifo, Lifo, Priority, Rendezvous);
