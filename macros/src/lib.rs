//! sprout's macros, re-exported by the `sprout` facade: `#[sprout::test]`
//! runs an `async fn` test on a fresh runtime, optionally with virtual time
//! or a seeded schedule; `#[sprout::main]` runs an `async fn main`;
//! `sprout::select!` waits on several futures at once.
//!
//! Use them through the facade (`#[sprout::test]`): the expansion names
//! `::sprout::testing` and `::sprout::Runtime`. Without macros, the same is
//! `sprout::testing::run_test_with(builder, || async { ... })`.
//!
//! - `args.rs`: the attribute's options, parsed and checked, with the
//!   error messages users see;
//! - `expand.rs`: the function it becomes;
//! - `select.rs`: `sprout::select!`, waiting on several futures.

#![warn(missing_docs)]

use proc_macro::TokenStream;

mod args;
mod expand;
mod select;

/// Runs an `async fn` test on a fresh sprout runtime.
///
/// ```
/// # mod wrap {
/// use std::time::Duration;
///
/// #[sprout::test]
/// async fn echoes() {
///     assert_eq!(sprout::spawn(async { 7 }).await.unwrap(), 7);
/// }
///
/// #[sprout::test(paused)] // virtual time, auto-advance on
/// async fn an_hour_in_no_time() {
///     sprout::sleep(Duration::from_secs(3600)).await;
/// }
///
/// #[sprout::test(seed = 17)] // a seeded schedule
/// async fn seeded() {}
/// # }
/// ```
///
/// `#[sprout::test(paused, auto_advance = false)]`: time moves only by
/// `sprout::time::advance`.
///
/// The function becomes a `#[test]` fn with the same name, attributes and
/// return type, whose body runs in
/// `sprout::testing::run_test_with(Runtime::builder()...)`. Options:
/// `paused` (or `paused = true`), `auto_advance = false`, `seed = N` (a
/// `u64` literal); see docs/debugging.md.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::test(attr.into(), item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Runs `async fn main` on a sprout runtime: `fn main() { sprout::run(...) }`.
///
/// ```
/// #[sprout::main]
/// async fn main() {
///     sprout::sleep(std::time::Duration::from_millis(1)).await;
/// }
/// ```
///
/// It takes no options; build a `Runtime` by hand for other settings.
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::main(attr.into(), item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Waits on several futures at once and runs the branch of the first to
/// complete; the others are dropped. Documented, with examples, where the
/// `sprout` facade re-exports it (`sprout::select!`).
///
/// ```
/// use std::time::Duration;
/// use sprout::queue::Queue;
///
/// sprout::run(async {
///     let queue: Queue<u32> = Queue::new(0);
///     queue.put_nowait(1).unwrap();
///     let got = sprout::select! {
///         Ok(item) = queue.get() => Some(item),
///         _ = sprout::sleep(Duration::from_secs(1)) => None, // idle
///     };
///     assert_eq!(got, Some(1));
/// });
/// ```
#[proc_macro]
pub fn select(input: TokenStream) -> TokenStream {
    select::select(input.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}
