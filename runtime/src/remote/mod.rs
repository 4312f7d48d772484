//! What other threads post to this loop, and how they find it:
//!
//! - `mailbox`: the cross-thread mailbox (messages from other threads, the
//!   eventfd that rouses the poll). The task layer posts to it through its
//!   `Mailbox` trait (`task/home.rs`); the loop drains it.
//! - `directory`: live runtimes by serial, so that a timer or a socket
//!   dropped where its runtime is not running can still unregister.
//!
//! The run queue, the yielded tasks and the per-poll budget (`coop`) live
//! in `task/`.

pub(crate) mod directory;
pub(crate) mod mailbox;

#[cfg(all(test, loom))]
mod loom_models;
