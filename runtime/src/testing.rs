//! Deterministic tests: run a test body on a fresh runtime, with virtual
//! time or a seeded schedule, and look for races under many seeds.
//!
//! - [`run_test`], [`run_test_with`]: a body on a fresh runtime (what
//!   `#[sprout::test]` expands to).
//! - [`check_seeds`], [`check_seeds_with`]: a body under many seeded
//!   schedules, naming the seed that fails.
//! - [`SEED_VAR`]: the environment variable that re-runs one seed.
//!
//! Virtual time is in [`time`](crate::time) ([`pause`](crate::time::pause),
//! [`advance`](crate::time::advance)) and the builder
//! ([`start_paused`](crate::Builder::start_paused),
//! [`auto_advance`](crate::Builder::auto_advance),
//! [`seed`](crate::Builder::seed)). docs/debugging.md tells the whole
//! story, with sample output.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::builder::Builder;

/// The environment variable that makes [`check_seeds`] run one seed only:
/// `SPROUT_SEED=17 cargo test the_test` replays seed 17's schedule.
pub const SEED_VAR: &str = "SPROUT_SEED";

/// Runs `body()` on a fresh runtime with the default settings, and
/// returns its output: a test body without the attribute.
///
/// `body` is called inside the runtime, so it may spawn. Equivalent to
/// `#[sprout::test]` on an `async fn`.
///
/// # Panics
/// If the body panics (the test fails), or the runtime cannot be created.
///
/// ```
/// use std::time::Duration;
/// use sprout::{sleep, testing::run_test};
///
/// run_test(|| async {
///     sleep(Duration::from_millis(1)).await;
/// });
/// ```
#[track_caller]
pub fn run_test<F, Fut>(body: F) -> Fut::Output
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    run_test_with(Builder::new(), body)
}

/// Runs `body()` on a fresh runtime built from `builder`: paused time, a
/// seed, any other setting. `#[sprout::test(paused, seed = 3)]` expands to
/// this, with `Runtime::builder().start_paused(true).seed(3)`.
///
/// # Panics
/// As [`run_test`].
///
/// ```
/// use std::time::Duration;
/// use sprout::{Runtime, testing::run_test_with, time, timeout};
///
/// run_test_with(Runtime::builder().start_paused(true), || async {
///     let never = std::future::pending::<()>();
///     assert!(timeout(Duration::from_secs(3600), never).await.is_err());
///     assert!(time::is_paused());
/// });
/// ```
#[track_caller]
pub fn run_test_with<F, Fut>(builder: Builder, body: F) -> Fut::Output
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(e) => panic!("sprout::testing: cannot create the runtime: {e}"),
    };
    runtime.block_on(async move { body().await })
}

/// Runs `body(seed)` once for each seed, each on a fresh runtime whose
/// ready tasks run in the order that seed fixes
/// ([`Builder::seed`](crate::Builder::seed)), and panics at the first seed
/// whose run panics, naming it and how to replay it.
///
/// The default order, FIFO, is one schedule among many; a race that it
/// happens to miss (a check and an act on shared state with an `await`
/// between them) usually shows within a few seeds. A failing seed replays
/// the same interleaving every time, as long as the body's wake-ups come
/// from its own tasks and timers (see "Seeded schedules" in
/// docs/debugging.md); start the body with
/// [`time::pause`](crate::time::pause), or use [`check_seeds_with`] and a
/// paused builder, to take the real clock out of it.
///
/// With [`SEED_VAR`] set (`SPROUT_SEED=17`), only that seed runs, whatever
/// the range: that is how the failure message says to replay it. A panic
/// in a spawned task fails the run only if it reaches the body (through a
/// `JoinHandle`), or with a builder set to
/// [`PanicPolicy::Propagate`](crate::PanicPolicy::Propagate).
///
/// # Panics
/// At the first failing seed, with a message like:
///
/// ```text
/// sprout::testing::check_seeds: seed 1 fails (1 seed before it passed)
///   panic: assertion `left == right` failed: oversold: the last ticket went twice
///     left: 2
///    right: 1
///   replay it: SPROUT_SEED=1 cargo test -- --exact box_office_never_oversells, or #[sprout::test(seed = 1)]
/// ```
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use sprout::{spawn, testing::check_seeds, yield_now};
///
/// // Two tasks add to a counter without a race: each add is one step.
/// check_seeds(0..20, |_seed| async {
///     let counter = Rc::new(Cell::new(0));
///     let tasks: Vec<_> = (0..2).map(|_| {
///         let counter = counter.clone();
///         spawn(async move {
///             yield_now().await;
///             counter.set(counter.get() + 1);
///         })
///     }).collect();
///     for t in tasks { t.await.unwrap(); }
///     assert_eq!(counter.get(), 2);
/// });
/// ```
#[track_caller]
pub fn check_seeds<R, F, Fut>(seeds: R, body: F)
where
    R: IntoIterator<Item = u64>,
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    check_seeds_with(Builder::new(), seeds, body);
}

/// [`check_seeds`] with the other settings from `builder` (its seed is
/// replaced by each seed in turn): paused time, a panic policy.
///
/// ```
/// use std::time::Duration;
/// use sprout::{Runtime, sleep, testing::check_seeds_with};
///
/// check_seeds_with(Runtime::builder().start_paused(true), 0..10, |_| async {
///     sleep(Duration::from_secs(60)).await; // virtual: no real wait
/// });
/// ```
#[track_caller]
pub fn check_seeds_with<R, F, Fut>(builder: Builder, seeds: R, mut body: F)
where
    R: IntoIterator<Item = u64>,
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut seeds = seeds.into_iter().peekable();
    if seeds.peek().is_none() {
        // An empty range checks nothing: say so rather than pass.
        panic!("sprout::testing::check_seeds: the range of seeds is empty");
    }
    let seeds: Box<dyn Iterator<Item = u64>> = match replay_seed() {
        Some(seed) => Box::new(std::iter::once(seed)),
        None => Box::new(seeds),
    };
    for (passed, seed) in seeds.enumerate() {
        let builder = builder.clone().seed(seed);
        let run = catch_unwind(AssertUnwindSafe(|| run_test_with(builder, || body(seed))));
        if let Err(payload) = run {
            fail(seed, passed, payload);
        }
    }
}

/// The seed [`SEED_VAR`] asks for, if set.
#[track_caller]
fn replay_seed() -> Option<u64> {
    let value = std::env::var(SEED_VAR).ok()?;
    match value.trim().parse() {
        Ok(seed) => Some(seed),
        Err(_) => panic!("sprout::testing::check_seeds: {SEED_VAR}={value:?} is not a seed (a u64)"),
    }
}

/// Panics with the failing seed, the original panic's message, and how to
/// replay it.
#[track_caller]
fn fail(seed: u64, passed: usize, payload: Box<dyn Any + Send>) -> ! {
    let Some(message) = panic_message(&*payload) else {
        // Not a message: pass the payload on untouched, after naming the seed.
        eprintln!("sprout::testing::check_seeds: seed {seed} fails");
        resume_unwind(payload)
    };
    let tried = match passed {
        0 => "the first seed tried".to_owned(),
        1 => "1 seed before it passed".to_owned(),
        n => format!("{n} seeds before it passed"),
    };
    let test = std::thread::current().name().filter(|name| *name != "main").map(str::to_owned);
    let replay = match &test {
        Some(test) => format!("{SEED_VAR}={seed} cargo test -- --exact {test}"),
        None => format!("{SEED_VAR}={seed} and run it again"),
    };
    let indented = message.replace('\n', "\n  ");
    panic!(
        "sprout::testing::check_seeds: seed {seed} fails ({tried})\n  panic: {indented}\n  replay it: {replay}, or #[sprout::test(seed = {seed})]"
    )
}

/// The text of a panic payload, if it has one.
fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload.downcast_ref::<&str>().copied().or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_read_from_both_payload_kinds() {
        let a: Box<dyn Any + Send> = Box::new("static");
        let b: Box<dyn Any + Send> = Box::new(String::from("owned"));
        let c: Box<dyn Any + Send> = Box::new(7u8);
        assert_eq!(panic_message(&*a), Some("static"));
        assert_eq!(panic_message(&*b), Some("owned"));
        assert_eq!(panic_message(&*c), None);
    }
}
