//! What a core's future may return, and how a core fails.

use std::any::Any;
use std::convert::Infallible;
use std::error::Error;
use std::fmt;
use std::io;

/// What the future of a core may return: `()`, or a `Result` whose error
/// stops every core and is returned by [`run`](super::run) (as
/// [`CoreError::Failed`]).
///
/// Implemented for `()` (a core that cannot fail but by panicking) and for
/// every `Result<T, E>` whose parts can cross threads.
pub trait CoreResult: Send + 'static {
    /// What a core that succeeds hands back.
    type Value: Send + 'static;
    /// What a core that fails hands back.
    type Error: Send + 'static;

    /// Splits the output into success and failure.
    fn into_result(self) -> Result<Self::Value, Self::Error>;
}

impl CoreResult for () {
    type Value = ();
    type Error = Infallible;

    #[inline]
    fn into_result(self) -> Result<(), Infallible> {
        Ok(())
    }
}

impl<T: Send + 'static, E: Send + 'static> CoreResult for Result<T, E> {
    type Value = T;
    type Error = E;

    #[inline]
    fn into_result(self) -> Result<T, E> {
        self
    }
}

/// What [`run`](super::run) returns for futures with output `O`: every
/// core's value in id order, or the first failure.
pub type RunResult<O> = Result<Vec<<O as CoreResult>::Value>, CoreError<<O as CoreResult>::Error>>;

/// Why a set of cores did not all finish: the first core that failed, and
/// how. The other cores were stopped (their futures dropped, their tasks
/// killed) and their threads joined before this was returned.
pub enum CoreError<E = Infallible> {
    /// The core's future returned an error.
    Failed {
        /// The core's id.
        core: usize,
        /// The error it returned.
        error: E,
    },
    /// The core's future (or its closure, or the runtime under it with
    /// [`PanicPolicy::Propagate`](crate::PanicPolicy::Propagate)) panicked.
    /// The panic message was printed on stderr by the panic hook, as for
    /// any thread.
    Panicked {
        /// The core's id.
        core: usize,
        /// The panic's payload, for [`std::panic::resume_unwind`].
        payload: Box<dyn Any + Send>,
    },
    /// The core could not start: its runtime could not be created (no
    /// epoll or eventfd left), its thread could not be spawned, or it could
    /// not be pinned to its CPU.
    Start {
        /// The core's id.
        core: usize,
        /// What went wrong.
        error: io::Error,
    },
    /// The core was stopped (by [`Running::stop`](super::Running::stop))
    /// before its future finished, and no core failed.
    Stopped {
        /// The lowest id among the stopped cores.
        core: usize,
    },
}

impl<E> CoreError<E> {
    /// The id of the core this is about.
    pub fn core(&self) -> usize {
        match self {
            CoreError::Failed { core, .. }
            | CoreError::Panicked { core, .. }
            | CoreError::Start { core, .. }
            | CoreError::Stopped { core } => *core,
        }
    }

    /// Whether the core panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, CoreError::Panicked { .. })
    }

    /// The panic's message, if the core panicked with a string (as
    /// `panic!("...")` does).
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            CoreError::Panicked { payload, .. } => panic_message(&**payload),
            _ => None,
        }
    }
}

/// The message of a panic payload made by `panic!` with a literal or a
/// format string.
pub(super) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload.downcast_ref::<&'static str>().copied().or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl<E: fmt::Debug> fmt::Debug for CoreError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::Failed { core, error } => {
                f.debug_struct("Failed").field("core", core).field("error", error).finish()
            }
            CoreError::Panicked { core, payload } => f
                .debug_struct("Panicked")
                .field("core", core)
                .field("message", &panic_message(&**payload).unwrap_or("<non-string payload>"))
                .finish(),
            CoreError::Start { core, error } => {
                f.debug_struct("Start").field("core", core).field("error", error).finish()
            }
            CoreError::Stopped { core } => f.debug_struct("Stopped").field("core", core).finish(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for CoreError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::Failed { core, error } => write!(f, "core {core} failed: {error}"),
            CoreError::Panicked { core, payload } => match panic_message(&**payload) {
                Some(message) => write!(f, "core {core} panicked: {message}"),
                None => write!(f, "core {core} panicked"),
            },
            CoreError::Start { core, error } => write!(f, "core {core} could not start: {error}"),
            CoreError::Stopped { core } => write!(f, "core {core} was stopped before it finished"),
        }
    }
}

impl<E: Error + 'static> Error for CoreError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            CoreError::Failed { error, .. } => Some(error),
            CoreError::Start { error, .. } => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_core() {
        let e: CoreError<io::Error> = CoreError::Failed { core: 3, error: io::Error::other("disk on fire") };
        assert_eq!(e.to_string(), "core 3 failed: disk on fire");
        assert_eq!(e.core(), 3);
        let p: CoreError = CoreError::Panicked { core: 1, payload: Box::new("boom") };
        assert_eq!(p.to_string(), "core 1 panicked: boom");
        assert_eq!(p.panic_message(), Some("boom"));
        let p: CoreError = CoreError::Panicked { core: 1, payload: Box::new(String::from("formatted 7")) };
        assert_eq!(p.panic_message(), Some("formatted 7"));
    }
}
