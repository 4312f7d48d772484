//! Scheduling pieces that sit beside the loop: the cross-thread inject
//! queue, the directory of live runtimes (for drops outside a runtime) and
//! the per-poll operation budget. The run queue itself is a
//! `VecDeque` in `runtime::Core`.

pub mod coop;
pub(crate) mod directory;
pub(crate) mod remote;

#[cfg(all(test, loom))]
mod loom_models;
