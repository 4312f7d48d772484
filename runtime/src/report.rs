//! Where the runtime's own reports go: a blocking poll, a deadlock, a panic
//! nobody joined, a failed handler of sprout-net's and sprout-http's
//! servers. Without the `tracing` feature, one line on stderr each, as
//! gevent prints to its hub's stderr. With it, a `tracing` event with the
//! report's fields (the table of targets, levels and fields is in
//! docs/debugging.md, "tracing"), or still the stderr line when no
//! subscriber is in effect on the reporting thread: turning the feature
//! on never makes a report vanish.
//!
//! Every site says both forms itself, through [`__report!`](crate::__report):
//! the event (a level, a target, fields and a short message) and the
//! stderr line (a format string). The macro expands to one of them (or,
//! with the feature, to the choice between them), so the feature-off build
//! has no trace of `tracing`. sprout-net and sprout-http use the same macro,
//! so the runtime's feature decides for all three crates.
//!
//! This module is at the bottom of the runtime: it names no other part.

/// A report of the runtime's (see `report.rs`): a `tracing` event with the
/// `tracing` feature, else a line on stderr.
///
/// ```text
/// __report!(event: WARN(target: "sprout::server", peer = %peer, "accept failed"),
///           stderr: "sprout: accept failed from {peer}");
/// __report!(event: DEBUG(target: "sprout::http", %error, "a peer's error"));   // no stderr line
/// ```
///
/// The event is `tracing::event!(target: ..., Level::WARN, ...)`: fields,
/// then the message, as in `tracing`'s own macros.
///
/// Not part of the API: for sprout's own crates.
#[cfg(feature = "tracing")]
#[doc(hidden)]
#[macro_export]
macro_rules! __report {
    (event: $level:ident(target: $target:literal, $($event:tt)*) $(,)?) => {
        $crate::__private::tracing::event!(target: $target, $crate::__private::tracing::Level::$level, $($event)*)
    };
    (event: $level:ident(target: $target:literal, $($event:tt)*), stderr: $($line:tt)+) => {
        if $crate::__private::has_subscriber() {
            $crate::__private::tracing::event!(target: $target, $crate::__private::tracing::Level::$level, $($event)*)
        } else {
            ::std::eprintln!($($line)+)
        }
    };
}

/// A report of the runtime's (see `report.rs`): a `tracing` event with the
/// `tracing` feature, else a line on stderr. Not part of the API.
#[cfg(not(feature = "tracing"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __report {
    (event: $level:ident($($event:tt)*) $(,)?) => {
        ()
    };
    (event: $level:ident($($event:tt)*), stderr: $($line:tt)+) => {
        ::std::eprintln!($($line)+)
    };
}

/// What sprout's own crates need of `tracing`. Not part of the API.
#[cfg(feature = "tracing")]
#[doc(hidden)]
pub(crate) mod __private {
    pub use tracing;

    use tracing::Dispatch;
    use tracing::subscriber::NoSubscriber;

    /// Whether a subscriber is in effect on this thread (a global one, or
    /// one set for the thread): otherwise a report goes to stderr.
    pub fn has_subscriber() -> bool {
        tracing::dispatcher::get_default(|dispatch| !dispatch.is::<NoSubscriber>())
    }

    /// The subscriber in effect on this thread, to carry to a thread that
    /// works for this one (the blocking detector's report thread):
    /// `None` if there is none, and the other thread then uses its own
    /// default, the global one.
    pub fn current_dispatch() -> Option<Dispatch> {
        tracing::dispatcher::get_default(|dispatch| (!dispatch.is::<NoSubscriber>()).then(|| dispatch.clone()))
    }
}
