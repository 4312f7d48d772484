//! A task's `tracing` span (feature `tracing`): made at spawn, entered
//! while the task is polled and while its future is dropped, closed when
//! the task completes. Without the feature, the three functions here do
//! nothing and compile to nothing: the harness calls them unconditionally.
//!
//! This is what `tracing::Instrument` does for one future, done by the
//! harness for every task: `Instrumented` keeps its span beside the
//! future and enters it around each `poll` (and its drop), so that the
//! subscriber's "current span" is the future's whenever its code runs,
//! across any number of polls on any thread. A task's span lives in its
//! extras instead, so a task without one stays the same block, and the
//! poll path pays a pointer test (`Header::has_extras`) for it.
//!
//! Which span (`attach`, at spawn):
//! - none at all when no subscriber can enable anything (the max level is
//!   `OFF`, as it is with no subscriber): the spawn pays one relaxed load;
//! - the task's own span, `task` at TRACE with target `sprout::task` and
//!   the fields `task.id`, `task.name`, `spawned_at`, when the subscriber
//!   enables it. Its parent is the current span where `spawn` is called:
//!   the spawning task's span, or a span the spawner entered itself;
//! - else the current span itself, as `future.in_current_span()` would
//!   carry it, so that the child's events are still inside the spawner's
//!   span (a request's, say) when task spans are filtered out.
//!
//! The span is taken out of the extras for the poll and put back after:
//! the poll may borrow the extras (task-locals, `task::killed`), which must
//! not alias the entered span. A poll never unwinds (the stage catches the
//! panic), so it always goes back.

use std::panic::Location;

#[cfg(feature = "tracing")]
use tracing::{Span, level_filters::LevelFilter};

use super::header::Header;

/// Gives a task just spawned (its name set) its span, if a subscriber
/// wants one: see the module docs.
#[inline(always)]
pub(crate) fn attach(header: &Header, at: &'static Location<'static>) {
    // With no subscriber the max level is OFF: one load, nothing made.
    #[cfg(feature = "tracing")]
    if LevelFilter::current() != LevelFilter::OFF {
        attach_slow(header, at);
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (header, at);
}

#[cfg(feature = "tracing")]
#[cold]
#[inline(never)]
fn attach_slow(header: &Header, at: &'static Location<'static>) {
    let own = tracing::trace_span!(
        target: "sprout::task",
        "task",
        task.id = header.id.as_u64(),
        task.name = header.name(),
        spawned_at = %at,
    );
    let span = if own.is_disabled() { Span::current() } else { own };
    if !span.is_disabled() {
        header.with_extras(|e| e.span = Some(span));
    }
}

/// Runs `f` (the task's poll, or the drop of its future) inside the
/// task's span, if it has one.
#[inline(always)]
pub(crate) fn in_span<R>(header: &Header, f: impl FnOnce() -> R) -> R {
    #[cfg(feature = "tracing")]
    if header.has_extras() {
        return in_span_slow(header, f);
    }
    #[cfg(not(feature = "tracing"))]
    let _ = header;
    f()
}

#[cfg(feature = "tracing")]
#[inline(never)]
fn in_span_slow<R>(header: &Header, f: impl FnOnce() -> R) -> R {
    let Some(span) = header.with_extras_if_any(|e| e.span.take()).flatten() else { return f() };
    let result = span.in_scope(f);
    header.with_extras(|e| e.span = Some(span));
    result
}

/// Runs `f` (the completion code of a task that has extras) inside the
/// task's span if there is any such code (task-locals to drop, completion
/// callbacks), then closes the span: the task is complete.
#[inline(always)]
pub(crate) fn close_after<R>(header: &Header, f: impl FnOnce() -> R) -> R {
    #[cfg(feature = "tracing")]
    if let Some(span) = header.with_extras_if_any(|e| e.span.take()).flatten() {
        let code = header.with_extras(|e| !e.locals.is_empty() || !e.callbacks.is_empty());
        // The span is dropped after `f`, with no borrow of the extras held.
        return if code { span.in_scope(f) } else { f() };
    }
    #[cfg(not(feature = "tracing"))]
    let _ = header;
    f()
}

/// The current span of a thread that spawns onto a runtime from outside
/// it ([`Handle::spawn`](crate::Handle::spawn)), carried to the runtime
/// thread, where the spawn runs inside it: the task's span gets the
/// caller's span as its parent, as a spawn on the caller's own thread
/// would. Empty without the feature, or with no subscriber.
pub(crate) struct Spawner {
    #[cfg(feature = "tracing")]
    span: Option<Span>,
}

impl Spawner {
    /// The calling thread's current span.
    pub(crate) fn here() -> Spawner {
        Spawner {
            #[cfg(feature = "tracing")]
            span: (LevelFilter::current() != LevelFilter::OFF).then(Span::current),
        }
    }

    /// Runs `f` (the spawn, on the runtime thread) inside the span.
    pub(crate) fn run<R>(self, f: impl FnOnce() -> R) -> R {
        #[cfg(feature = "tracing")]
        if let Some(span) = self.span {
            return span.in_scope(f);
        }
        f()
    }
}
