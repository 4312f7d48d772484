//! `Notify` on a real runtime: the stored permit, `notify_waiters`, a
//! killed waiter passing its notification on, the dump; the thread-safe
//! one between tasks and threads.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use sprout::sync::Notify;
use sprout::{joinall, spawn, task, yield_now};

/// Lets every spawned task run until it blocks.
async fn settle() {
    for _ in 0..4 {
        yield_now().await;
    }
}

fn waiter(notify: &Rc<Notify>) -> sprout::JoinHandle<()> {
    let notify = notify.clone();
    spawn(async move { notify.notified().await })
}

#[sprout::test]
async fn notify_one_wakes_in_arrival_order_or_leaves_one_permit() {
    let notify = Rc::new(Notify::new());
    notify.notify_one();
    notify.notify_one();
    notify.notified().await; // the stored permit
    assert!(!notify.has_permit(), "permits do not add up");
    let waiters: Vec<_> = (0..3).map(|_| waiter(&notify)).collect();
    settle().await;
    assert_eq!(notify.waiters(), 3);
    notify.notify_one();
    settle().await;
    assert!(waiters[0].is_finished() && !waiters[1].is_finished(), "the longest waiter first");
    notify.notify_waiters();
    joinall(waiters).await;
    assert!(!notify.has_permit(), "notify_waiters stores nothing");
}

#[sprout::test]
async fn a_killed_waiter_passes_its_notification_on() {
    let notify = Rc::new(Notify::new());
    let (first, second) = (waiter(&notify), waiter(&notify));
    settle().await;
    notify.notify_one(); // chooses `first`...
    first.kill(); // ...which dies before it runs
    second.await.unwrap();
    assert!(first.await.unwrap_err().is_killed());
    // With nobody else waiting, it goes back to the permit.
    let alone = waiter(&notify);
    settle().await;
    notify.notify_one();
    alone.kill();
    assert!(notify.has_permit());
}

#[sprout::test(paused)]
async fn a_notified_future_counts_from_its_creation() {
    let notify = Notify::new();
    let ready = std::cell::Cell::new(false);
    let wait = notify.notified(); // created before checking the condition...
    if !ready.get() {
        ready.set(true);
        notify.notify_waiters(); // ...so a notification in between is not missed
        sprout::timeout(Duration::from_secs(1), wait).await.expect("notified");
    }
}

#[test]
fn the_dump_shows_a_notify_wait() {
    sprout::run(async {
        let notify = Rc::new(Notify::new());
        let t = task::Builder::new().name("sleeper").spawn({
            let notify = notify.clone();
            async move { notify.notified().await }
        });
        settle().await;
        let dump = sprout::dump();
        let sleeper = dump.task_named("sleeper").unwrap();
        assert_eq!(sleeper.waits_on().unwrap().name(), "notify", "{dump}");
        assert_eq!(sleeper.wait_at().unwrap().file(), file!());
        notify.notify_one();
        t.await.unwrap();
    });
}

#[test]
fn thread_safe_notify_between_tasks_and_threads() {
    let notify = Arc::new(sprout::sync::threadsafe::Notify::new());
    let thread = std::thread::spawn({
        let notify = notify.clone();
        move || {
            for _ in 0..50 {
                notify.notified_blocking();
            }
        }
    });
    sprout::run(async {
        // Each notify wakes the thread or leaves it one permit: 50 sends,
        // paced so that none is merged into a permit already stored.
        for _ in 0..50 {
            while notify.has_permit() {
                sprout::sleep(Duration::from_micros(50)).await;
            }
            notify.notify_one();
        }
    });
    thread.join().unwrap();
    assert!(!notify.notified_blocking_timeout(Duration::from_millis(1)));
}
