//! The queue errors: `Full`, `Empty`, `Closed`, and `task_done` misuse.

use std::fmt;

/// The queue is closed. From `put`, it carries the item back; from `get`,
/// it means the queue is closed *and* drained.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Closed<T = ()>(pub T);

impl<T> Closed<T> {
    /// The item that could not be put.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Closed(..)")
    }
}

impl<T> fmt::Display for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is closed")
    }
}

impl<T> std::error::Error for Closed<T> {}

/// Why `put_nowait` or `put_timeout` failed; either way the item comes back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PutError<T> {
    /// No room (Python's `queue.Full`): the queue is at its `maxsize`, or,
    /// for a `Channel`, no getter is waiting.
    Full(T),
    /// The queue is closed.
    Closed(T),
}

impl<T> PutError<T> {
    /// The item that could not be put.
    pub fn into_inner(self) -> T {
        match self {
            PutError::Full(item) | PutError::Closed(item) => item,
        }
    }

    /// Whether the queue was full (not closed).
    pub fn is_full(&self) -> bool {
        matches!(self, PutError::Full(_))
    }

    /// Whether the queue was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, PutError::Closed(_))
    }
}

impl<T> From<Closed<T>> for PutError<T> {
    fn from(Closed(item): Closed<T>) -> PutError<T> {
        PutError::Closed(item)
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PutError::Full(_) => "Full(..)",
            PutError::Closed(_) => "Closed(..)",
        })
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PutError::Full(_) => "the queue is full",
            PutError::Closed(_) => "the queue is closed",
        })
    }
}

impl<T> std::error::Error for PutError<T> {}

/// Why `get_nowait` or `get_timeout` got nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetError {
    /// Nothing to take (Python's `queue.Empty`).
    Empty,
    /// The queue is closed and drained.
    Closed,
}

impl From<Closed> for GetError {
    fn from(_: Closed) -> GetError {
        GetError::Closed
    }
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GetError::Empty => "the queue is empty",
            GetError::Closed => "the queue is closed",
        })
    }
}

impl std::error::Error for GetError {}

/// `task_done` was called more times than items were put (Python raises
/// `ValueError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskDoneError(pub(crate) ());

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}
