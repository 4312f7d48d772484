//! `Lazy`: a value computed by an async initialiser on first use (std's
//! `LazyLock`, made async), built on [`OnceCell`].
//!
//! The initialiser is a `Fn`, not a `FnOnce`: if the caller running it
//! fails to finish (its future dropped, or a panic), the next caller runs
//! it again (the `OnceCell` hand-off of the role).

use std::fmt;
use std::future::{Future, IntoFuture};

use super::flavor::{Flavor, Local, ThreadSafe};
use super::once_cell::{GetOrInit, OnceCell};
use super::threadsafe::block_on;

/// A value computed on first use by an async initialiser, which
/// concurrent callers wait for. Use it as [`sync::Lazy`](crate::sync::Lazy)
/// or [`sync::threadsafe::Lazy`](crate::sync::threadsafe::Lazy).
pub struct Lazy<T, I, F: Flavor> {
    cell: OnceCell<T, F>,
    init: I,
}

impl<T, I> Lazy<T, I, Local> {
    /// A value that `init` will compute on first use.
    pub const fn new(init: I) -> Self {
        Lazy { cell: OnceCell::<T, Local>::new(), init }
    }
}

impl<T, I> Lazy<T, I, ThreadSafe> {
    crate::loom::const_fn_unless_loom! {
        /// A value that `init` will compute on first use.
        pub const fn new(init: I) -> Self {
            Lazy { cell: OnceCell::<T, ThreadSafe>::new(), init }
        }
    }

    /// The value, computing it (on this OS thread, blocking it) if nobody
    /// has, or waiting for whoever is.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn force_blocking<Fut>(&self) -> &T
    where
        I: Fn() -> Fut,
        Fut: Future<Output = T>,
    {
        block_on("Lazy::force_blocking", self.force())
    }
}

impl<T, I, F: Flavor> Lazy<T, I, F> {
    /// The value, computing it if nobody has, or waiting (in a green task)
    /// for whoever is. `(&lazy).await` does the same.
    pub fn force<Fut>(&self) -> GetOrInit<'_, T, F, &I, Fut>
    where
        I: Fn() -> Fut,
        Fut: Future<Output = T>,
    {
        self.cell.get_or_init(&self.init)
    }

    /// The value, if it was computed (no waiting).
    pub fn get(&self) -> Option<&T> {
        self.cell.get()
    }

    /// The value if it was computed, or else the initialiser.
    pub fn into_inner(self) -> Result<T, I> {
        match self.cell.into_inner() {
            Some(value) => Ok(value),
            None => Err(self.init),
        }
    }
}

impl<'a, T, I, F: Flavor, Fut> IntoFuture for &'a Lazy<T, I, F>
where
    I: Fn() -> Fut,
    Fut: Future<Output = T>,
{
    type Output = &'a T;
    type IntoFuture = GetOrInit<'a, T, F, &'a I, Fut>;

    fn into_future(self) -> Self::IntoFuture {
        self.force()
    }
}

impl<T: fmt::Debug, I, F: Flavor> fmt::Debug for Lazy<T, I, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Lazy");
        match self.get() {
            Some(value) => d.field("value", value).finish(),
            None => d.finish_non_exhaustive(),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::sync::poll_once as poll;
    use std::cell::Cell;
    use std::future::{pending, ready};

    use std::task::Poll;

    use crate::sync::generic::{Lazy, Local};

    #[test]
    fn the_initialiser_runs_again_when_a_run_is_dropped() {
        let runs = Cell::new(0);
        let lazy = Lazy::<u32, _, Local>::new(|| {
            runs.set(runs.get() + 1);
            let n = runs.get();
            async move {
                if n == 1 {
                    pending::<()>().await; // the first run never ends: it is dropped
                }
                n
            }
        });
        let mut first = lazy.force();
        assert!(poll(&mut first).is_pending());
        let mut second = (&lazy).into_future();
        assert!(poll(&mut second).is_pending());
        drop(first);
        assert_eq!(poll(&mut second), Poll::Ready(&2));
        assert_eq!(poll(&mut lazy.force()), Poll::Ready(&2));
        assert_eq!(runs.get(), 2);
        drop(second);
        assert_eq!(lazy.into_inner().ok(), Some(2));
        let untouched = Lazy::<u8, _, Local>::new(|| ready(1));
        assert!(untouched.get().is_none() && untouched.into_inner().is_err());
    }
}
