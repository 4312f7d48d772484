//! `channel`: a bounded queue between cores.
//!
//! A thin layer over the thread-safe [`Queue`](crate::queue::threadsafe::Queue):
//! its mutex-protected buffer, its waiter lists and its wake-ups already do
//! the work, and its wake-ups go through each task's own waker, so a task
//! waiting on another core is woken by a message to that core's runtime
//! (its cross-thread queue plus one eventfd write when the runtime sleeps).
//! This module adds what a channel has and a queue has not: the two ends,
//! and closing when either side is gone.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::queue::threadsafe::Queue;
use crate::queue::{GetError, PutError};

/// A bounded multi-producer, multi-consumer channel whose ends are `Send`
/// and `Clone`: give the sender to tasks on one core and the receiver to
/// tasks on another. A full channel makes `send` wait, an empty one makes
/// `recv` wait, each without blocking its thread.
///
/// When every [`Sender`] is gone, receivers take what is left, then get
/// `None`; when every [`Receiver`] is gone, sends fail and hand the value
/// back.
///
/// ```
/// use sprout::cores;
///
/// let (tx, rx) = cores::channel::<u64>(16);
/// let out = cores::run(2, move |core| {
///     let (tx, rx) = (tx.clone(), rx.clone());
///     async move {
///         if core.id() == 0 {
///             for n in 1..=100 {
///                 tx.send(n).await?; // waits while 16 values are queued
///             }
///             Ok::<u64, cores::SendError<u64>>(0)
///         } else {
///             let mut sum = 0;
///             for _ in 0..100 {
///                 sum += rx.recv().await.expect("core 0 keeps a sender");
///             }
///             Ok(sum)
///         }
///     }
/// });
/// assert_eq!(out.unwrap(), [0, 5050]);
/// ```
///
/// The ends the closure of [`run`](super::run) captures live as long as
/// the cores do (the closure is shared by every core's thread): a receiver
/// waiting for `None` while such a sender lives waits forever. Count the
/// values, send a last one that says "done", or pass the ends through
/// something each core takes them from once.
///
/// # Panics
/// If `capacity` is 0: a channel between threads needs room for one value.
#[track_caller]
pub fn channel<T: Send>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "cores::channel needs a capacity of at least 1");
    let chan =
        Arc::new(Chan { queue: Queue::new(capacity), senders: AtomicUsize::new(1), receivers: AtomicUsize::new(1) });
    (Sender { chan: chan.clone() }, Receiver { chan })
}

struct Chan<T> {
    queue: Queue<T>,
    senders: AtomicUsize,
    receivers: AtomicUsize,
}

/// The sending end of a [`channel`]; clone it for more senders.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving end of a [`channel`]; clone it for more receivers (each
/// value goes to one of them).
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

/// The error of a send on a channel whose receivers are all gone: the
/// value comes back.
#[derive(PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// The error of [`Sender::try_send`].
#[derive(PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is full; the value comes back.
    Full(T),
    /// Every receiver is gone; the value comes back.
    Closed(T),
}

/// The error of [`Receiver::try_recv`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing is waiting now.
    Empty,
    /// Every sender is gone and nothing is left.
    Closed,
}

impl<T: Send> Sender<T> {
    /// Sends `value`, waiting while the channel is full.
    ///
    /// Dropping the future before it completes drops the value with it,
    /// unless a receiver already took it.
    ///
    /// # Errors
    /// [`SendError`] (with the value) if every receiver is gone.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan.queue.put(value).await.map_err(|closed| SendError(closed.0))
    }

    /// Sends `value` if there is room now.
    ///
    /// # Errors
    /// `Full` or `Closed`, with the value.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.queue.put_nowait(value).map_err(|e| match e {
            PutError::Full(v) => TrySendError::Full(v),
            PutError::Closed(v) => TrySendError::Closed(v),
        })
    }

    /// Sends `value` from a plain OS thread, blocking while the channel is
    /// full.
    ///
    /// # Errors
    /// [`SendError`] if every receiver is gone.
    ///
    /// # Panics
    /// Inside a sprout runtime: `.await` [`send`](Self::send) there.
    #[track_caller]
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        self.chan.queue.put_blocking(value).map_err(|closed| SendError(closed.0))
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.chan.queue.is_closed()
    }
}

impl<T: Send> Receiver<T> {
    /// Receives a value, waiting while the channel is empty; `None` once
    /// every sender is gone and the channel is drained. Cancellation-safe:
    /// a dropped `recv` loses no value.
    pub async fn recv(&self) -> Option<T> {
        self.chan.queue.get().await.ok()
    }

    /// Receives a value if one is waiting.
    ///
    /// # Errors
    /// `Empty`, or `Closed` once every sender is gone and nothing is left.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.queue.get_nowait().map_err(|e| match e {
            GetError::Empty => TryRecvError::Empty,
            GetError::Closed => TryRecvError::Closed,
        })
    }

    /// Receives a value from a plain OS thread, blocking while the channel
    /// is empty; `None` once it is closed and drained.
    ///
    /// # Panics
    /// Inside a sprout runtime: `.await` [`recv`](Self::recv) there.
    #[track_caller]
    pub fn recv_blocking(&self) -> Option<T> {
        self.chan.queue.get_blocking().ok()
    }

    /// The values waiting now.
    pub fn len(&self) -> usize {
        self.chan.queue.qsize()
    }

    /// Whether no value is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.chan.senders.fetch_add(1, Ordering::Relaxed);
        Sender { chan: self.chan.clone() }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        self.chan.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver { chan: self.chan.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // AcqRel: the last one out sees every other end's drop before it closes.
        if self.chan.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.queue.close();
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.chan.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.queue.close();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("closed", &self.chan.queue.is_closed()).finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("len", &self.chan.queue.qsize()).finish()
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a channel whose receivers are gone")
    }
}

impl<T> std::error::Error for SendError<T> {}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "Full(..)",
            TrySendError::Closed(_) => "Closed(..)",
        })
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "the channel is full",
            TrySendError::Closed(_) => "sending on a channel whose receivers are gone",
        })
    }
}

impl<T> std::error::Error for TrySendError<T> {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "the channel is empty",
            TryRecvError::Closed => "the channel is closed and empty",
        })
    }
}

impl std::error::Error for TryRecvError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_sender_closes_the_channel_after_its_values() {
        let (tx, rx) = channel(2);
        let tx2 = tx.clone();
        tx.try_send(1).unwrap();
        tx2.try_send(2).unwrap();
        assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
        drop(tx);
        assert_eq!(rx.try_recv(), Ok(1));
        drop(tx2);
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }

    #[test]
    fn the_last_receiver_closes_the_channel_for_senders() {
        let (tx, rx) = channel(1);
        let rx2 = rx.clone();
        drop(rx);
        assert!(!tx.is_closed());
        drop(rx2);
        assert!(matches!(tx.try_send(7), Err(TrySendError::Closed(7))));
    }
}
