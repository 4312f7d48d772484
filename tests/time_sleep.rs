//! Timers: order, no early fire, cancellation, timeout, interval.

mod support;

use std::future::pending;
use std::time::{Duration, Instant};

use sprout::time::MissedTickBehavior;
use sprout::{interval, run, sleep, sleep_until, spawn, timeout, yield_now};
use sprout_runtime::probe;
use support::{Log, within};

#[test]
fn timers_fire_in_deadline_order_and_never_early() {
    let log = Log::new();
    run(async {
        let start = Instant::now();
        let handles: Vec<_> = [7u64, 1, 5, 3, 3, 0, 12]
            .into_iter()
            .enumerate()
            .map(|(i, ms)| {
                let log = log.clone();
                spawn(async move {
                    let d = Duration::from_millis(ms);
                    let t = Instant::now();
                    sleep(d).await;
                    assert!(t.elapsed() >= d, "sleep({ms} ms) ended after {:?}", t.elapsed());
                    log.push(format!("{ms}:{i}"));
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        assert!(start.elapsed() >= Duration::from_millis(12));
    });
    // Equal deadlines keep their spawn order.
    assert_eq!(log.take(), ["0:5", "1:1", "3:3", "3:4", "5:2", "7:0", "12:6"]);
}

#[sprout::test]
async fn sleep_until_a_past_instant_is_ready() {
    sleep_until(Instant::now() - Duration::from_secs(1)).await;
    sleep(Duration::ZERO).await;
    let mut s = sleep(Duration::from_millis(1));
    assert!(!s.is_elapsed());
    (&mut s).await;
    assert!(s.is_elapsed());
    (&mut s).await; // ready again, harmlessly
}

#[sprout::test]
async fn huge_durations_do_not_panic() {
    let r = timeout(Duration::from_millis(1), sleep(Duration::MAX)).await;
    assert!(r.is_err());
    assert_eq!(probe::pending_timers(), 0);
}

#[sprout::test]
async fn dropping_a_sleep_cancels_its_timer() {
    let sleeps: Vec<_> = (0..1000).map(|i| sleep(Duration::from_secs(60 + i))).collect();
    let mut sleeps: Vec<_> = sleeps.into_iter().map(Box::pin).collect();
    // Arm them all.
    let _ = futures::future::poll_fn(|cx| {
        for s in &mut sleeps {
            let _ = s.as_mut().poll(cx);
        }
        std::task::Poll::Ready(())
    })
    .await;
    assert_eq!(probe::pending_timers(), 1000);
    sleeps.truncate(10);
    assert_eq!(probe::pending_timers(), 10);
    drop(sleeps);
    assert_eq!(probe::pending_timers(), 0);
}

#[sprout::test]
async fn sleep_reset_moves_the_deadline() {
    let mut s = Box::pin(sleep(Duration::from_secs(3600)));
    let _ = futures::poll!(s.as_mut());
    let soon = Instant::now() + Duration::from_millis(3);
    s.as_mut().reset(soon);
    assert_eq!(s.deadline(), soon);
    // Ends at the new deadline (the hour-long one would hang the test).
    within(s).await;
    assert!(Instant::now() >= soon);
}

#[sprout::test]
async fn timeout_variants() {
    assert_eq!(timeout(Duration::from_secs(10), async { 5 }).await, Ok(5));
    let err = timeout(Duration::from_millis(2), pending::<()>()).await.unwrap_err();
    assert_eq!(err.to_string(), "deadline has elapsed");
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    let at = sprout::time::timeout_at(Instant::now() + Duration::from_millis(2), pending::<()>()).await;
    assert!(at.is_err());
    // The future wins a tie.
    let both = timeout(Duration::ZERO, async { 1 }).await;
    assert_eq!(both, Ok(1));
    assert_eq!(probe::pending_timers(), 0);
}

/// Whether `d` is a whole, non-zero number of `period`s.
fn whole_periods(d: Duration, period: Duration) -> bool {
    !d.is_zero() && d.as_nanos().is_multiple_of(period.as_nanos())
}

#[sprout::test]
async fn interval_ticks_on_schedule() {
    let period = Duration::from_millis(3);
    let mut every = interval(period);
    let first = every.tick().await;
    let second = every.tick().await;
    let third = every.tick().await;
    // Ticks stay on the schedule; a loaded machine may skip some (the
    // default policy), never shift them.
    assert!(whole_periods(second - first, period));
    assert!(whole_periods(third - second, period));
    assert!(Instant::now() >= third);
}

#[sprout::test]
async fn interval_missed_tick_policies() {
    let period = Duration::from_millis(2);
    for policy in [MissedTickBehavior::Burst, MissedTickBehavior::Skip, MissedTickBehavior::Delay] {
        let mut every = interval(period);
        every.set_missed_tick_behavior(policy);
        let first = every.tick().await;
        // Fall behind by several periods without yielding to the timer.
        std::thread::sleep(Duration::from_millis(9));
        let late = Instant::now();
        let second = every.tick().await;
        let third = every.tick().await;
        match policy {
            // Burst: the missed ticks come at once, on the old schedule.
            MissedTickBehavior::Burst => {
                assert_eq!(second - first, period);
                assert_eq!(third - second, period);
            }
            // Skip: the schedule holds, and the next tick after falling
            // behind is the first schedule point after now.
            MissedTickBehavior::Skip => {
                assert!(whole_periods(second - first, period));
                assert!(whole_periods(third - first, period));
                assert!(third > late);
            }
            // Delay: the schedule restarts from the late tick.
            MissedTickBehavior::Delay => {
                assert!(second >= first + period);
                assert!(third >= late + period);
            }
        }
    }
}

#[sprout::test]
async fn many_timers_are_cheap_to_arm_and_cancel() {
    let tasks: Vec<_> = (0..50_000u64).map(|i| spawn(sleep(Duration::from_secs(1000 + i % 977)))).collect();
    // Each turn runs a batch of tasks; wait until every one has armed its timer.
    while probe::pending_timers() < 50_000 {
        yield_now().await;
    }
    sprout::killall(&tasks);
    assert_eq!(probe::pending_timers(), 0);
}
