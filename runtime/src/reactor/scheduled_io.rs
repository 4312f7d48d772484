//! Per-source readiness and the tasks waiting on it.

use std::task::Waker;

use slab::Slab;

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

/// Where one future's waker sits among a direction's keyed waiters: its
/// slab slot, and the drain epoch it was filed in (a drain empties the slab,
/// so a key from an older epoch names nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WaitKey {
    slot: u32,
    epoch: u64,
}

/// The tasks waiting on one direction of a source.
///
/// Two kinds of waiter:
/// - *plain*: registered by the poll-style API (`Registration::poll_ready`,
///   `AsyncRead`...), which has no future to notice a cancellation. Nearly
///   always one, so the first lives inline and the rest spill into a
///   vector; deduplicated by `will_wake`; they stay until the next event
///   or until the source is dropped.
/// - *keyed*: registered by a future that owns a [`WaitKey`]
///   (`io::Waiter`), one entry per future, removed when that future is
///   dropped, so a cancelled read leaves nothing behind (issue 8, bug 5).
#[derive(Default)]
pub(crate) struct Waiters {
    first: Option<CompactWaker>,
    rest: Vec<CompactWaker>,
    keyed: Slab<CompactWaker>,
    /// Bumped by every drain that emptied `keyed`.
    epoch: u64,
}

impl Waiters {
    /// Adds a plain waiter, unless `waker` is already one.
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

    /// Files (or refreshes) the keyed waiter of the future that owns `key`.
    pub(crate) fn register_keyed(&mut self, waker: &Waker, key: &mut Option<WaitKey>) {
        if let Some(k) = *key {
            if k.epoch == self.epoch {
                if let Some(w) = self.keyed.get_mut(k.slot as usize) {
                    w.update(waker);
                    return;
                }
            }
        }
        let slot = self.keyed.insert(CompactWaker::new(waker));
        *key = Some(WaitKey { slot: slot as u32, epoch: self.epoch });
    }

    /// Takes out the keyed waiter `key` names, if it is still here.
    pub(crate) fn remove_keyed(&mut self, key: WaitKey) -> Option<CompactWaker> {
        if key.epoch != self.epoch {
            return None;
        }
        self.keyed.try_remove(key.slot as usize)
    }

    /// Moves every waiter into `out`.
    pub(crate) fn drain_into(&mut self, out: &mut Vec<CompactWaker>) {
        if let Some(w) = self.first.take() {
            out.push(w);
            out.append(&mut self.rest);
        }
        if !self.keyed.is_empty() {
            out.extend(self.keyed.drain());
            self.epoch += 1;
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none() && self.keyed.is_empty()
    }
}

/// The reactor's record of one registered source.
pub(crate) struct ScheduledIo {
    /// Matches the generation in the source's token; see `token.rs`.
    pub(crate) generation: u32,
    /// Readiness seen and not yet consumed. READABLE and WRITABLE are
    /// cleared when an operation hits `WouldBlock`; the closed and error
    /// bits stay, since a closed socket never blocks again.
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
}
