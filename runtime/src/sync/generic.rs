//! The primitives as they are written, generic over a `Flavor`: gathered
//! here for the runtime's own code that serves both flavours
//! (`waitable.rs`), and published as `sprout_runtime::generic` (see there).

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
