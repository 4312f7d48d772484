//! [`Outcome`]: what a child may return, and how the scope tells a failure
//! from a success (the functions a child's vtable carries for its type).

use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

use super::error::{ErrorValue, Failure};
use crate::task::JoinError;
use crate::task::child;
use crate::task::header::{Header, Vtable};
use sealed::Sealed as _;

mod sealed {
    use super::ErrorValue;

    /// What the scope asks of a child's output. A supertrait that users
    /// cannot name, so the methods stay out of the API (and `Outcome`
    /// cannot be implemented outside the runtime).
    pub trait Sealed {
        /// Whether this output is a failure.
        fn is_failure(&self) -> bool;

        /// The error of a failure, boxed (`None` for a success).
        #[allow(private_interfaces)]
        fn into_error(self) -> Option<Box<dyn ErrorValue>>;
    }

    /// Names `!` on stable Rust (see `Never`).
    pub trait Returns {
        type Output;
    }

    impl<T> Returns for fn() -> T {
        type Output = T;
    }
}

/// `!`, named on stable Rust, so that a child that never returns (a worker
/// `loop`, a block that ends in `panic!`) is a child too: its async block's
/// output is `!` in edition 2024.
type Never = <fn() -> ! as sealed::Returns>::Output;

/// What a scope child may return: `()`, which never fails, or a `Result`,
/// whose `Err` fails the scope (it cancels the other children under
/// fail-fast, and is listed in the [`ScopeError`](super::ScopeError)). The
/// same rule as for what `main` may return. The error may be any type with
/// `Debug`; [`Failure::error`](super::Failure::error) gets it back by type.
/// A child that never returns (`loop { ... }`, whose type is `!`) is fine too.
///
/// A child that computes a value returns it in `Ok` and hands it to
/// whoever awaits its [`ChildHandle`](super::ChildHandle):
///
/// ```
/// sprout::run(async {
///     let total = sprout::scope(async |s| {
///         let a = s.spawn(async { Ok::<u32, std::io::Error>(40) });
///         let b = s.spawn(async { Ok::<u32, std::io::Error>(2) });
///         a.await.unwrap().unwrap() + b.await.unwrap().unwrap()
///     })
///     .await
///     .unwrap();
///     assert_eq!(total, 42);
/// });
/// ```
pub trait Outcome: sealed::Sealed {}

impl Outcome for () {}
impl Outcome for Never {}
impl<T, E: fmt::Debug + 'static> Outcome for Result<T, E> {}

impl sealed::Sealed for () {
    fn is_failure(&self) -> bool {
        false
    }

    #[allow(private_interfaces)]
    fn into_error(self) -> Option<Box<dyn ErrorValue>> {
        None
    }
}

impl sealed::Sealed for Never {
    fn is_failure(&self) -> bool {
        match *self {}
    }

    #[allow(private_interfaces)]
    fn into_error(self) -> Option<Box<dyn ErrorValue>> {
        match self {}
    }
}

impl<T, E: fmt::Debug + 'static> sealed::Sealed for Result<T, E> {
    fn is_failure(&self) -> bool {
        self.is_err()
    }

    #[allow(private_interfaces)]
    fn into_error(self) -> Option<Box<dyn ErrorValue>> {
        match self {
            Ok(value) => {
                drop_quietly(value);
                None
            }
            Err(e) => Some(Box::new(e)),
        }
    }
}

/// Drops a value nobody will take; a panic in its destructor is swallowed,
/// as the task harness does with an output it discards.
fn drop_quietly<T>(value: T) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
}

/// The header vtable of children whose future is `F`: a static made once
/// per type, with the scope's failure check for `F::Output` in it.
#[inline]
pub(crate) fn child_vtable<F>() -> &'static Vtable
where
    F: Future,
    F::Output: Outcome,
{
    const { &child::vtable::<F>(typed_failed::<F>, typed_take::<F>) }
}

/// Whether the finished child `task` failed, leaving its output in place.
///
/// # Safety
/// `task` is a COMPLETE child block spawned by a scope, whose output was
/// not taken; the caller holds a reference.
pub(crate) unsafe fn failed(task: NonNull<Header>) -> bool {
    // SAFETY: by the caller's promise, the vtable is a child's (`child_vtable`).
    unsafe { (task.as_ref().vtable.failed)(task) }
}

/// Takes the finished child's output: its failure, if it is one; a success
/// is dropped. `None` too if the output was already taken.
///
/// # Safety
/// `task` is a COMPLETE child block spawned by a scope; the caller holds
/// a reference.
pub(crate) unsafe fn take_failure(task: NonNull<Header>) -> Option<Failure> {
    let mut out = MaybeUninit::<Option<Failure>>::uninit();
    // SAFETY: by the caller's promise, the vtable is a child's, whose
    // `take_failure` writes an `Option<Failure>` to `out`.
    unsafe {
        (task.as_ref().vtable.take_failure)(task, out.as_mut_ptr().cast());
        out.assume_init()
    }
}

/// # Safety
/// As [`failed`], with `F` the child's future type.
unsafe fn typed_failed<F>(task: NonNull<Header>) -> bool
where
    F: Future,
    F::Output: Outcome,
{
    // SAFETY: COMPLETE and not consumed: the output is live; only a shared
    // borrow, for the length of the call.
    match unsafe { &*child::output::<F>(task) } {
        Ok(value) => value.is_failure(),
        Err(e) => e.is_panic(),
    }
}

/// # Safety
/// As [`take_failure`], with `F` the child's future type, and `dst` an
/// `Option<Failure>` slot to write.
unsafe fn typed_take<F>(task: NonNull<Header>, dst: *mut ())
where
    F: Future,
    F::Output: Outcome,
{
    // SAFETY: forwarded; `dst` is the caller's slot.
    unsafe { dst.cast::<Option<Failure>>().write(take_typed::<F>(task)) }
}

/// # Safety
/// As [`take_failure`], with `F` the child's future type.
unsafe fn take_typed<F>(task: NonNull<Header>) -> Option<Failure>
where
    F: Future,
    F::Output: Outcome,
{
    // SAFETY: the caller holds a reference; this is the runtime thread.
    let header = unsafe { task.as_ref() };
    if !header.state.transition_to_consumed() {
        return None;
    }
    // SAFETY: the output is live, and CONSUMED (just set) stops any other
    // read: it is moved out once, here.
    let output = unsafe { child::output::<F>(task).read() };
    let name = || header.name().map(str::to_owned);
    match output {
        Ok(value) => value.into_error().map(|e| Failure::of_error(header.id, name(), e)),
        Err(JoinError::Panicked(panic)) => Some(Failure::of_panic(header.id, name(), panic)),
        Err(JoinError::Killed) => None,
    }
}
