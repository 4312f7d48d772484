//! Time at its edges: durations too large to add to an `Instant`, deadlines
//! that have already passed, zero sleeps. Issue 8, bugs 6 and 11.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::future::{Either, select};
use sprout::time::{MissedTickBehavior, interval_at, timeout_at};
use sprout::{interval, sleep, sleep_until, spawn, timeout, yield_now};

/// Bug 6: a timeout of 2^60 s is "never", not "at once" (the tick
/// arithmetic overflowed: `Elapsed` after 0.2 µs in release, a panic in debug).
#[sprout::test]
async fn a_huge_timeout_does_not_fire() {
    let work = async {
        sleep(Duration::from_millis(3)).await;
        7
    };
    assert_eq!(timeout(Duration::from_secs(1 << 60), work).await, Ok(7));
    assert_eq!(timeout(Duration::MAX, async { 8 }).await, Ok(8));
    let pending = timeout(Duration::from_secs(u64::MAX / 1000 + 1), std::future::pending::<()>());
    assert!(timeout(Duration::from_millis(3), pending).await.is_err(), "the inner timeout never fires");
}

/// Bug 6: "never" is a valid deadline for every timer: sleeps, deadlines
/// far past the wheel's span, `timeout_at`.
#[sprout::test]
async fn sleeps_of_any_length_lose_to_a_short_one() {
    let now = Instant::now();
    for long in [Duration::MAX, Duration::from_secs(1 << 60), Duration::from_secs(86_400 * 365 * 3)] {
        let long = std::pin::pin!(sleep(long));
        let short = std::pin::pin!(sleep(Duration::from_millis(2)));
        assert!(matches!(select(long, short).await, Either::Right(_)));
    }
    let far = now + Duration::from_secs(1 << 40);
    let guarded = timeout_at(far, sleep(Duration::from_millis(1)));
    assert_eq!(guarded.await, Ok(()));
    let far_sleep = std::pin::pin!(sleep_until(far));
    assert!(timeout(Duration::from_millis(2), far_sleep).await.is_err());
}

/// Bug 6: `interval(Duration::MAX)` ticks once, then waits (forever) for
/// its second tick instead of panicking while computing it; every missed
/// tick behaviour saturates the same way.
#[sprout::test]
async fn an_interval_of_duration_max_waits_forever() {
    for behavior in [MissedTickBehavior::Skip, MissedTickBehavior::Burst, MissedTickBehavior::Delay] {
        let mut every = interval(Duration::MAX);
        every.set_missed_tick_behavior(behavior);
        every.tick().await;
        assert!(timeout(Duration::from_millis(2), every.tick()).await.is_err(), "{behavior:?}");
        every.reset();
        assert!(timeout(Duration::from_millis(1), every.tick()).await.is_err(), "{behavior:?}");
    }
    // A start long past, with a huge period: Skip's catch-up saturates too.
    let start = Instant::now() - Duration::from_millis(50);
    let mut late = interval_at(start, Duration::from_secs(1 << 62));
    late.tick().await;
    assert!(timeout(Duration::from_millis(1), late.tick()).await.is_err());
}

/// Bug 11: `sleep(Duration::ZERO)` is a yield, like gevent's `sleep(0)`:
/// it lets the other ready tasks run, and does not wait for the next 1 ms
/// tick (1,000 of them took a second).
#[sprout::test]
async fn sleep_zero_is_a_yield() {
    let other = Rc::new(Cell::new(0u32));
    let counter = other.clone();
    let spinner = spawn(async move {
        loop {
            counter.set(counter.get() + 1);
            yield_now().await;
        }
    });
    yield_now().await;
    let before = other.get();
    for _ in 0..1000 {
        sleep(Duration::ZERO).await;
    }
    // Each sleep(0) let the spinner run once, as a yield does, and only
    // once: one that waited for the next 1 ms tick would let it spin
    // through every loop turn of that millisecond.
    let ran = other.get() - before;
    assert!((999..=1001).contains(&ran), "the other task ran {ran} times in 1,000 sleep(0)");
    spinner.kill();
}

/// Bug 11: a deadline already past is a yield too: the other ready tasks
/// run before the sleeper goes on, and the sleep completes.
#[sprout::test]
async fn a_deadline_already_past_is_a_yield() {
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let _other = spawn(async move { flag.set(true) });
    sleep_until(Instant::now() - Duration::from_millis(5)).await;
    assert!(ran.get(), "the sleep let the ready task run");
    let past = sleep_until(Instant::now() - Duration::from_secs(1));
    assert!(!past.is_elapsed());
    past.await;
}

/// Issue 8, bug 11: a long sleep is not late by the kernel's timer slack
/// (0.1% of one long `epoll_wait`: up to 5 ms at 4 s). The deadline is put
/// on tick 4096 of the runtime's clock, the start of a level-2 wheel slot,
/// where the loop used to make one 4-second wait straight to the deadline.
/// Measures wall-clock lateness, so it is not run by default
/// (`cargo test --release --test time_limits -- --ignored`, on a quiet machine).
#[test]
#[ignore = "takes 4 s and measures wall-clock lateness"]
fn a_long_sleep_is_not_late_by_the_timer_slack() {
    let before = Instant::now();
    let rt = sprout::Runtime::new().unwrap();
    // The runtime's tick 0 is a little after `before`: this deadline rounds
    // up to tick 4096.
    let deadline = before + Duration::from_micros(4_095_900);
    let late = rt.block_on(async move {
        sleep_until(deadline).await;
        deadline.elapsed()
    });
    println!("lateness: {late:?}");
    assert!(late < Duration::from_millis(3), "a 4 s sleep ended {late:?} late");
}
