//! `sprout::scope`: failures under fail-fast and collect-all, panics,
//! `cancel`, spawning after a cancel, deadlines (virtual time), and a body
//! that panics. Miri runs this file.

mod support;

use std::cell::Cell;
use std::future::pending;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use sprout::scope::{Builder, Cause, ChildError};
use sprout::{scope, sleep, yield_now};
use support::{Counted, Counter, Log};

#[derive(Debug, PartialEq)]
struct Refused(u32);

#[sprout::test]
async fn the_first_error_cancels_the_others_and_the_body() {
    let (polls, drops) = (Counter::new(), Counter::new());
    let body_after = Cell::new(false);
    let err = scope(async |s| {
        s.spawn(Counted::new(pending::<()>(), &polls, &drops));
        s.spawn_named("refuser", async {
            yield_now().await;
            Err::<(), _>(Refused(7))
        });
        s.spawn(Counted::new(pending::<()>(), &polls, &drops));
        pending::<()>().await;
        body_after.set(true);
    })
    .await
    .unwrap_err();
    assert_eq!(err.cause(), Cause::ChildFailed);
    assert_eq!(err.failures().len(), 1);
    let failure = &err.failures()[0];
    assert_eq!(failure.name(), Some("refuser"));
    assert_eq!(failure.error::<Refused>(), Some(&Refused(7)));
    assert!(!failure.is_panic());
    // Both waiting children were dropped, each polled once (before the failure).
    assert_eq!((polls.get(), drops.get()), (2, 2));
    assert!(!body_after.get());
    assert_eq!(err.into_error::<Refused>().unwrap(), Refused(7));
}

#[sprout::test]
async fn a_panicking_child_is_caught_and_reported() {
    let drops = Counter::new();
    let err = scope(async |s| {
        s.spawn(Counted::new(pending::<()>(), &Counter::new(), &drops));
        s.spawn_named("boom", async {
            yield_now().await;
            panic!("boom at the child");
        });
    })
    .await
    .unwrap_err();
    assert_eq!(err.cause(), Cause::ChildFailed);
    let failure = &err.failures()[0];
    assert!(failure.is_panic());
    assert_eq!(failure.panic_message(), Some("boom at the child"));
    assert_eq!(drops.get(), 1, "the sibling was cancelled");
    assert!(err.to_string().contains("child 'boom'") && err.to_string().contains("boom at the child"), "{err}");
    let payload = err.into_failures().remove(0).into_panic().unwrap();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom at the child"));
}

#[sprout::test]
async fn collect_all_runs_every_child_and_lists_every_failure() {
    let finished = Counter::new();
    let err = Builder::new()
        .collect_all()
        .run(async |s| {
            for i in 0..6u32 {
                let finished = finished.clone();
                s.spawn(async move {
                    for _ in 0..i {
                        yield_now().await;
                    }
                    finished.bump();
                    match i {
                        1 | 4 => Err(Refused(i)),
                        3 => panic!("three"),
                        _ => Ok(()),
                    }
                });
            }
        })
        .await
        .unwrap_err();
    assert_eq!(finished.get(), 6, "every child ran to its end");
    assert_eq!(err.cause(), Cause::ChildFailed);
    let failures = err.failures();
    assert_eq!(failures.len(), 3);
    assert_eq!(failures[0].error::<Refused>(), Some(&Refused(1)));
    assert_eq!(failures[1].panic_message(), Some("three"));
    assert_eq!(failures[2].error::<Refused>(), Some(&Refused(4)));
    assert!(err.to_string().ends_with("(and 2 more)"), "{err}");
}

#[sprout::test]
async fn collect_all_leaves_a_failure_to_the_handle_that_takes_it() {
    let value = Builder::new()
        .collect_all()
        .run(async |s| {
            let bad = s.spawn(async { Err::<u32, _>(Refused(1)) });
            // A child that only panics returns `!`: a child too.
            let boom = s.spawn(async { panic!("taken by the handle") });
            assert_eq!(bad.await.unwrap(), Err(Refused(1)));
            let panicked = boom.await.unwrap_err();
            assert!(panicked.is_panic(), "{panicked}");
            "handled"
        })
        .await
        .unwrap();
    assert_eq!(value, "handled");
}

#[sprout::test]
async fn collect_all_reports_a_failure_whose_handle_was_dropped_unawaited() {
    let err = Builder::new()
        .collect_all()
        .run(async |s| {
            let bad = s.spawn(async { Err::<(), _>(Refused(2)) });
            while !bad.is_finished() {
                yield_now().await;
            }
            drop(bad);
        })
        .await
        .unwrap_err();
    assert_eq!(err.failures()[0].error::<Refused>(), Some(&Refused(2)));
}

#[sprout::test]
async fn fail_fast_takes_a_failure_even_from_a_child_with_a_handle() {
    let err = scope(async |s| {
        let bad = s.spawn(async {
            yield_now().await;
            Err::<u32, _>(Refused(3))
        });
        pending::<()>().await;
        drop(bad);
    })
    .await
    .unwrap_err();
    assert_eq!(err.failures()[0].error::<Refused>(), Some(&Refused(3)));
}

#[sprout::test]
async fn cancel_drops_every_child_and_the_body() {
    let drops = Counter::new();
    let log = Log::new();
    let err = scope(async |s| {
        for _ in 0..3 {
            s.spawn(Counted::new(pending::<()>(), &Counter::new(), &drops));
        }
        s.spawn(async {
            yield_now().await;
            log.push("canceller");
            s.cancel();
            assert!(s.is_cancelled());
            log.push("finishes its poll");
        });
        pending::<()>().await;
    })
    .await
    .unwrap_err();
    assert_eq!(err.cause(), Cause::Cancelled);
    assert!(err.is_cancelled() && err.failures().is_empty());
    assert_eq!(drops.get(), 3);
    assert_eq!(log.take(), ["canceller", "finishes its poll"]);
}

#[sprout::test]
async fn a_cancel_after_the_body_returned_keeps_its_value() {
    let drops = Counter::new();
    let value = scope(async |s| {
        s.spawn(Counted::new(pending::<()>(), &Counter::new(), &drops));
        s.spawn(async {
            yield_now().await;
            s.cancel();
        });
        "the body's value"
    })
    .await
    .unwrap();
    assert_eq!(value, "the body's value");
    assert_eq!(drops.get(), 1);
}

#[sprout::test]
async fn a_child_spawned_after_the_cancel_never_runs() {
    let (polls, drops) = (Counter::new(), Counter::new());
    let late = Cell::new(None);
    let _ = scope(async |s| {
        s.cancel();
        let handle = s.spawn(Counted::new(async { Ok::<_, Refused>(1) }, &polls, &drops));
        // Dropped at once, before `spawn` returned.
        assert_eq!(drops.get(), 1);
        assert!(handle.is_finished());
        late.set(Some(handle.await.unwrap_err().is_cancelled()));
    })
    .await;
    assert_eq!(polls.get(), 0);
    // The body ran on after its own cancel until its next await: here, none.
    assert_eq!(late.get(), Some(true));
}

#[sprout::test]
async fn a_child_that_spawns_while_being_cancelled_gets_a_child_that_never_runs() {
    struct SpawnOnDrop<'a, 's, 'env>(&'s sprout::scope::Scope<'s, 'env>, &'a Counter);
    impl Drop for SpawnOnDrop<'_, '_, '_> {
        fn drop(&mut self) {
            let polls = self.1.clone();
            drop(self.0.spawn(async move { polls.bump() }));
        }
    }
    let polls = Counter::new();
    let err = scope(async |s| {
        let polls = &polls;
        s.spawn(async move {
            let _guard = SpawnOnDrop(s, polls);
            pending::<()>().await
        });
        yield_now().await;
        s.cancel();
        pending::<()>().await
    })
    .await
    .unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(polls.get(), 0);
}

#[sprout::test]
async fn cancelling_one_child_is_not_a_failure() {
    let value = scope(async |s| {
        let stuck = s.spawn(pending::<()>());
        yield_now().await;
        stuck.cancel();
        assert!(stuck.is_finished());
        matches!(stuck.await, Err(ChildError::Cancelled))
    })
    .await
    .unwrap();
    assert!(value);
}

#[sprout::test(paused)]
async fn the_deadline_cancels_a_scope_that_would_never_end() {
    let drops = Counter::new();
    let start = sprout::time::now();
    let err = Builder::new()
        .timeout(Duration::from_secs(3600))
        .run(async |s| {
            s.spawn(Counted::new(pending::<()>(), &Counter::new(), &drops));
            s.spawn(async {
                sleep(Duration::from_secs(10)).await;
            });
        })
        .await
        .unwrap_err();
    assert_eq!(err.cause(), Cause::DeadlineExceeded);
    assert!(err.is_deadline_exceeded());
    assert_eq!(sprout::time::now() - start, Duration::from_secs(3600));
    assert_eq!(drops.get(), 1);
}

#[sprout::test(paused)]
async fn a_scope_done_before_its_deadline_returns_its_value() {
    let start = sprout::time::now();
    let value = Builder::new()
        .deadline(start + Duration::from_secs(60))
        .run(async |s| {
            s.spawn(sleep(Duration::from_secs(59)));
            1
        })
        .await
        .unwrap();
    assert_eq!(value, 1);
    assert_eq!(sprout::time::now() - start, Duration::from_secs(59));
    // No timer left behind.
    assert_eq!(sprout_runtime::probe::pending_timers(), 0);
}

#[sprout::test(paused)]
async fn a_timeout_around_a_scope_drops_its_children() {
    let drops = Counter::new();
    let outcome = sprout::timeout(
        Duration::from_secs(5),
        scope(async |s| {
            s.spawn(Counted::new(pending::<()>(), &Counter::new(), &drops));
        }),
    )
    .await;
    assert!(outcome.is_err(), "the scope never ends by itself");
    assert_eq!(drops.get(), 1);
}

#[test]
fn a_panicking_body_drops_the_children_then_goes_on() {
    let drops = Counter::new();
    let caught = sprout::run(async {
        let fut = scope(async |s| {
            s.spawn(Counted::new(pending::<()>(), &Counter::new(), &drops));
            yield_now().await;
            panic!("the body's panic");
        });
        // Caught around the await: the scope's future panics out of its poll.
        futures::FutureExt::catch_unwind(AssertUnwindSafe(fut)).await
    });
    let payload = caught.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the body's panic"));
    assert_eq!(drops.get(), 1);
    // And not through the runtime: a plain run sees it as a panic too.
    let direct = catch_unwind(|| {
        sprout::run(async {
            let _ = scope(async |_| panic!("direct")).await;
        })
    });
    assert!(direct.is_err());
}
