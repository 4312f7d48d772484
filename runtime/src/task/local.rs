//! Task-local storage: gevent's `local`, for green tasks.

use std::any::Any;
use std::fmt;
use std::rc::Rc;

use super::executor::Executor;

/// Declares task-local values: each task (and the `block_on` future) sees
/// its own copy, created on first access with the initializer, and dropped
/// when the task finishes. Like gevent's `local`, or `thread_local!` for
/// green tasks.
///
/// ```
/// use std::cell::Cell;
/// use sprout::{run, spawn, task_local, yield_now};
///
/// task_local! {
///     static REQUESTS: Cell<u32> = Cell::new(0);
/// }
///
/// run(async {
///     let a = spawn(async {
///         REQUESTS.with(|n| n.set(n.get() + 1));
///         yield_now().await;
///         REQUESTS.with(Cell::get)
///     });
///     let b = spawn(async { REQUESTS.with(Cell::get) });
///     assert_eq!(a.await.unwrap(), 1);
///     assert_eq!(b.await.unwrap(), 0);
/// });
/// ```
#[macro_export]
macro_rules! task_local {
    ($($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr;)+) => {
        $(
            $(#[$attr])*
            $vis static $name: $crate::task::LocalKey<$t> = $crate::task::LocalKey::new({
                fn __init() -> $t {
                    $init
                }
                __init
            });
        )+
    };
}

/// A key for a task-local value; see [`task_local!`](crate::task_local).
pub struct LocalKey<T: 'static> {
    init: fn() -> T,
}

/// The error of [`LocalKey::try_with`] outside a sprout runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessError;

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value accessed outside a sprout runtime")
    }
}

impl std::error::Error for AccessError {}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn new(init: fn() -> T) -> LocalKey<T> {
        LocalKey { init }
    }

    /// Runs `f` with this task's value, creating it on first use.
    ///
    /// # Panics
    /// Outside a sprout runtime.
    #[track_caller]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        match self.try_with(f) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`with`](Self::with), but fails instead of panicking outside a runtime.
    pub fn try_with<R>(&'static self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        let executor = Executor::current().ok_or(AccessError)?;
        let key = self as *const Self as usize;
        // SAFETY: the current task is live while it is being polled (or the
        // root, which lives as long as the runtime).
        let header = unsafe { executor.current_task().as_ref() };
        let found = header.with_extras(|e| e.locals.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()));
        // The initializer and `f` are user code: they run with no borrow of
        // the task's extras held, and may use other task-locals.
        let value: Rc<dyn Any> = match found {
            Some(v) => v,
            None => {
                let v: Rc<dyn Any> = Rc::new((self.init)());
                header.with_extras(|e| e.locals.push((key, v.clone())));
                v
            }
        };
        let value = value.downcast_ref::<T>().expect("task-local keys are unique per type");
        Ok(f(value))
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey").finish_non_exhaustive()
    }
}
