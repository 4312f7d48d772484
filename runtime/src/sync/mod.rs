//! Synchronization between green tasks: gevent.event, gevent.lock and
//! Python's threading primitives, for tasks on one runtime.
//!
//! - [`Event`]: a flag tasks wait for (`threading.Event`).
//!
//! Waiters are served in arrival order, and every wait is
//! cancellation-safe: dropping a waiting future leaves no trace.

mod event;
pub(crate) mod wait_list;

pub use event::{Event, Wait};
