//! The primitives as they are written: once, generic over a [`Flavor`],
//! [`Local`] or [`ThreadSafe`]. Not part of the `sprout` facade, whose
//! `sync` module names each type once, by its alias.
//!
//! The types in [`sync`](crate::sync) are these with the runtime-local flavour
//! (`sync::Event` is `Event<Local>`), those in
//! [`threadsafe`](crate::sync::threadsafe) with the thread-safe one; use them by
//! those names. This module is where their methods are documented, and
//! lets a function take either flavour:
//!
//! ```
//! use sprout_runtime::generic::{Event, Flavor};
//!
//! fn ring<F: Flavor>(bell: &Event<F>) {
//!     bell.set();
//! }
//!
//! let (local, shared) = (sprout::sync::Event::new(), sprout::sync::threadsafe::Event::new());
//! ring(&local);
//! ring(&shared);
//! assert!(local.is_set() && shared.is_set());
//! ```

pub use crate::sync::generic::*;
