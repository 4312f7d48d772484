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
    pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard, atomic};

    #[cfg(loom)]
    pub(crate) use ::loom::sync::{Arc, Condvar, Mutex, MutexGuard, atomic};
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
