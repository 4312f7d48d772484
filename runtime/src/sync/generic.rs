//! The primitives as they are written: once, generic over a [`Flavor`],
//! [`Local`] or [`ThreadSafe`].
//!
//! The types in [`sync`](super) are these with the runtime-local flavour
//! (`sync::Event` is `Event<Local>`), those in
//! [`threadsafe`](super::threadsafe) with the thread-safe one; use them by
//! those names. This module is where their methods are documented, and
//! lets a function take either flavour:
//!
//! ```
//! use sprout_runtime::sync::generic::{Event, Flavor};
//!
//! fn ring<F: Flavor>(bell: &Event<F>) {
//!     bell.set();
//! }
//!
//! let (local, shared) = (sprout_runtime::sync::Event::new(), sprout_runtime::sync::threadsafe::Event::new());
//! ring(&local);
//! ring(&shared);
//! assert!(local.is_set() && shared.is_set());
//! ```

pub use super::async_result::{AsyncResult, AsyncResultGet, AsyncResultReady};
pub use super::barrier::{Barrier, BarrierWait};
pub use super::cancel::{
    CancelToken, Cancelled, CancelledOwned, DropGuard, RunUntilCancelled, RunUntilCancelledOwned, TreeFlavor,
};
pub use super::condition::Condition;
pub use super::event::{Event, EventWait};
pub use super::flavor::{Flavor, Local, ThreadSafe};
pub use super::lazy::Lazy;
pub use super::lock::{Lock, LockFuture, LockGuard};
pub use super::notify::{Notified, Notify};
pub use super::once_cell::{GetOrInit, GetOrTryInit, OnceCell};
pub use super::rlock::{RLock, RLockFuture, RLockGuard};
pub use super::rwlock::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockRead, RwLockReadGuard, RwLockReadOwned, RwLockWrite,
    RwLockWriteGuard, RwLockWriteOwned,
};
pub use super::semaphore::{OwnedSemaphoreGuard, Semaphore, SemaphoreAcquire, SemaphoreAcquireOwned, SemaphoreGuard};
