//! Scheduling pieces shared by the layers, below the loop:
//!
//! - `remote`: the cross-thread mailbox (messages from other threads, the
//!   eventfd that rouses the poll). The task layer posts to it through its
//!   `Mailbox` trait (`task/heap.rs`); the loop drains it.
//! - `directory`: live runtimes by serial, so that a timer or a socket
//!   dropped where its runtime is not running can still unregister.
//! - [`coop`]: the per-poll operation budget (public), kept by the executor.
//!
//! The run queue and the yielded tasks live in `task/executor.rs`.

pub mod coop;
pub(crate) mod directory;
pub(crate) mod remote;

#[cfg(all(test, loom))]
mod loom_models;
