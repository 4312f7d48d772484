//! The synchronization types of the cross-thread code, swappable for
//! loom's models.
//!
//! Code that other threads touch (the thread-safe primitives in
//! [`crate::sync::threadsafe`], the thread-safe queues) takes its
//! `Mutex` and friends from [`sync`] here, never from `std::sync`
//! directly. In a normal build these are `std`'s, re-exported: no cost. In
//! a build with `RUSTFLAGS="--cfg loom"` they are loom's, so that the
//! models in `sync/threadsafe/loom_models.rs` and `queue/loom_models.rs`
//! run the real code under loom's scheduler, which tries every
//! interleaving of the threads at each lock (see `docs/testing.md`).
//!
//! Loom's types must only be used inside `loom::model`, so a `--cfg loom`
//! build is good for the `--lib` models only.

/// `std::sync`, or loom's model of it under `cfg(loom)`.
#[allow(unused_imports)] // the shim offers the set; each user takes what it needs
pub(crate) mod sync {
    #[cfg(not(loom))]
    pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, atomic};

    #[cfg(loom)]
    pub(crate) use ::loom::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, atomic};
}

/// Declares a `const fn` that drops its `const` under loom, whose
/// `Mutex::new` is not `const`. The public constructors stay `const` in
/// every normal build.
macro_rules! const_fn_unless_loom {
    ($(#[$attr:meta])* $vis:vis const fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$attr])* $vis const fn $($rest)*

        #[cfg(loom)]
        $(#[$attr])* $vis fn $($rest)*
    };
}

pub(crate) use const_fn_unless_loom;

/// Locks `mutex`, whether or not a thread panicked while holding it: the
/// crate's one poison-tolerant lock, for `std`'s mutexes and the shim's.
///
/// sprout runs no user code under its own locks (or only code that cannot
/// break the protected state, such as a queue item's `Ord`), so a poisoned
/// mutex still guards consistent data, and refusing it would only turn one
/// panic into many. A new caller states why that holds for its lock.
#[inline]
pub(crate) fn lock<M: Lock + ?Sized>(mutex: &M) -> M::Guard<'_> {
    mutex.lock_ignoring_poison()
}

/// A mutex that [`lock`] takes.
pub(crate) trait Lock {
    /// The guard of a held lock.
    type Guard<'a>
    where
        Self: 'a;

    /// Locks, ignoring poison.
    fn lock_ignoring_poison(&self) -> Self::Guard<'_>;
}

impl<T: ?Sized> Lock for std::sync::Mutex<T> {
    type Guard<'a>
        = std::sync::MutexGuard<'a, T>
    where
        Self: 'a;

    #[inline]
    fn lock_ignoring_poison(&self) -> Self::Guard<'_> {
        self.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(loom)]
impl<T> Lock for ::loom::sync::Mutex<T> {
    type Guard<'a>
        = ::loom::sync::MutexGuard<'a, T>
    where
        Self: 'a;

    fn lock_ignoring_poison(&self) -> Self::Guard<'_> {
        self.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
