//! What a scope reports: [`ScopeError`] (the scope's), [`Failure`] (one
//! child's), [`ChildError`] (what a [`ChildHandle`](super::ChildHandle)
//! gives instead of a value).

use std::any::Any;
use std::fmt;

use crate::task::{Panic, TaskId};

/// Why a scope ended without its body's value. See [`ScopeError::cause`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// A child failed (returned `Err` or panicked): under fail-fast the
    /// others were cancelled; under collect-all they ran to their end and
    /// every failure is listed.
    ChildFailed,
    /// [`Scope::cancel`](super::Scope::cancel) was called before the body
    /// returned: the body was dropped at its next await, so there is no value.
    Cancelled,
    /// The scope's deadline ([`Builder::deadline`](super::Builder::deadline))
    /// passed before every child had finished: all were dropped.
    DeadlineExceeded,
}

/// How a scope failed: the cause, and the failures of its children.
///
/// Under fail-fast (the default) `failures` holds the one failure that
/// cancelled the scope; under collect-all, every child that failed and
/// whose failure nobody took through its handle, in the order they failed.
/// A cancelled or timed-out scope may list failures too (collect-all).
///
/// ```
/// use sprout::scope::Cause;
///
/// sprout::run(async {
///     let err = sprout::scope(async |s| {
///         s.spawn_named("parser", async { "12x".parse::<u32>().map(drop) });
///         s.spawn(std::future::pending::<()>()); // cancelled by the failure
///     })
///     .await
///     .unwrap_err();
///     assert_eq!(err.cause(), Cause::ChildFailed);
///     let failure = &err.failures()[0];
///     assert_eq!(failure.name(), Some("parser"));
///     assert!(failure.error::<std::num::ParseIntError>().is_some());
///     println!("{err}"); // a child of the scope failed: child 'parser' (#1) returned Err(ParseIntError { .. })
/// });
/// ```
pub struct ScopeError {
    cause: Cause,
    failures: Vec<Failure>,
}

impl ScopeError {
    pub(crate) fn new(cause: Cause, failures: Vec<Failure>) -> ScopeError {
        ScopeError { cause, failures }
    }

    /// Why the scope ended without a value.
    pub fn cause(&self) -> Cause {
        self.cause
    }

    /// The children's failures (see the type's docs), oldest first.
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// The failures, to take their errors out.
    pub fn into_failures(self) -> Vec<Failure> {
        self.failures
    }

    /// Whether [`Scope::cancel`](super::Scope::cancel) ended the scope
    /// before its body returned.
    pub fn is_cancelled(&self) -> bool {
        self.cause == Cause::Cancelled
    }

    /// Whether the scope's deadline passed.
    pub fn is_deadline_exceeded(&self) -> bool {
        self.cause == Cause::DeadlineExceeded
    }

    /// The first failure's error, if it is an `E` (the common case of one
    /// error type per scope: `scope(...).await.map_err(|e| e.into_error::<io::Error>())`).
    /// Gives `self` back otherwise (no failure, a panic, another type).
    pub fn into_error<E: 'static>(mut self) -> Result<E, ScopeError> {
        if self.failures.first().is_none_or(|f| f.error::<E>().is_none()) {
            return Err(self);
        }
        match self.failures.remove(0).into_error::<E>() {
            Ok(e) => Ok(e),
            Err(_) => unreachable!("checked to hold an E just above"),
        }
    }
}

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cause {
            Cause::ChildFailed => f.write_str("a child of the scope failed")?,
            Cause::Cancelled => f.write_str("the scope was cancelled before its body returned")?,
            Cause::DeadlineExceeded => f.write_str("the scope's deadline passed before its children finished")?,
        }
        if let Some(first) = self.failures.first() {
            write!(f, ": {first}")?;
        }
        match self.failures.len() {
            0 | 1 => Ok(()),
            n => write!(f, " (and {} more)", n - 1),
        }
    }
}

impl fmt::Debug for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeError").field("cause", &self.cause).field("failures", &self.failures).finish()
    }
}

impl std::error::Error for ScopeError {}

/// One child's failure: the error it returned, or its panic, with its id
/// and name.
pub struct Failure {
    id: TaskId,
    name: Option<String>,
    kind: Kind,
}

enum Kind {
    Error(Box<dyn ErrorValue>),
    Panic(Panic),
}

/// A child's error, kept for its `Debug` and taken back by type.
pub(crate) trait ErrorValue: fmt::Debug {
    fn as_any(&self) -> &dyn Any;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<E: fmt::Debug + 'static> ErrorValue for E {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

impl Failure {
    pub(crate) fn of_error(id: TaskId, name: Option<String>, error: Box<dyn ErrorValue>) -> Failure {
        Failure { id, name, kind: Kind::Error(error) }
    }

    pub(crate) fn of_panic(id: TaskId, name: Option<String>, panic: Panic) -> Failure {
        Failure { id, name, kind: Kind::Panic(panic) }
    }

    /// The child's id (children take ids from the same count as tasks).
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The child's name, if it was spawned with [`Scope::spawn_named`](super::Scope::spawn_named).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Whether the child panicked (rather than returned an error).
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, Kind::Panic(_))
    }

    /// The panic message, if the child panicked.
    pub fn panic_message(&self) -> Option<&str> {
        match &self.kind {
            Kind::Panic(p) => Some(p.message()),
            Kind::Error(_) => None,
        }
    }

    /// The error the child returned, if it is an `E`.
    pub fn error<E: 'static>(&self) -> Option<&E> {
        match &self.kind {
            // `**e`: the boxed value; `Box<dyn ErrorValue>` is an `ErrorValue` too.
            Kind::Error(e) => (**e).as_any().downcast_ref(),
            Kind::Panic(_) => None,
        }
    }

    /// Takes the error out, if it is an `E`; gives `self` back otherwise.
    pub fn into_error<E: 'static>(self) -> Result<E, Failure> {
        if self.error::<E>().is_none() {
            return Err(self);
        }
        match self.kind {
            Kind::Error(e) => Ok(*e.into_any().downcast::<E>().unwrap_or_else(|_| unreachable!("checked above"))),
            Kind::Panic(_) => unreachable!("checked above"),
        }
    }

    /// Takes the panic payload out, to resume it with
    /// `std::panic::resume_unwind`; gives `self` back if the child returned
    /// an error.
    pub fn into_panic(self) -> Result<Box<dyn Any + Send>, Failure> {
        match self.kind {
            Kind::Panic(p) => Ok(p.into_payload()),
            kind => Err(Failure { kind, ..self }),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "child '{name}' ({})", self.id)?,
            None => write!(f, "child {}", self.id)?,
        }
        match &self.kind {
            Kind::Error(e) => write!(f, " returned Err({e:?})"),
            Kind::Panic(p) => write!(f, " panicked: {}", p.message()),
        }
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Failure");
        d.field("id", &self.id).field("name", &self.name);
        match &self.kind {
            Kind::Error(e) => d.field("error", e),
            Kind::Panic(p) => d.field("panic", &p.message()),
        };
        d.finish()
    }
}

/// Why awaiting a [`ChildHandle`](super::ChildHandle) gave no value.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChildError {
    /// The child was cancelled: by [`ChildHandle::cancel`](super::ChildHandle::cancel),
    /// or spawned after the scope was cancelled (it never ran).
    Cancelled,
    /// The child panicked (under collect-all; under fail-fast a panic
    /// cancels the scope, and the scope reports it).
    Panicked(Panic),
    /// The child failed and the scope took its failure for its own result
    /// (fail-fast). Only code that runs while the scope cancels (a
    /// destructor) can see this.
    Failed,
}

impl ChildError {
    /// Whether the child was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, ChildError::Cancelled)
    }

    /// Whether the child panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, ChildError::Panicked(_))
    }
}

impl fmt::Display for ChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::Cancelled => f.write_str("the scope child was cancelled"),
            ChildError::Panicked(p) => write!(f, "the scope child panicked: {}", p.message()),
            ChildError::Failed => f.write_str("the scope child failed, and the scope took its failure"),
        }
    }
}

impl std::error::Error for ChildError {}
