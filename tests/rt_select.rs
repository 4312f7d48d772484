//! `sprout::select!` (issue 20, item 5): futures by value, the losers
//! dropped before the handler runs, patterns that disable a branch,
//! guards, `else`, `biased;`, an unbiased start that a seed replays, and
//! handlers that `.await`, `return` and `break`.

mod support;

use std::cell::Cell;
use std::future::{pending, ready};
use std::rc::Rc;
use std::time::Duration;

use sprout::queue::Queue;
use sprout::sync::Lock;
use sprout::{Runtime, select, sleep, spawn, yield_now};
use support::{Counter, DropCount};

/// A future that holds a `DropCount` and never completes.
fn never(drops: &Counter) -> impl Future<Output = ()> {
    let guard = DropCount(drops.clone());
    async move {
        let _guard = guard;
        pending::<()>().await
    }
}

#[sprout::test]
async fn the_first_to_complete_wins_and_the_losers_are_dropped_before_its_handler() {
    let drops = Counter::new();
    let got = select! {
        _ = never(&drops) => unreachable!(),
        v = async { yield_now().await; 5 } => {
            assert_eq!(drops.get(), 2, "both losers dropped before the handler runs");
            v
        }
        _ = never(&drops) => unreachable!(),
    };
    assert_eq!(got, 5);

    // A loser waiting on a queue loses nothing: the item stays for the next getter.
    let q: Rc<Queue<u8>> = Rc::new(Queue::new(0));
    let winner = select! {
        Ok(item) = q.get() => item,
        _ = sleep(Duration::from_millis(1)) => 0,
    };
    assert_eq!(winner, 0);
    assert_eq!(q.getters(), 0, "the dropped get left the line");
    q.put_nowait(3).unwrap();
    assert_eq!(q.get_nowait().unwrap(), 3);
}

#[sprout::test]
async fn handlers_may_use_what_the_losers_borrowed_await_and_leave_the_loop() {
    let lock = Lock::new(0);
    let mut rounds = 0;
    loop {
        rounds += 1;
        select! {
            // Borrows `lock`; dropped before the handler, which locks it.
            mut guard = lock.lock() => {
                *guard += 1;
                drop(guard);
                sleep(Duration::from_millis(1)).await;
                if *lock.lock().await == 3 {
                    break;
                }
            }
            _ = pending::<()>() => unreachable!(),
        }
    }
    assert_eq!(rounds, 3);

    async fn first_error() -> Result<u8, &'static str> {
        select! {
            r = ready(Err::<u8, _>("boom")) => { let _ = r?; }
        }
        Ok(1)
    }
    assert_eq!(first_error().await, Err("boom"));
}

#[sprout::test]
async fn a_value_that_misses_its_pattern_disables_the_branch_and_the_wait_goes_on() {
    let polls = Rc::new(Cell::new(0));
    let got = select! {
        Some(x) = async { None::<u8> } => x,
        y = {
            let polls = polls.clone();
            async move {
                polls.set(polls.get() + 1);
                yield_now().await;
                polls.set(polls.get() + 1);
                9
            }
        } => y,
    };
    assert_eq!((got, polls.get()), (9, 2));

    // Every branch missed: the else branch.
    let got = select! {
        Some(x) = ready(None::<u8>) => x,
        Ok(x) = ready(Err::<u8, ()>(())) => x,
        else => 42,
    };
    assert_eq!(got, 42);
}

#[sprout::test]
async fn guards_disable_before_polling_and_else_runs_when_all_are_off() {
    let polled = Rc::new(Cell::new(false));
    let probe = {
        let polled = polled.clone();
        async move {
            polled.set(true);
            1
        }
    };
    let got = select! {
        x = probe, if false => x,
        y = ready(2) => y,
    };
    assert_eq!(got, 2);
    assert!(!polled.get(), "a guarded-off branch is never polled");
    let open = false;
    let got = select! {
        x = ready(1), if open => x,
        else => 0,
    };
    assert_eq!(got, 0);
}

#[test]
#[should_panic(expected = "every branch is disabled and there is no `else` branch")]
fn every_branch_disabled_without_else_panics() {
    sprout::run(async {
        select! {
            Some(x) = ready(None::<u8>) => x,
        }
    });
}

#[sprout::test]
async fn biased_polls_in_order_and_unbiased_gives_every_ready_branch_its_turns() {
    for _ in 0..50 {
        let got = select! {
            biased;
            a = ready('a') => a,
            b = ready('b') => b,
        };
        assert_eq!(got, 'a');
    }
    let mut wins = [0u32; 3];
    for _ in 0..300 {
        let i = select! {
            a = ready(0) => a,
            b = ready(1) => b,
            c = ready(2) => c,
        };
        wins[i] += 1;
    }
    // The chance that a fair pick leaves a branch under 50 of 300 is below 1e-9.
    assert!(wins.iter().all(|&w| w >= 50), "{wins:?}");
}

/// The same seed gives the same picks: a seeded run replays its selects.
#[test]
fn a_seed_replays_the_unbiased_picks() {
    fn picks(seed: u64) -> Vec<u8> {
        let rt = Runtime::builder().seed(seed).build().unwrap();
        rt.block_on(async {
            let mut out = Vec::new();
            for _ in 0..64 {
                out.push(select! {
                    a = ready(0u8) => a,
                    b = ready(1u8) => b,
                });
            }
            out
        })
    }
    assert_eq!(picks(7), picks(7));
    assert_ne!(picks(7), picks(8));
}

/// Outside a runtime (another executor polls it), the start still varies.
#[test]
fn select_works_under_another_executor() {
    let got = futures::executor::block_on(async {
        select! {
            x = ready(1) => x,
            _ = pending::<()>() => 0,
        }
    });
    assert_eq!(got, 1);
}

#[sprout::test]
async fn join_handles_and_tokens_are_futures_to_select_on() {
    let token = sprout::CancelToken::new();
    let worker = spawn(async {
        sleep(Duration::from_millis(1)).await;
        "done"
    });
    let got = select! {
        r = worker => r.unwrap(),
        _ = token.cancelled() => "cancelled",
    };
    assert_eq!(got, "done");
}
