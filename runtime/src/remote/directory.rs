//! Which runtimes are alive, by serial: how something registered with a
//! runtime finds it again when it is dropped where that runtime is not
//! running (outside `block_on`, on another thread).
//!
//! Timers and sockets carry their runtime's serial, not a pointer, so that
//! they stay small and `Send`. Dropped inside their runtime they unregister
//! directly; anywhere else they look the runtime up here and post an
//! [`Unregister`] message, which its thread handles at its next turn (or
//! its shutdown). A runtime that is gone has already dropped every timer
//! and socket record: then there is nothing to do.
//!
//! This is the slow path only: the table is read on a drop outside the
//! runtime, written when a runtime is built and when it shuts down.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use super::mailbox::{Message, Remote};
use crate::loom::lock;
use crate::reactor::{Direction, IoKey, WaitKey};

/// Something a runtime should forget, posted by its owner's drop.
#[derive(Debug)]
pub(crate) enum Unregister {
    /// A timer wheel entry (a `Sleep`'s key).
    Timer(u32),
    /// A reactor record (a `Registration`).
    Io(IoKey),
    /// One future's waiter on a source, to park (an `io::Waiter`).
    Waiter(IoKey, Direction, WaitKey),
}

/// Live runtimes: serial and remote queue. `Weak`, so that the table never
/// keeps a runtime's memory alive.
static RUNTIMES: Mutex<Vec<(u32, Weak<Remote>)>> = Mutex::new(Vec::new());

fn table() -> MutexGuard<'static, Vec<(u32, Weak<Remote>)>> {
    lock(&RUNTIMES)
}

/// Records a new runtime.
pub(crate) fn insert(serial: u32, remote: &Arc<Remote>) {
    table().push((serial, Arc::downgrade(remote)));
}

/// Forgets a runtime that has shut down.
pub(crate) fn remove(serial: u32) {
    table().retain(|(s, _)| *s != serial);
}

/// The mailbox of runtime `serial`, if it is alive.
pub(crate) fn remote(serial: u32) -> Option<Arc<Remote>> {
    table().iter().find(|(s, _)| *s == serial).and_then(|(_, remote)| remote.upgrade())
}

/// Asks runtime `serial` to forget `what`. Does nothing if that runtime is
/// gone: its shutdown dropped every record.
#[cold]
pub(crate) fn unregister(serial: u32, what: Unregister) {
    if let Some(remote) = remote(serial) {
        // Refused only once the runtime has closed its queue: then, too,
        // there is nothing left to forget.
        let _ = remote.post(Message::Unregister(what));
    }
}
