//! `sprout::scope` and drops: the scope's future dropped mid-run, a child
//! cancelled at each of its awaits, a scope dropped outside its runtime.
//! Miri runs this file (the leaked scope is in `scope_leak.rs`, which Miri
//! runs with leak checks off).

mod support;

use std::cell::Cell;
use std::future::{Future, pending, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::Poll;

use sprout::{Runtime, scope, yield_now};
use support::{Counted, Counter, DropCount, Log};

/// Polls `fut` once, from inside the running task.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

#[sprout::test]
async fn dropping_the_scope_drops_every_child_before_the_drop_returns() {
    let (polls, drops) = (Counter::new(), Counter::new());
    let body_drops = Counter::new();
    let borrowed = String::from("still here");
    let mut fut = Box::pin(scope(async |s| {
        let _guard = DropCount(body_drops.clone());
        for _ in 0..4 {
            s.spawn(Counted::new(
                async {
                    // Each child borrows the caller's local until it is dropped.
                    let _ = borrowed.len();
                    pending::<()>().await
                },
                &polls,
                &drops,
            ));
        }
        s.spawn(async {
            s.spawn(Counted::new(pending::<()>(), &polls, &drops));
        });
        pending::<()>().await
    }));
    assert!(poll_once(&mut fut).await.is_pending());
    assert_eq!((polls.get(), drops.get()), (5, 0));
    drop(fut);
    assert_eq!(drops.get(), 5, "every child, the grandchild too, dropped in the drop");
    assert_eq!(body_drops.get(), 1);
    assert_eq!(borrowed, "still here");
    assert_eq!(sprout_runtime::probe::pending_timers(), 0);
}

#[sprout::test]
async fn a_scope_dropped_before_its_first_poll_runs_nothing() {
    let ran = Cell::new(false);
    drop(scope(async |s| {
        ran.set(true);
        s.spawn(async {});
    }));
    assert!(!ran.get());
}

/// A child with `AWAITS` awaits, cancelled (with the whole scope) at each
/// one in turn: it is dropped exactly once, right there, and nothing after
/// that await runs.
#[sprout::test]
async fn a_child_cancelled_at_any_await_is_dropped_once_there() {
    const AWAITS: usize = 4;
    for cancel_at in 0..=AWAITS {
        let (polls, drops) = (Counter::new(), Counter::new());
        let reached = Cell::new(0);
        let result = scope(async |s| {
            s.spawn(Counted::new(
                async {
                    for step in 0..AWAITS {
                        reached.set(step + 1);
                        yield_now().await;
                    }
                    reached.set(AWAITS + 1);
                },
                &polls,
                &drops,
            ));
            s.spawn(async {
                for _ in 0..cancel_at {
                    yield_now().await;
                }
                s.cancel();
            });
        })
        .await;
        // The body had returned, so the cancel keeps its value.
        assert!(result.is_ok());
        assert_eq!(drops.get(), 1, "cancel at {cancel_at}");
        // The child ran up to the await it was cancelled at, and no further.
        assert_eq!(reached.get(), (cancel_at + 1).min(AWAITS + 1), "cancel at {cancel_at}");
        assert_eq!(polls.get(), (cancel_at + 1).min(AWAITS + 1), "cancel at {cancel_at}");
    }
}

#[sprout::test]
async fn a_failure_drops_a_nested_scopes_children_too() {
    let drops = Counter::new();
    let log = Log::new();
    let err = scope(async |s| {
        s.spawn(async {
            scope(async |inner| {
                inner.spawn(Counted::new(pending::<()>(), &Counter::new(), &drops));
                inner.spawn(Counted::new(pending::<()>(), &Counter::new(), &drops));
                pending::<()>().await
            })
            .await
            .map_err(|e| e.to_string())
        });
        s.spawn(async {
            yield_now().await;
            yield_now().await;
            log.push("failing");
            Err::<(), _>("outer failure")
        });
    })
    .await
    .unwrap_err();
    assert_eq!(err.into_error::<&str>().unwrap(), "outer failure");
    assert_eq!(drops.get(), 2);
    assert_eq!(log.take(), ["failing"]);
}

#[sprout::test]
async fn killing_the_task_that_runs_a_scope_drops_its_children() {
    let drops = Counter::new();
    let task = sprout::spawn({
        let drops = drops.clone();
        async move {
            let local = 5;
            scope(async |s| {
                s.spawn(Counted::new(
                    async {
                        let _ = local;
                        pending::<()>().await
                    },
                    &Counter::new(),
                    &drops,
                ));
            })
            .await
            .unwrap();
        }
    });
    yield_now().await;
    yield_now().await;
    assert_eq!(drops.get(), 0);
    task.kill();
    assert_eq!(drops.get(), 1);
    assert!(task.await.unwrap_err().is_killed());
}

#[test]
fn a_scope_dropped_outside_its_runtime_drops_its_children() {
    let drops = Counter::new();
    let rt = Runtime::new().unwrap();
    let mut fut = Box::pin(scope(async |s| {
        s.spawn(Counted::new(pending::<()>(), &Counter::new(), &drops));
        pending::<()>().await
    }));
    rt.block_on(async { assert!(poll_once(&mut fut).await.is_pending()) });
    assert_eq!(drops.get(), 0);
    drop(fut);
    assert_eq!(drops.get(), 1);
    drop(rt);
}

#[test]
fn a_scope_polled_in_another_runtime_panics_and_still_drops_its_children() {
    let drops = Counter::new();
    let mut fut = Box::pin(scope(async |s| {
        s.spawn(Counted::new(pending::<()>(), &Counter::new(), &drops));
        pending::<()>().await
    }));
    let first = Runtime::new().unwrap();
    first.block_on(async { assert!(poll_once(&mut fut).await.is_pending()) });
    let second = Runtime::new().unwrap();
    let caught =
        second.block_on(poll_fn(|cx| Poll::Ready(catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx).is_ready())))));
    let message = caught.unwrap_err();
    assert!(message.downcast_ref::<&str>().unwrap().contains("polled in the runtime where it started"));
    drop(fut);
    assert_eq!(drops.get(), 1);
}
