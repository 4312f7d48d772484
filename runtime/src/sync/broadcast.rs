//! A broadcast channel: every receiver sees every message, through one
//! bounded ring (tokio's `broadcast`).
//!
//! ```
//! use sprout::sync::broadcast::{self, RecvError};
//!
//! sprout::run(async {
//!     let (tx, mut rx) = broadcast::channel(16);
//!     let mut late = tx.subscribe(); // sees what is sent from now on
//!     tx.send("hello").unwrap();
//!     tx.send("world").unwrap();
//!     drop(tx);
//!     for rx in [&mut rx, &mut late] {
//!         assert_eq!(rx.recv().await, Ok("hello"));
//!         assert_eq!(rx.recv().await, Ok("world"));
//!         assert_eq!(rx.recv().await, Err(RecvError::Closed)); // every sender is gone
//!     }
//! });
//! ```
//!
//! # The design
//! One ring of `capacity` slots is shared by every receiver; there is no
//! queue per receiver. Each slot holds a message, its position (a count of
//! messages sent before it) and how many receivers have yet to take it.
//! A receiver is a cursor: the position it reads next. So:
//!
//! - **sending** writes one slot (overwriting the oldest message once the
//!   ring is full), counts the receivers that will read it, and wakes the
//!   receivers that wait: O(1) plus the wake-ups;
//! - **receiving** clones the message at the cursor and moves on; the
//!   last receiver to read a message takes it out instead of cloning it,
//!   so a message read by everyone holds no memory;
//! - **a slow receiver** whose next message was overwritten gets
//!   [`RecvError::Lagged(n)`](RecvError::Lagged): `n` messages it missed,
//!   its cursor moved to the oldest message kept. The channel never holds
//!   a message longer for it, so one slow receiver costs the others
//!   nothing (tokio's semantics; tokio rounds the capacity up to a power
//!   of two, sprout keeps exactly `capacity`);
//! - **a dropped receiver** gives up its claim on every message it had
//!   not read (what only it still needed is dropped then);
//! - **closing**: once every [`Sender`] is dropped, receivers read what is
//!   left, then get [`RecvError::Closed`]. A send with no receiver fails
//!   and hands the message back, as tokio's does.
//!
//! Waiting receivers are in the primitive's wait list (one entry per
//! waiting `recv`), so they show in the task dump ("broadcast") and the
//! deadlock report, and a `recv` future dropped while it waits leaves the
//! line with nothing lost: messages are read from the ring, not handed to
//! the waiter.
//!
//! The types default to the runtime-local flavour (`Rc`, no atomics);
//! [`crate::sync::threadsafe::broadcast`] has the same channel for tasks
//! and threads (`Arc`, a `Mutex`). Why here and not in
//! [`crate::queue`]: the queues are Python's `queue` module (one item to
//! one getter, `task_done`, `join`); a broadcast is a tokio channel with
//! sender and receiver halves, where every receiver gets every message.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::flavor::{Flavor, Local, ThreadSafe};
use super::threadsafe::block_on;
use super::wait_list::WaitList;
use crate::task::compact::CompactWaker;
use crate::task::coop;
use crate::task::observe::{WaitOn, waiting_shared};

/// Creates a broadcast channel holding the last `capacity` messages, with
/// one receiver (make more with [`Sender::subscribe`]).
///
/// # Panics
/// If `capacity` is 0 (a channel that can hold no message could deliver
/// none), as tokio's `broadcast::channel` does.
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    make(capacity)
}

/// [`channel`], in either flavour.
#[track_caller]
pub(crate) fn make<T: Clone, F: Flavor>(capacity: usize) -> (Sender<T, F>, Receiver<T, F>) {
    assert!(capacity > 0, "broadcast::channel: the capacity must be at least 1 (got 0)");
    let slots = (0..capacity).map(|_| Slot { pos: 0, rem: 0, value: None }).collect();
    let state = State {
        ring: RefCell::new(Ring { slots, tail: 0, tail_index: 0 }),
        senders: Cell::new(1),
        receivers: Cell::new(1),
        waiters: RefCell::new(WaitList::new_in(F::THREAD_SAFE)),
        spare: RefCell::new(Vec::new()),
    };
    let shared = F::rc(F::share(state));
    (Sender { shared: shared.clone() }, Receiver { shared, cursor: Cursor { next: 0, index: 0 } })
}

struct State<T> {
    ring: RefCell<Ring<T>>,
    senders: Cell<usize>,
    receivers: Cell<usize>,
    /// Receivers waiting for a message (or the close).
    waiters: RefCell<WaitList>,
    /// The wakers of a send, collected in its step and woken after: kept
    /// between sends, so waking ten thousand receivers allocates nothing.
    spare: RefCell<Vec<CompactWaker>>,
}

struct Ring<T> {
    slots: Box<[Slot<T>]>,
    /// The position of the next message sent (messages sent so far).
    tail: u64,
    /// `tail % capacity`, kept beside it: no division per message.
    tail_index: usize,
}

struct Slot<T> {
    /// The position of the message here; meaningful once one was written.
    pos: u64,
    /// Receivers that have yet to take it.
    rem: usize,
    /// `None` once every receiver took it (or before the first send).
    value: Option<T>,
}

/// Where a receiver reads next.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    next: u64,
    /// `next % capacity`.
    index: usize,
}

impl Cursor {
    fn advance(&mut self, capacity: usize) {
        self.next += 1;
        self.index += 1;
        if self.index == capacity {
            self.index = 0;
        }
    }

    fn jump(&mut self, to: u64, capacity: usize) {
        self.next = to;
        self.index = (to % capacity as u64) as usize;
    }
}

impl<T: Clone> Ring<T> {
    /// The receiver's next message, in one step: `Empty` or a `Lagged`
    /// changes nothing but the cursor; `Ok` moves it on, and leaves the
    /// message to the others (or takes it out, for the last reader).
    fn take(&mut self, cursor: &mut Cursor) -> Result<T, TryRecvError> {
        if cursor.next == self.tail {
            return Err(TryRecvError::Empty);
        }
        let capacity = self.slots.len();
        let slot = &mut self.slots[cursor.index];
        if slot.pos != cursor.next {
            // Overwritten: the oldest message kept is `capacity` behind the tail.
            let oldest = self.tail - capacity as u64;
            let missed = oldest - cursor.next;
            cursor.jump(oldest, capacity);
            return Err(TryRecvError::Lagged(missed));
        }
        let value = if slot.rem == 1 {
            slot.value.take().expect("a message not yet taken by everyone is there")
        } else {
            // Cloned before anything changes: a `Clone` that panics leaves the ring as it was.
            slot.value.clone().expect("a message not yet taken by everyone is there")
        };
        slot.rem -= 1;
        cursor.advance(capacity);
        Ok(value)
    }
}

/// Sends to every [`Receiver`]; cheap to clone. The channel closes when
/// the last sender is dropped.
pub struct Sender<T, F: Flavor = Local> {
    shared: F::Rc<F::Shared<State<T>>>,
}

/// Receives every message sent after it subscribed, in order; a receiver
/// that falls more than the capacity behind learns how many it missed.
/// [`resubscribe`](Self::resubscribe) makes another one.
pub struct Receiver<T, F: Flavor = Local> {
    shared: F::Rc<F::Shared<State<T>>>,
    cursor: Cursor,
}

/// The error of [`Sender::send`] (and `watch::Sender::send`) with no
/// receiver: the message comes back, not stored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel has no receiver")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// The error of [`Receiver::recv`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvError {
    /// Every sender is gone and every message was read.
    Closed,
    /// The receiver fell behind: this many messages were overwritten
    /// before it read them. The next `recv` returns the oldest message
    /// still kept.
    Lagged(u64),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("broadcast channel closed"),
            RecvError::Lagged(n) => write!(f, "broadcast receiver lagged behind by {n} messages"),
        }
    }
}

impl std::error::Error for RecvError {}

/// The error of [`Receiver::try_recv`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// No message now.
    Empty,
    /// Every sender is gone and every message was read.
    Closed,
    /// The receiver fell behind by this many messages (see [`RecvError::Lagged`]).
    Lagged(u64),
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("broadcast channel empty"),
            TryRecvError::Closed => f.write_str("broadcast channel closed"),
            TryRecvError::Lagged(n) => write!(f, "broadcast receiver lagged behind by {n} messages"),
        }
    }
}

impl std::error::Error for TryRecvError {}

impl<T, F: Flavor> Sender<T, F> {
    /// Sends `value` to every receiver; returns how many there are. With
    /// none, fails and hands `value` back (nothing is stored). Never
    /// waits: once the ring is full, the oldest message is overwritten,
    /// and receivers that had not read it will get [`RecvError::Lagged`].
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let (receivers, old, mut woken) = {
            let state = F::step(&self.shared);
            let receivers = state.receivers.get();
            if receivers == 0 {
                return Err(SendError(value));
            }
            let mut ring = state.ring.borrow_mut();
            let (tail, index) = (ring.tail, ring.tail_index);
            let slot = &mut ring.slots[index];
            let old = slot.value.replace(value);
            slot.pos = tail;
            slot.rem = receivers;
            ring.tail = tail + 1;
            ring.tail_index = if index + 1 == ring.slots.len() { 0 } else { index + 1 };
            drop(ring);
            let mut woken = std::mem::take(&mut *state.spare.borrow_mut());
            state.waiters.borrow_mut().notify_all(&mut woken);
            (receivers, old, woken)
        };
        // After the step: an overwritten message's drop and the wakers run user code.
        drop(old);
        if !woken.is_empty() {
            woken.drain(..).for_each(CompactWaker::wake);
            let state = F::step(&self.shared);
            let mut spare = state.spare.borrow_mut();
            if spare.capacity() < woken.capacity() {
                *spare = woken;
            }
        }
        Ok(receivers)
    }

    /// A new receiver, which will see the messages sent from now on.
    pub fn subscribe(&self) -> Receiver<T, F> {
        Receiver::at_the_tail(&self.shared)
    }

    /// The number of receivers.
    pub fn receiver_count(&self) -> usize {
        F::step(&self.shared).receivers.get()
    }

    /// The number of senders (this one and its clones).
    pub fn sender_count(&self) -> usize {
        F::step(&self.shared).senders.get()
    }

    /// The most messages the channel keeps.
    pub fn capacity(&self) -> usize {
        F::step(&self.shared).ring.borrow().slots.len()
    }
}

impl<T, F: Flavor> Clone for Sender<T, F> {
    fn clone(&self) -> Self {
        let state = F::step(&self.shared);
        state.senders.set(state.senders.get() + 1);
        drop(state);
        Sender { shared: self.shared.clone() }
    }
}

impl<T, F: Flavor> Drop for Sender<T, F> {
    fn drop(&mut self) {
        let mut woken = Vec::new();
        {
            let state = F::step(&self.shared);
            state.senders.set(state.senders.get() - 1);
            if state.senders.get() == 0 {
                // Closed: every waiting receiver wakes to read what is left.
                state.waiters.borrow_mut().notify_all(&mut woken);
            }
        }
        woken.into_iter().for_each(CompactWaker::wake);
    }
}

impl<T, F: Flavor> fmt::Debug for Sender<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = F::step(&self.shared);
        f.debug_struct("Sender")
            .field("senders", &state.senders.get())
            .field("receivers", &state.receivers.get())
            .finish_non_exhaustive()
    }
}

impl<T: Clone, F: Flavor> Receiver<T, F> {
    /// Waits (in a green task) for the next message. `Err(Lagged(n))` if
    /// `n` messages were overwritten before this receiver read them (the
    /// next call returns the oldest kept); `Err(Closed)` once every sender
    /// is gone and every message was read.
    ///
    /// Cancellation-safe: dropping the future loses no message (the next
    /// `recv` gets it).
    pub fn recv(&mut self) -> Recv<'_, T, F> {
        Recv { rx: self, key: None }
    }

    /// The next message, if there is one now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Receiver { shared, cursor } = self;
        let state = F::step(shared);
        let got = state.ring.borrow_mut().take(cursor);
        match got {
            Err(TryRecvError::Empty) if state.senders.get() == 0 => Err(TryRecvError::Closed),
            got => got,
        }
    }
}

impl<T: Clone> Receiver<T, ThreadSafe> {
    /// Blocks this OS thread for the next message.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn recv_blocking(&mut self) -> Result<T, RecvError> {
        block_on("broadcast::Receiver::recv_blocking", self.recv())
    }
}

impl<T, F: Flavor> Receiver<T, F> {
    /// Another receiver, reading from the newest message on (what this one
    /// has not read yet, it will not see).
    pub fn resubscribe(&self) -> Receiver<T, F> {
        Receiver::at_the_tail(&self.shared)
    }

    /// A new receiver of `shared`, reading from the next message sent.
    fn at_the_tail(shared: &F::Rc<F::Shared<State<T>>>) -> Receiver<T, F> {
        let state = F::step(shared);
        state.receivers.set(state.receivers.get() + 1);
        let ring = state.ring.borrow();
        let cursor = Cursor { next: ring.tail, index: ring.tail_index };
        drop(ring);
        drop(state);
        Receiver { shared: shared.clone(), cursor }
    }

    /// How many messages are there for this receiver to read (some may
    /// have been overwritten: see [`RecvError::Lagged`]).
    pub fn len(&self) -> usize {
        let tail = F::step(&self.shared).ring.borrow().tail;
        (tail - self.cursor.next) as usize
    }

    /// Whether there is no message to read now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone (messages may be left to read).
    pub fn is_closed(&self) -> bool {
        F::step(&self.shared).senders.get() == 0
    }

    /// The number of receivers, this one included.
    pub fn receiver_count(&self) -> usize {
        F::step(&self.shared).receivers.get()
    }
}

impl<T, F: Flavor> Drop for Receiver<T, F> {
    /// Gives up its claim on every message it has not read: a message only
    /// it still needed is dropped (after the step).
    fn drop(&mut self) {
        let mut unread = Vec::new();
        {
            let state = F::step(&self.shared);
            state.receivers.set(state.receivers.get() - 1);
            let mut ring = state.ring.borrow_mut();
            let capacity = ring.slots.len() as u64;
            let oldest = ring.tail.saturating_sub(capacity).max(self.cursor.next);
            for pos in oldest..ring.tail {
                let slot = &mut ring.slots[(pos % capacity) as usize];
                if slot.pos == pos {
                    slot.rem -= 1;
                    if slot.rem == 0 {
                        unread.extend(slot.value.take());
                    }
                }
            }
        }
        drop(unread);
    }
}

impl<T, F: Flavor> fmt::Debug for Receiver<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("next", &self.cursor.next).finish_non_exhaustive()
    }
}

/// The future returned by [`Receiver::recv`]. Dropping it loses nothing.
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T, F: Flavor = Local> {
    rx: &'a mut Receiver<T, F>,
    key: Option<u32>,
}

impl<T: Clone, F: Flavor> Future for Recv<'_, T, F> {
    type Output = Result<T, RecvError>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Receiver { shared, cursor } = &mut *this.rx;
        if let Some(key) = this.key {
            // Woken by a send or the close; anything else is spurious.
            if F::step(shared).waiters.borrow_mut().poll_take(key, cx.waker()).is_none() {
                waiting_shared(WaitOn::Broadcast, F::THREAD_SAFE);
                return Poll::Pending;
            }
            this.key = None;
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        // Look and register in one step: a send cannot fall in between.
        let state = F::step(shared);
        let got = state.ring.borrow_mut().take(cursor);
        match got {
            Ok(value) => Poll::Ready(Ok(value)),
            Err(TryRecvError::Lagged(n)) => Poll::Ready(Err(RecvError::Lagged(n))),
            Err(TryRecvError::Closed) => Poll::Ready(Err(RecvError::Closed)),
            Err(TryRecvError::Empty) if state.senders.get() == 0 => Poll::Ready(Err(RecvError::Closed)),
            Err(TryRecvError::Empty) => {
                this.key = Some(state.waiters.borrow_mut().push(cx.waker()));
                drop(state);
                waiting_shared(WaitOn::Broadcast, F::THREAD_SAFE);
                Poll::Pending
            }
        }
    }
}

impl<T, F: Flavor> Drop for Recv<'_, T, F> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // A wake carries nothing: messages stay in the ring for the next `recv`.
            let _ = F::step(&self.rx.shared).waiters.borrow_mut().cancel(key);
        }
    }
}

impl<T, F: Flavor> fmt::Debug for Recv<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").field("waiting", &self.key.is_some()).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::sync::poll_once as poll;

    use std::rc::Rc;
    use std::task::Poll;

    use super::{RecvError, TryRecvError, channel};

    #[test]
    fn a_slow_receiver_lags_and_skips_to_the_oldest_kept() {
        let (tx, mut slow) = channel(3);
        let mut fast = tx.subscribe();
        for n in 0..5 {
            assert_eq!(tx.send(n), Ok(2));
            assert_eq!(fast.try_recv(), Ok(n));
        }
        assert_eq!(slow.len(), 5);
        assert_eq!(slow.try_recv(), Err(TryRecvError::Lagged(2)));
        assert_eq!((slow.try_recv(), slow.try_recv(), slow.try_recv()), (Ok(2), Ok(3), Ok(4)));
        assert_eq!(slow.try_recv(), Err(TryRecvError::Empty));
        drop(tx);
        assert_eq!(slow.try_recv(), Err(TryRecvError::Closed));
        assert!(matches!(poll(&mut fast.recv()), Poll::Ready(Err(RecvError::Closed))));
    }

    #[test]
    fn the_last_reader_takes_the_message_and_a_dropped_receiver_lets_go() {
        let (tx, mut a) = channel(4);
        let mut b = tx.subscribe();
        let message = Rc::new(());
        tx.send(message.clone()).unwrap();
        assert_eq!(Rc::strong_count(&message), 2, "one copy in the ring");
        let got = a.try_recv().unwrap();
        assert_eq!(Rc::strong_count(&message), 3, "a clone for the first reader");
        drop(got);
        drop(b.try_recv().unwrap());
        assert_eq!(Rc::strong_count(&message), 1, "the last reader took it out");
        tx.send(message.clone()).unwrap();
        drop(a); // b still needs it
        assert_eq!(Rc::strong_count(&message), 2);
        drop(b); // nobody does
        assert_eq!(Rc::strong_count(&message), 1, "a dropped receiver released its unread message");
        assert_eq!(tx.send(message.clone()).map_err(|e| Rc::strong_count(&e.0)), Err(2), "no receiver: handed back");
    }

    #[test]
    fn a_dropped_recv_loses_nothing() {
        let (tx, mut rx) = channel(2);
        let mut recv = rx.recv();
        assert!(poll(&mut recv).is_pending());
        tx.send(1).unwrap();
        drop(recv); // woken, never polled again
        assert_eq!(poll(&mut rx.recv()), Poll::Ready(Ok(1)));
    }

    #[test]
    #[should_panic(expected = "capacity must be at least 1")]
    fn capacity_zero_is_a_clear_panic() {
        let _ = channel::<u8>(0);
    }
}
