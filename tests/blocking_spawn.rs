//! `spawn_blocking` on the shared pool: blocking calls leave the green
//! tasks running, and `wait()` waits for thread work.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sprout::blocking::spawn_blocking;

#[sprout::test]
async fn a_blocking_call_does_not_stall_other_green_tasks() {
    let ticks = Rc::new(Cell::new(0u32));
    let ticker = {
        let ticks = ticks.clone();
        sprout::spawn(async move {
            loop {
                sprout::sleep(Duration::from_millis(1)).await;
                ticks.set(ticks.get() + 1);
            }
        })
    };
    let start = Instant::now();
    // 40 ms of a blocking sleep, off the runtime thread.
    let slept = spawn_blocking(|| std::thread::sleep(Duration::from_millis(40))).await;
    assert!(slept.is_ok());
    assert!(start.elapsed() >= Duration::from_millis(40));
    // Had the call blocked the loop, the ticker could not have ticked.
    assert!(ticks.get() >= 2, "the ticker ticked only {} times", ticks.get());
    ticker.kill();
}

#[sprout::test]
async fn many_blocking_calls_run_side_by_side() {
    let start = Instant::now();
    let calls: Vec<_> =
        (0..8).map(|i| spawn_blocking(move || std::thread::sleep(Duration::from_millis(20 + i)))).collect();
    for call in calls {
        call.await.unwrap();
    }
    // Lower bound only: they all ran.
    assert!(start.elapsed() >= Duration::from_millis(27));
}

#[sprout::test]
async fn wait_waits_for_thread_work_a_task_awaits() {
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    sprout::spawn(async move {
        let v = spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(15));
            7
        })
        .await
        .unwrap();
        d.set(v == 7);
    });
    // Nothing else is pending: only the keep-alive of the thread work
    // stops `wait` from returning at once.
    sprout::wait().await;
    assert!(done.get());
}

#[test]
fn work_dropped_unawaited_still_runs_and_releases_the_loop() {
    let ran = Arc::new(AtomicBool::new(false));
    sprout::run(async {
        let r = ran.clone();
        drop(spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(5));
            r.store(true, Ordering::SeqCst);
        }));
        sprout::wait().await;
        assert!(ran.load(Ordering::SeqCst), "wait returned before the thread work finished");
    });
}

#[sprout::test]
async fn panics_come_back_as_errors() {
    let err = spawn_blocking(|| -> () { panic!("blocking boom") }).await.unwrap_err();
    assert_eq!(err.panic_message(), Some("blocking boom"));
    assert_eq!(spawn_blocking(|| 3).await.unwrap(), 3);
}

#[test]
fn usable_from_plain_threads() {
    let mut work = spawn_blocking(|| "from a plain thread");
    assert_eq!(work.result(Duration::from_secs(30)).unwrap().unwrap(), "from a plain thread");
}
