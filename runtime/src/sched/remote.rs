//! The cross-thread inject queue: how other threads reach the runtime.
//!
//! Other threads never touch a task's state. They post a [`Message`] here
//! and, for messages that need prompt attention, rouse the reactor through
//! `mio::Waker` (an eventfd on Linux). The runtime thread drains the queue
//! once per loop turn, when one of the two flags says there is something.

use std::collections::VecDeque;
use std::sync::Arc;

// The queue's lock and flags come from the loom shim, so that the models in
// `sched/loom_models.rs` run this very code under loom.
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, Ordering};

use super::directory::Unregister;
use crate::loom::lock;
use crate::task::heap::Mailbox;
use crate::task::waker::SentRef;

/// Work posted to the runtime thread from elsewhere.
pub(crate) enum Message {
    /// Schedule the task, then give up the reference.
    Wake(SentRef),
    /// Give up the reference.
    Release(SentRef),
    /// Run a closure on the runtime thread (`Handle::spawn`, kills, callbacks).
    Run(Box<dyn FnOnce() + Send>),
    /// Forget a timer, a socket record or a waiter, dropped where the
    /// runtime was not running (see `sched/directory.rs`).
    Unregister(Unregister),
}

struct Queue {
    messages: VecDeque<Message>,
    /// Set when the runtime starts shutting down: later `Run` closures are
    /// refused (handed back to the poster), while wakes and releases are
    /// still handled.
    refuse_closures: bool,
    /// Set when the runtime has shut down; later messages are refused.
    closed: bool,
}

/// The runtime's cross-thread queue. See the module docs.
pub(crate) struct Remote {
    queue: Mutex<Queue>,
    /// The eventfd was written since the runtime last drained the queue:
    /// later wake-ups need not write it again.
    notified: AtomicBool,
    /// Messages that need no prompt attention (releases) are waiting.
    pending: AtomicBool,
    /// Shared, so that a poster can write it after releasing `queue` (see
    /// `post`) while the `Remote` itself may already be gone.
    waker: Arc<Notifier>,
}

impl Remote {
    pub(crate) fn new(waker: mio::Waker) -> Remote {
        Remote::with_notifier(Notifier::from(waker))
    }

    fn with_notifier(waker: Notifier) -> Remote {
        Remote {
            queue: Mutex::new(Queue { messages: VecDeque::new(), refuse_closures: false, closed: false }),
            notified: AtomicBool::new(false),
            pending: AtomicBool::new(false),
            waker: Arc::new(waker),
        }
    }

    /// Posts a message. If the runtime has shut down the message is refused:
    /// a `Run` closure is handed back, task references are leaked (see
    /// `task/waker.rs`).
    ///
    /// The message goes in under the queue's lock; the eventfd write, when
    /// one is due, comes after the unlock. The moment the lock is released
    /// the runtime may read the message, finish, and free this `Remote`
    /// (and close the eventfd), since the message may have carried the last
    /// reference that kept it alive (a task's last reference keeps its
    /// `TaskHeap`, which holds this mailbox; issue 8, bug 4): so the poster
    /// clones the eventfd's `Arc` under the lock and writes through the
    /// clone, touching nothing of the `Remote` after the unlock. Writing
    /// under the lock instead made the woken runtime thread find the lock
    /// still held and sleep on it (a futex wait on one side, a futex wake on
    /// the other): a cross-thread ping-pong measured 13.5 µs per round trip
    /// that way against 2.5 µs with the write after the unlock
    /// (`benches/cores.rs`, issue 12).
    pub(crate) fn post(&self, msg: Message) -> Result<(), Message> {
        let urgent = !matches!(msg, Message::Release(..));
        let mut q = lock(&self.queue);
        if let Message::Run(_) = msg {
            if q.refuse_closures {
                return Err(msg);
            }
        }
        if q.closed {
            return match msg {
                Message::Run(_) => Err(msg),
                // Leak the reference: the task must not be freed here, and
                // its runtime will never read the queue again.
                other => {
                    std::mem::forget(other);
                    Ok(())
                }
            };
        }
        q.messages.push_back(msg);
        if !urgent {
            self.pending.store(true, Ordering::Release);
            return Ok(());
        }
        if self.notified.swap(true, Ordering::AcqRel) {
            // Written since the last drain: the runtime is already roused.
            return Ok(());
        }
        // The eventfd is closed when its last owner goes: with this count,
        // not before the write, even if the `Remote` is freed meanwhile.
        let waker = Arc::clone(&self.waker);
        drop(q);
        // From here on, nothing of `self` is touched.
        let _ = waker.wake();
        Ok(())
    }

    /// Whether a drain would find anything. A relaxed look: a message that
    /// races past it is found next turn, and urgent ones also wake the poll.
    #[inline]
    pub(crate) fn has_messages(&self) -> bool {
        self.notified.load(Ordering::Relaxed) || self.pending.load(Ordering::Relaxed)
    }

    /// Moves every queued message into `out`.
    pub(crate) fn drain(&self, out: &mut VecDeque<Message>) {
        // Clear the flags first: a message posted after this point either is
        // drained below or sets them again (and wakes the poll).
        self.notified.store(false, Ordering::SeqCst);
        self.pending.store(false, Ordering::SeqCst);
        let mut q = lock(&self.queue);
        std::mem::swap(&mut q.messages, out);
    }

    /// Refuses later `Run` closures: the runtime is shutting down. The
    /// ones already queued stay, for the shutdown to run.
    pub(crate) fn refuse_closures(&self) {
        lock(&self.queue).refuse_closures = true;
    }

    /// Refuses all later messages and returns the ones still queued.
    pub(crate) fn close(&self) -> VecDeque<Message> {
        let mut q = lock(&self.queue);
        q.refuse_closures = true;
        q.closed = true;
        std::mem::take(&mut q.messages)
    }

    /// Whether the runtime has shut down, or is shutting down (it refuses
    /// closures).
    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.queue).refuse_closures
    }
}

/// The task layer's view of the mailbox (`task/heap.rs`).
impl Mailbox for Remote {
    fn post_wake(&self, task: SentRef) {
        // Task messages are never refused: a closed queue leaks them instead.
        let _ = self.post(Message::Wake(task));
    }

    fn post_release(&self, task: SentRef) {
        let _ = self.post(Message::Release(task));
    }

    fn post_run(&self, f: Box<dyn FnOnce() + Send>) -> Result<(), Box<dyn FnOnce() + Send>> {
        self.post(Message::Run(f)).map_err(|refused| match refused {
            Message::Run(f) => f,
            _ => unreachable!("only closures are refused"),
        })
    }
}

/// What rouses the runtime's poll: the eventfd behind `mio::Waker`.
#[cfg(not(loom))]
type Notifier = mio::Waker;

/// Under loom: the eventfd, or, in a model, a counter a model thread can
/// block on as the runtime blocks in `epoll_wait` (see `loom_models.rs`).
#[cfg(loom)]
pub(crate) enum Notifier {
    Mio(mio::Waker),
    Model(Arc<ModelEventFd>),
}

#[cfg(loom)]
impl From<mio::Waker> for Notifier {
    fn from(waker: mio::Waker) -> Notifier {
        Notifier::Mio(waker)
    }
}

#[cfg(loom)]
impl Notifier {
    fn wake(&self) -> std::io::Result<()> {
        match self {
            Notifier::Mio(waker) => waker.wake(),
            Notifier::Model(eventfd) => {
                eventfd.write();
                Ok(())
            }
        }
    }
}

/// An eventfd for loom models: `write` adds one, `wait` blocks until the
/// count is non-zero and resets it, as an `epoll_wait` that reports the
/// eventfd and the drain of its counter do.
#[cfg(loom)]
pub(crate) struct ModelEventFd {
    count: Mutex<u64>,
    ready: crate::loom::sync::Condvar,
}

#[cfg(loom)]
impl ModelEventFd {
    pub(crate) fn new() -> ModelEventFd {
        ModelEventFd { count: Mutex::new(0), ready: crate::loom::sync::Condvar::new() }
    }

    fn write(&self) {
        *self.count.lock().unwrap() += 1;
        self.ready.notify_one();
    }

    pub(crate) fn wait(&self) {
        let mut count = self.count.lock().unwrap();
        while *count == 0 {
            count = self.ready.wait(count).unwrap();
        }
        *count = 0;
    }
}

#[cfg(loom)]
impl Remote {
    /// A Remote whose wake-ups go to `eventfd`, for the loom models.
    pub(crate) fn for_model(eventfd: Arc<ModelEventFd>) -> Remote {
        Remote::with_notifier(Notifier::Model(eventfd))
    }
}
