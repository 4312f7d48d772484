//! The reactor: one `mio::Poll`, and the readiness of every registered source.
//!
//! Ground rules:
//! - A source is registered once, edge-triggered, for both directions, and
//!   deregistered when its owner drops it (`io::IoSource`).
//! - Readiness is cached per source and cleared only after an operation
//!   returned `WouldBlock`. The runtime is single-threaded, so no event can
//!   arrive between that syscall and the clear (events are only recorded
//!   during the loop's turn, never during a task's poll); an edge that comes
//!   after the syscall is reported by the next `epoll_wait`. This is why,
//!   unlike multi-threaded reactors, no tick guards the clear.
//! - Readers and writers wait in separate lists, so one task reading and
//!   another writing the same socket both make progress.
//! - A future that stops waiting without being woken parks its entry: still
//!   woken at the next event, no longer counted as a waiting task
//!   (`scheduled_io.rs`, `__net::Waiter`).
//! - Wakers are collected while the slab is borrowed and woken after.

pub(crate) mod scheduled_io;
pub(crate) mod token;

use std::cell::{Cell, RefCell};
use std::io;
use std::task::{Context, Poll};
use std::time::Duration;

use mio::event::Source;
use mio::{Events, Interest};
use slab::Slab;

use crate::scoped::{self, Reset};
use crate::task::compact::CompactWaker;
use scheduled_io::ScheduledIo;
pub(crate) use scheduled_io::{Direction, WaitKey};

thread_local! {
    /// The reactor of the runtime running on this thread.
    static CURRENT: Cell<*const Reactor> = const { Cell::new(std::ptr::null()) };
}

/// The reactor. See the module docs.
pub(crate) struct Reactor {
    /// The runtime's serial: a `Registration` records it, so that it can
    /// tell this reactor from another runtime's.
    serial: u32,
    poll: RefCell<mio::Poll>,
    events: RefCell<Events>,
    sources: RefCell<Slab<ScheduledIo>>,
    /// The next registration's generation (see `token.rs`).
    generation: Cell<u32>,
    /// Events received, for `sprout::metrics()` (one add per turn).
    events_seen: Cell<u64>,
}

/// Where a registered source lives: its slab key and generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IoKey {
    pub(crate) key: u32,
    pub(crate) generation: u32,
}

impl Reactor {
    /// Creates the poller and the cross-thread waker registered with it.
    pub(crate) fn new(event_capacity: usize, serial: u32) -> io::Result<(Reactor, mio::Waker)> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), token::WAKER)?;
        let reactor = Reactor {
            serial,
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(event_capacity.max(1))),
            sources: RefCell::new(Slab::new()),
            generation: Cell::new(0),
            events_seen: Cell::new(0),
        };
        Ok((reactor, waker))
    }

    /// The reactor of the runtime running on this thread, if any.
    #[inline]
    pub(crate) fn current<'a>() -> Option<&'a Reactor> {
        scoped::get(&CURRENT)
    }

    /// Makes this the current reactor until the guard drops (the loop's `enter`).
    pub(crate) fn enter(&self) -> Reset<Reactor> {
        scoped::set(&CURRENT, self)
    }

    /// The serial of the runtime this reactor belongs to.
    #[inline]
    pub(crate) fn serial(&self) -> u32 {
        self.serial
    }

    /// Registers `source` for readable and writable events.
    pub(crate) fn register(&self, source: &mut impl Source, interest: Interest) -> io::Result<IoKey> {
        let generation = self.generation.get();
        self.generation.set(generation.wrapping_add(1) & token::GENERATION_MASK);
        let key = self.sources.borrow_mut().insert(ScheduledIo::new(generation));
        let token = token::pack(key, generation);
        if let Err(e) = self.poll.borrow().registry().register(source, token, interest) {
            self.sources.borrow_mut().remove(key);
            return Err(e);
        }
        Ok(IoKey { key: key as u32, generation })
    }

    /// Removes `source` from the poller.
    pub(crate) fn deregister(&self, source: &mut impl Source) -> io::Result<()> {
        self.poll.borrow().registry().deregister(source)
    }

    /// Forgets a source's record. Its waiters are handed back to be dropped
    /// after the slab is released.
    pub(crate) fn release(&self, io: IoKey) -> Option<ScheduledIo> {
        let mut sources = self.sources.borrow_mut();
        match sources.get(io.key as usize) {
            Some(s) if s.generation == io.generation => Some(sources.remove(io.key as usize)),
            _ => None,
        }
    }

    /// Returns the readiness bits that let `dir` proceed, or registers the
    /// task to wake when one of them arrives.
    #[inline]
    pub(crate) fn poll_ready(&self, io: IoKey, dir: Direction, cx: &mut Context<'_>) -> Poll<u8> {
        let mask = dir.mask();
        let mut sources = self.sources.borrow_mut();
        let Some(s) = sources.get_mut(io.key as usize).filter(|s| s.generation == io.generation) else {
            // Released: report everything so the caller's syscall surfaces the error.
            return Poll::Ready(mask);
        };
        let ready = s.readiness & mask;
        if ready != 0 {
            return Poll::Ready(ready);
        }
        match dir {
            Direction::Read => s.readers.register(cx.waker()),
            Direction::Write => s.writers.register(cx.waker()),
        }
        Poll::Pending
    }

    /// Parks the waiter of a future that was dropped while it waited (see
    /// `scheduled_io::Waiters`). A duplicate is handed back to be dropped
    /// after the slab is released.
    #[cold]
    pub(crate) fn park_waiter(&self, io: IoKey, dir: Direction, key: WaitKey) -> Option<CompactWaker> {
        let mut sources = self.sources.borrow_mut();
        let s = sources.get_mut(io.key as usize).filter(|s| s.generation == io.generation)?;
        match dir {
            Direction::Read => s.readers.park(key),
            Direction::Write => s.writers.park(key),
        }
    }

    /// Clears the readiness `bits`. Which bits an operation may clear is
    /// `io::Registration`'s rule (all it saw after `WouldBlock`, the data
    /// bits only after a short read or write).
    #[inline]
    pub(crate) fn clear_readiness(&self, io: IoKey, bits: u8) {
        let mut sources = self.sources.borrow_mut();
        if let Some(s) = sources.get_mut(io.key as usize).filter(|s| s.generation == io.generation) {
            s.readiness &= !bits;
        }
    }

    /// Forgets every source (shutdown); their waiters are dropped after the
    /// slab is released.
    pub(crate) fn clear_all(&self) {
        let sources = std::mem::take(&mut *self.sources.borrow_mut());
        drop(sources);
    }

    /// Whether any source is registered. With none, a non-blocking poll
    /// could only report the cross-thread waker, which the loop checks
    /// through its flags instead, so the loop skips the syscall.
    pub(crate) fn has_sources(&self) -> bool {
        !self.sources.borrow().is_empty()
    }

    /// The number of registered sources.
    pub(crate) fn source_count(&self) -> usize {
        self.sources.borrow().len()
    }

    /// Whether any task waits on any source (for `sprout::wait`). O(sources).
    pub(crate) fn has_waiters(&self) -> bool {
        self.sources.borrow().iter().any(|(_, s)| s.has_waiters())
    }

    /// Whether an event on some source would wake anyone, parked waiters
    /// included (for the deadlock check). O(sources).
    pub(crate) fn has_any_waiters(&self) -> bool {
        self.sources.borrow().iter().any(|(_, s)| s.has_any_waiters())
    }

    /// Calls `f` with each task waiting on a source and the direction (the
    /// task dump). `f` must not touch the reactor.
    pub(crate) fn waiters(&self, mut f: impl FnMut(usize, Direction)) {
        for (_, source) in self.sources.borrow().iter() {
            source.readers.for_each_task(&mut |task| f(task, Direction::Read));
            source.writers.for_each_task(&mut |task| f(task, Direction::Write));
        }
    }

    /// The number of events received so far (`sprout::metrics()`).
    pub(crate) fn events_seen(&self) -> u64 {
        self.events_seen.get()
    }

    /// Waits for events up to `timeout` (`None`: until one comes) and
    /// collects the wakers they release. Returns true if the cross-thread
    /// waker fired.
    pub(crate) fn turn(&self, timeout: Option<Duration>, wake: &mut Vec<CompactWaker>) -> bool {
        let mut events = self.events.borrow_mut();
        match self.poll.borrow_mut().poll(&mut events, timeout) {
            Ok(()) => {}
            // A signal arrived: an empty turn.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return false,
            Err(e) => panic!("sprout: the reactor's poll (epoll_wait, kevent) failed: {e}"),
        }
        let mut remote = false;
        let mut sources = self.sources.borrow_mut();
        let mut seen = 0;
        for event in events.iter() {
            seen += 1;
            if event.token() == token::WAKER {
                remote = true;
                continue;
            }
            let (key, generation) = token::unpack(event.token());
            if let Some(s) = sources.get_mut(key).filter(|s| s.generation == generation) {
                s.set_readiness(scheduled_io::from_event(event), wake);
            }
        }
        self.events_seen.set(self.events_seen.get() + seen);
        remote
    }
}
