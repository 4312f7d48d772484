//! `JoinError`: why a task produced no value.

use std::any::Any;
use std::fmt;

/// Why joining a task gave no value.
///
/// gevent marks such a greenlet as unsuccessful (`successful()` is false)
/// and keeps the exception; sprout hands the reason to whoever joins.
#[derive(Debug)]
pub enum JoinError {
    /// The task was killed (`JoinHandle::kill`, `killall`, a graceful kill
    /// that ran out of time, or the runtime shutting down), like gevent's
    /// `GreenletExit`.
    Killed,
    /// The task panicked. The runtime caught the panic and went on.
    Panicked(Panic),
}

/// A panic caught in a task: its payload and message.
pub struct Panic {
    inner: Box<PanicInner>,
}

struct PanicInner {
    payload: Box<dyn Any + Send>,
}

impl JoinError {
    pub(crate) fn panicked(payload: Box<dyn Any + Send>) -> JoinError {
        JoinError::Panicked(Panic { inner: Box::new(PanicInner { payload }) })
    }

    /// Whether the task was killed.
    pub fn is_killed(&self) -> bool {
        matches!(self, JoinError::Killed)
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// The panic message, if the task panicked with a string message.
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            JoinError::Panicked(p) => Some(p.message()),
            JoinError::Killed => None,
        }
    }

    /// The panic payload, to resume the panic with
    /// `std::panic::resume_unwind`. Hands `self` back if the task was killed.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send>, JoinError> {
        match self {
            JoinError::Panicked(p) => Ok(p.into_payload()),
            killed => Err(killed),
        }
    }
}

impl Panic {
    /// The panic message: the `&str` or `String` the task panicked with, or
    /// `"Box<dyn Any>"` for other payloads, as std's panic hook prints.
    pub fn message(&self) -> &str {
        let payload = &self.inner.payload;
        if let Some(s) = payload.downcast_ref::<&'static str>() {
            s
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s
        } else {
            "Box<dyn Any>"
        }
    }

    /// The payload the task panicked with.
    pub fn into_payload(self) -> Box<dyn Any + Send> {
        self.inner.payload
    }
}

impl fmt::Debug for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Panic").field(&self.message()).finish()
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Killed => f.write_str("task was killed"),
            JoinError::Panicked(p) => write!(f, "task panicked: {}", p.message()),
        }
    }
}

impl std::error::Error for JoinError {}

/// Why [`JoinHandle::try_join`](crate::JoinHandle::try_join) returned no result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryJoinError {
    /// The task has not finished yet (or its completion callbacks are
    /// still running): try again later, or await the handle.
    Running,
    /// The task finished and this handle already handed out its result.
    Taken,
}

impl fmt::Display for TryJoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryJoinError::Running => f.write_str("the task has not finished"),
            TryJoinError::Taken => f.write_str("the task's result was already taken"),
        }
    }
}

impl std::error::Error for TryJoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let e = JoinError::panicked(Box::new("boom"));
        assert_eq!(e.panic_message(), Some("boom"));
        assert_eq!(e.to_string(), "task panicked: boom");
        let e = JoinError::panicked(Box::new(String::from("bang")));
        assert_eq!(e.panic_message(), Some("bang"));
        let e = JoinError::panicked(Box::new(7u8));
        assert_eq!(e.panic_message(), Some("Box<dyn Any>"));
        assert!(e.try_into_panic().unwrap().downcast::<u8>().is_ok());
        assert!(JoinError::Killed.is_killed());
        assert_eq!(JoinError::Killed.to_string(), "task was killed");
        assert_eq!(std::mem::size_of::<JoinError>(), 8);
    }
}
