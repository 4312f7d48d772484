//! Per-source readiness and the tasks waiting on it.

use std::task::Waker;

use crate::task::compact::CompactWaker;

/// Readiness bits, as recorded from epoll events.
pub(crate) const READABLE: u8 = 1 << 0;
pub(crate) const WRITABLE: u8 = 1 << 1;
pub(crate) const READ_CLOSED: u8 = 1 << 2;
pub(crate) const WRITE_CLOSED: u8 = 1 << 3;
pub(crate) const ERROR: u8 = 1 << 4;
pub(crate) const PRIORITY: u8 = 1 << 5;

/// The bits that let a reader proceed (to data, EOF or an error).
pub(crate) const READ_MASK: u8 = READABLE | READ_CLOSED | ERROR;
/// The bits that let a writer proceed (to space, EPIPE or an error).
pub(crate) const WRITE_MASK: u8 = WRITABLE | WRITE_CLOSED | ERROR;

/// Which way an operation goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Reading (or accepting): proceeds on data, EOF or an error.
    Read,
    /// Writing (or connecting): proceeds on space, a closed peer or an error.
    Write,
}

impl Direction {
    /// The readiness bits that let this direction proceed.
    pub(crate) fn mask(self) -> u8 {
        match self {
            Direction::Read => READ_MASK,
            Direction::Write => WRITE_MASK,
        }
    }
}

/// Converts a mio event into readiness bits.
pub(crate) fn from_event(event: &mio::event::Event) -> u8 {
    let mut bits = 0;
    if event.is_readable() {
        bits |= READABLE;
    }
    if event.is_writable() {
        bits |= WRITABLE;
    }
    if event.is_read_closed() {
        bits |= READ_CLOSED;
    }
    if event.is_write_closed() {
        bits |= WRITE_CLOSED;
    }
    if event.is_error() {
        bits |= ERROR;
    }
    if event.is_priority() {
        bits |= PRIORITY;
    }
    bits
}

/// What a future remembers of the waiter it left (`io::Waiter`): the data
/// address of the waker it registered, or 0. An identity only: it owns no
/// reference and is never dereferenced.
pub(crate) type WaitKey = usize;

/// The tasks waiting on one direction of a source. Nearly always one, so
/// the first lives inline and the rest spill into a vector; deduplicated by
/// `will_wake`; all drained (woken) at the next event.
///
/// A future that stops waiting without being woken (a read cancelled by a
/// timeout) *parks* its entry (`io::Waiter`'s drop): the entry moves to
/// `parked`, where it is still woken at the next event (so another future
/// of the same task that shared the deduplicated entry loses no wake-up),
/// but it no longer counts as a task waiting on the source, which is what
/// `sprout::wait()` asks: a cancelled wait never keeps `wait()` waiting. Parked entries are deduplicated
/// too, so a task that cancels reads in a loop on a silent socket keeps one.
/// The registration path is the plain one: nothing on the hot path pays
/// for this.
#[derive(Default)]
pub(crate) struct Waiters {
    first: Option<CompactWaker>,
    rest: Vec<CompactWaker>,
    parked: Vec<CompactWaker>,
}

impl Waiters {
    /// Adds `waker` unless it is already here.
    pub(crate) fn register(&mut self, waker: &Waker) {
        match &self.first {
            None => self.first = Some(CompactWaker::new(waker)),
            Some(w) if w.will_wake(waker) => {}
            Some(_) => {
                if !self.rest.iter().any(|w| w.will_wake(waker)) {
                    self.rest.push(CompactWaker::new(waker));
                }
            }
        }
    }

    /// Parks the entry whose waker has data address `key`, if it is still
    /// waiting. Hands back a duplicate to drop after the borrow ends.
    #[cold]
    pub(crate) fn park(&mut self, key: WaitKey) -> Option<CompactWaker> {
        let entry = if self.first.as_ref().is_some_and(|w| w.data_addr() == key) {
            let entry = self.first.take();
            if !self.rest.is_empty() {
                self.first = Some(self.rest.swap_remove(0));
            }
            entry?
        } else {
            let i = self.rest.iter().position(|w| w.data_addr() == key)?;
            self.rest.swap_remove(i)
        };
        if self.parked.iter().any(|w| w.data_addr() == key) {
            return Some(entry);
        }
        self.parked.push(entry);
        None
    }

    /// Moves every waiter, parked ones included, into `out`.
    #[inline(always)]
    pub(crate) fn drain_into(&mut self, out: &mut Vec<CompactWaker>) {
        if let Some(w) = self.first.take() {
            out.push(w);
            if !self.rest.is_empty() {
                out.append(&mut self.rest);
            }
        }
        if !self.parked.is_empty() {
            self.drain_parked(out);
        }
    }

    #[cold]
    fn drain_parked(&mut self, out: &mut Vec<CompactWaker>) {
        out.append(&mut self.parked);
    }

    /// Whether no task waits here (parked entries do not count).
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Calls `f` with the task of each waiting (not parked) task waker.
    pub(crate) fn for_each_task(&self, f: &mut impl FnMut(usize)) {
        self.first.iter().chain(&self.rest).filter_map(CompactWaker::task_addr).for_each(f);
    }

    /// Whether any waker is here, parked ones included: the next event
    /// would wake someone (the deadlock check).
    pub(crate) fn has_any(&self) -> bool {
        self.first.is_some() || !self.parked.is_empty()
    }
}

/// The reactor's record of one registered source.
pub(crate) struct ScheduledIo {
    /// Matches the generation in the source's token; see `token.rs`.
    pub(crate) generation: u32,
    /// Readiness seen and not yet consumed. An operation that hits
    /// `WouldBlock` clears every bit it saw, closed and error included (the
    /// kernel has just said they no longer let it through); a short stream
    /// read or write clears READABLE / WRITABLE only, so an EOF or error
    /// behind the data stays. See `io::Registration::clear_ready`.
    pub(crate) readiness: u8,
    pub(crate) readers: Waiters,
    pub(crate) writers: Waiters,
}

impl ScheduledIo {
    pub(crate) fn new(generation: u32) -> ScheduledIo {
        ScheduledIo { generation, readiness: 0, readers: Waiters::default(), writers: Waiters::default() }
    }

    /// Records an event and hands over the waiters it releases.
    pub(crate) fn set_readiness(&mut self, bits: u8, wake: &mut Vec<CompactWaker>) {
        self.readiness |= bits;
        if bits & (READ_MASK | PRIORITY) != 0 {
            self.readers.drain_into(wake);
        }
        if bits & WRITE_MASK != 0 {
            self.writers.drain_into(wake);
        }
    }

    /// Whether any task waits on this source.
    pub(crate) fn has_waiters(&self) -> bool {
        !self.readers.is_empty() || !self.writers.is_empty()
    }

    /// Whether an event on this source would wake anyone, parked waiters included.
    pub(crate) fn has_any_waiters(&self) -> bool {
        self.readers.has_any() || self.writers.has_any()
    }
}
