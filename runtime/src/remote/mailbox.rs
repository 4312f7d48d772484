//! The cross-thread inject queue: how other threads reach the runtime.
//!
//! Other threads never touch a task's state. They post a [`Message`] here
//! and, for messages that need prompt attention, rouse the reactor through
//! `mio::Waker` (an eventfd on Linux). The runtime thread drains the queue
//! once per loop turn, when one of the two flags says there is something.
//!
//! # Shutdown
//! The runtime's shutdown reads the queue exactly twice, whatever other
//! threads keep posting ([`Remote::shut_down`]; "Shutdown is bounded" in
//! docs/architecture.md). A message posted after `close` is handed back to
//! its poster, which settles it (a `Run` closure is dropped, a task
//! reference given back or leaked, see `task/waker.rs`): nothing waits for
//! a thread that keeps posting.

use std::collections::VecDeque;
use std::sync::Arc;

// The queue's lock and flags come from the loom shim, so that the models in
// `remote/loom_models.rs` run this very code under loom.
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, Ordering};

use super::directory::Unregister;
use crate::loom::lock;
use crate::task::home::Mailbox;
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
    /// runtime was not running (see `remote/directory.rs`).
    Unregister(Unregister),
}

struct Queue {
    messages: VecDeque<Message>,
    /// Set when the runtime starts shutting down (`begin_shutdown`): later
    /// `Run` closures are refused (handed back to the poster), while wakes
    /// and releases are still queued for the shutdown's last batch.
    refuse_closures: bool,
    /// Set when the runtime has read its last batch (`close`); every later
    /// message is handed back to its poster.
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

    /// Posts a message, or hands it back: a `Run` closure once the runtime
    /// has begun to shut down, any message once it has read its last batch
    /// (`close`). The poster settles what comes back: it drops a closure,
    /// and gives back or leaks a task reference (`task/waker.rs`); it never
    /// waits for the runtime.
    ///
    /// The message goes in under the queue's lock; the eventfd write, when
    /// one is due, comes after the unlock. The moment the lock is released
    /// the runtime may read the message, finish, and free this `Remote`
    /// (and close the eventfd), since the message may have carried the last
    /// reference that kept it alive (a task's last reference keeps its
    /// `TaskHome`, which holds this mailbox): so the poster
    /// clones the eventfd's `Arc` under the lock and writes through the
    /// clone, touching nothing of the `Remote` after the unlock. Writing
    /// under the lock instead made the woken runtime thread find the lock
    /// still held and sleep on it (a futex wait on one side, a futex wake on
    /// the other): a cross-thread ping-pong measured 13.5 µs per round trip
    /// that way against 2.5 µs with the write after the unlock
    /// (`benches/cores.rs`).
    pub(crate) fn post(&self, msg: Message) -> Result<(), Message> {
        let urgent = !matches!(msg, Message::Release(..));
        let mut q = lock(&self.queue);
        if q.closed || (q.refuse_closures && matches!(msg, Message::Run(_))) {
            return Err(msg);
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

    /// A waker that rouses the runtime's poll without posting anything
    /// (its eventfd): how the other runtimes sharing a virtual clock make
    /// this one look at the clock again (`time/virtual_clock.rs`). The
    /// loop then drains an empty queue and reads the clock.
    pub(crate) fn rouser(self: &Arc<Self>) -> std::task::Waker {
        std::task::Waker::from(Arc::new(Rouse(Arc::clone(&self.waker))))
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

    /// The shutdown's first read (see [`shut_down`](Self::shut_down)):
    /// refuses later `Run` closures and returns every message queued so
    /// far, in one step under the lock, so the batch holds exactly the
    /// closures that were accepted (they run, and what they spawn is killed
    /// with the rest). Wakes, releases and unregisters posted from now on
    /// wait for [`close`](Self::close).
    fn begin_shutdown(&self) -> VecDeque<Message> {
        self.notified.store(false, Ordering::SeqCst);
        self.pending.store(false, Ordering::SeqCst);
        let mut q = lock(&self.queue);
        q.refuse_closures = true;
        std::mem::take(&mut q.messages)
    }

    /// The shutdown's last read (see [`shut_down`](Self::shut_down)):
    /// refuses every later message (handed back to its poster, see
    /// [`post`](Self::post)) and returns the ones still queued, which are
    /// never closures once `begin_shutdown` has run.
    pub(crate) fn close(&self) -> VecDeque<Message> {
        let mut q = lock(&self.queue);
        q.refuse_closures = true;
        q.closed = true;
        std::mem::take(&mut q.messages)
    }

    /// The mailbox's part of the runtime's shutdown (`EventLoop::shutdown`): the
    /// first read (`begin_shutdown`), whose messages go to `handle`; then
    /// `tear_down` (the kills, the wakers); then the last read (`close`),
    /// to `handle` too. Two reads, whatever other threads keep posting, never
    /// "until the queue stays empty", which a thread waking a task in a loop
    /// would never let happen. The loom
    /// models run this very function against a waker that never stops.
    pub(crate) fn shut_down(&self, mut handle: impl FnMut(Message), tear_down: impl FnOnce()) {
        for message in self.begin_shutdown() {
            handle(message);
        }
        tear_down();
        for message in self.close() {
            handle(message);
        }
    }

    /// Whether the runtime has shut down, or is shutting down (it refuses
    /// closures).
    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.queue).refuse_closures
    }
}

/// The task layer's view of the mailbox (`task/home.rs`).
impl Mailbox for Remote {
    fn post_wake(&self, task: SentRef) -> Result<(), SentRef> {
        self.post(Message::Wake(task)).map_err(|refused| match refused {
            Message::Wake(task) => task,
            _ => unreachable!("a refused message is handed back as it was"),
        })
    }

    fn post_release(&self, task: SentRef) -> Result<(), SentRef> {
        self.post(Message::Release(task)).map_err(|refused| match refused {
            Message::Release(task) => task,
            _ => unreachable!("a refused message is handed back as it was"),
        })
    }

    fn post_run(&self, f: Box<dyn FnOnce() + Send>) -> Result<(), Box<dyn FnOnce() + Send>> {
        self.post(Message::Run(f)).map_err(|refused| match refused {
            Message::Run(f) => f,
            _ => unreachable!("a refused message is handed back as it was"),
        })
    }
}

/// [`Remote::rouser`]'s waker: holds the eventfd alone, so it keeps
/// nothing else of the runtime alive.
struct Rouse(Arc<Notifier>);

impl std::task::Wake for Rouse {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // A failed write means the eventfd's counter is full: it is
        // readable already, which is all a rouse wants.
        let _ = self.0.wake();
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
