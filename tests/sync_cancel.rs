//! Cancel tokens (issue 20, item 3): waits, children, the drop guard,
//! `run_until_cancelled`, cancellation safety, tokens cancelled from other
//! threads (also while the waiting task is being polled), and what the
//! dump and the deadlock report say of a task waiting on one.

mod support;

use std::cell::Cell;
use std::future::poll_fn;
use std::pin::pin;
use std::rc::Rc;
use std::sync::mpsc;
use std::task::Poll;
use std::time::Duration;

use sprout::observe::TaskState;
use sprout::sync::{CancelToken, threadsafe};
use sprout::{Runtime, joinall, sleep, spawn, task, yield_now};
use support::{Counter, DropCount, FlagWaker};

const HERE: &str = file!();

#[sprout::test]
async fn cancel_wakes_every_waiter_of_every_clone() {
    let token = CancelToken::new();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let token = token.clone();
            spawn(async move { token.cancelled().await })
        })
        .collect();
    yield_now().await;
    assert!(waiters.iter().all(|w| !w.is_finished()));
    assert!(!token.is_cancelled());
    token.clone().cancel();
    assert!(token.is_cancelled());
    for w in joinall(waiters).await {
        w.unwrap();
    }
    // Cancelled for good: a new wait returns at once, a second cancel is a no-op.
    token.cancelled().await;
    token.cancel();
    assert!(token.is_cancelled());
}

#[sprout::test]
async fn a_child_follows_its_parent_and_not_the_other_way() {
    let parent = CancelToken::new();
    let child = parent.child_token();
    let grandchild = child.child_token();
    let sibling = parent.child_token();
    child.cancel();
    assert!(child.is_cancelled() && grandchild.is_cancelled());
    assert!(!parent.is_cancelled() && !sibling.is_cancelled(), "a child's cancel stays below it");
    let waiter = spawn({
        let sibling = sibling.clone();
        async move { sibling.cancelled().await }
    });
    yield_now().await;
    parent.cancel();
    waiter.await.unwrap();
    assert!(sibling.is_cancelled());
    // A child of a cancelled token is born cancelled.
    assert!(parent.child_token().is_cancelled());
}

#[sprout::test]
async fn run_until_cancelled_returns_the_output_or_none_and_drops_the_work() {
    let token = CancelToken::new();
    assert_eq!(token.run_until_cancelled(async { 7 }).await, Some(7));

    let dropped = Counter::new();
    let work = {
        let guard = DropCount(dropped.clone());
        async move {
            let _guard = guard;
            sleep(Duration::from_secs(3600)).await;
            1
        }
    };
    let canceller = spawn({
        let token = token.clone();
        async move { token.cancel() }
    });
    assert_eq!(token.run_until_cancelled(work).await, None);
    assert_eq!(dropped.get(), 1, "the work was dropped when the token was cancelled");
    canceller.await.unwrap();

    // Already cancelled: the work is not even polled.
    let polled = Rc::new(Cell::new(false));
    let out = token
        .run_until_cancelled({
            let polled = polled.clone();
            async move { polled.set(true) }
        })
        .await;
    assert_eq!(out, None);
    assert!(!polled.get());

    // The owned form, in a spawned task.
    let token = CancelToken::new();
    let task = spawn(token.clone().run_until_cancelled_owned(std::future::pending::<()>()));
    yield_now().await;
    token.cancel();
    assert_eq!(task.await.unwrap(), None);
}

#[sprout::test]
async fn the_drop_guard_cancels_unless_disarmed() {
    let token = CancelToken::new();
    let guard = token.clone().drop_guard();
    assert!(!guard.token().is_cancelled());
    let kept = guard.disarm();
    assert!(!kept.is_cancelled() && !token.is_cancelled());
    {
        let _guard = kept.drop_guard();
        let child = token.child_token();
        let handler = spawn(async move { child.cancelled().await });
        yield_now().await;
        assert!(!handler.is_finished());
        // `_guard` drops here: the handler's scope ended.
        drop(_guard);
        handler.await.unwrap();
    }
    assert!(token.is_cancelled());
}

/// Cancellation safety: a dropped wait leaves no waker behind, on either
/// flavour, however far it got.
#[test]
fn a_dropped_wait_leaves_no_waker_behind() {
    let local = CancelToken::new();
    let shared = threadsafe::CancelToken::new();
    let (a, b) = (FlagWaker::new(), FlagWaker::new());
    {
        let mut wait = pin!(local.cancelled());
        assert!(a.poll(&mut wait).is_pending());
        assert!(a.poll(&mut wait).is_pending()); // polled again: still one entry
        let mut wait = pin!(shared.cancelled());
        assert!(b.poll(&mut wait).is_pending());
    }
    local.cancel();
    shared.cancel();
    assert_eq!((a.wakes(), b.wakes()), (0, 0), "a dropped wait must not be woken");

    // Woken, then dropped before it looked: nothing to pass on, nothing left.
    let token = CancelToken::new();
    let c = FlagWaker::new();
    let mut wait = Box::pin(token.cancelled());
    assert!(c.poll(&mut wait).is_pending());
    token.cancel();
    assert_eq!(c.wakes(), 1);
    drop(wait);
    assert!(c.poll(&mut Box::pin(token.cancelled())).is_ready());
}

#[test]
fn the_thread_safe_token_and_its_futures_are_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let token = threadsafe::CancelToken::new();
    send_sync(&token);
    send_sync(&token.cancelled());
    send_sync(&token.clone().cancelled_owned());
    send_sync(&token.clone().drop_guard());
}

#[test]
fn a_thread_cancels_waiting_tasks_and_blocked_threads() {
    let token = threadsafe::CancelToken::new();
    let blocked = std::thread::spawn({
        let token = token.child_token();
        move || token.cancelled_blocking()
    });
    assert!(!token.cancelled_blocking_timeout(Duration::from_millis(1)));
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let token = token.child_token();
                spawn(async move { token.cancelled().await })
            })
            .collect();
        yield_now().await;
        let canceller = std::thread::spawn({
            let token = token.clone();
            move || token.cancel()
        });
        for w in joinall(waiters).await {
            w.unwrap();
        }
        canceller.join().unwrap();
    });
    blocked.join().unwrap();
    assert!(token.cancelled_blocking_timeout(Duration::ZERO));
}

/// The edge case: the token is cancelled on another thread while
/// the waiting task is in the middle of its poll, after it registered.
/// The wake lands while the task is running; the task must be polled again
/// and see the cancel (a lost wake would hang: the watchdog fails the test).
#[test]
fn a_cancel_from_another_thread_during_the_waiters_poll_is_not_lost() {
    support::watchdog(Duration::from_secs(30), || {
        let token = threadsafe::CancelToken::new();
        let (registered_tx, registered) = mpsc::channel::<()>();
        let (cancelled_tx, cancelled) = mpsc::channel::<()>();
        let canceller = std::thread::spawn({
            let token = token.clone();
            move || {
                registered.recv().unwrap();
                token.cancel();
                cancelled_tx.send(()).unwrap();
            }
        });
        let polls = sprout::run(async move {
            let waiter = spawn(async move {
                let mut wait = pin!(token.cancelled());
                let mut polls = 0;
                poll_fn(|cx| {
                    polls += 1;
                    let poll = wait.as_mut().poll(cx);
                    if polls == 1 {
                        assert!(poll.is_pending());
                        // Still inside this poll: the other thread cancels now.
                        registered_tx.send(()).unwrap();
                        cancelled.recv().unwrap();
                        return Poll::Pending;
                    }
                    poll.map(|()| polls)
                })
                .await
            });
            waiter.await.unwrap()
        });
        canceller.join().unwrap();
        assert_eq!(polls, 2);
    });
}

#[test]
fn a_dump_shows_a_task_waiting_on_a_token() {
    sprout::run(async {
        let token = CancelToken::new();
        let waiter = task::Builder::new().name("handler").spawn({
            let token = token.clone();
            async move { token.cancelled().await }
        });
        yield_now().await;
        let dump = sprout::dump();
        let t = dump.task_named("handler").unwrap();
        assert_eq!(t.state(), TaskState::Waiting, "{dump}");
        assert_eq!(t.waits_on().unwrap().name(), "cancelled()", "{dump}");
        assert_eq!(t.wait_at().unwrap().file(), HERE, "{dump}");
        assert!(dump.to_string().contains("cancelled()"), "{dump}");
        token.cancel();
        waiter.await.unwrap();
    });
}

#[test]
fn waiting_on_a_token_nobody_can_cancel_is_a_deadlock() {
    let rt = Runtime::new().unwrap();
    let report = rt
        .try_block_on(async {
            let token = CancelToken::new();
            let waiter = task::Builder::new().name("waiter").spawn({
                let token = token.clone();
                async move { token.cancelled().await }
            });
            waiter.await
        })
        .expect_err("nothing can cancel the token");
    let waiter = report.dump().task_named("waiter").unwrap();
    assert_eq!(waiter.waits_on().unwrap().name(), "cancelled()", "{report}");

    // A thread-safe token that a thread cancels later is no deadlock.
    let token = threadsafe::CancelToken::new();
    let canceller = std::thread::spawn({
        let token = token.clone();
        move || {
            std::thread::sleep(Duration::from_millis(50));
            token.cancel();
        }
    });
    let rt = Runtime::new().unwrap();
    rt.try_block_on(async move { token.cancelled().await }).expect("a thread will cancel it");
    canceller.join().unwrap();
}
