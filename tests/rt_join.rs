//! joinall and its variants, iwait, killall, wait.

mod support;

use std::future::pending;
use std::time::Duration;

use futures::StreamExt;
use sprout::{JoinError, iwait, joinall, killall, run, sleep, spawn, wait, yield_now};
use sprout_runtime::probe;
use support::{Counter, DropCount, Log};

/// A task that returns `value` in its first poll: finished before any
/// timer of the test can fire (the loop runs ready tasks before it
/// advances the timers).
fn ready(value: u64) -> sprout::JoinHandle<u64> {
    spawn(async move { value })
}

fn sleeper(ms: u64, value: u64) -> sprout::JoinHandle<u64> {
    spawn(async move {
        sleep(Duration::from_millis(ms)).await;
        value
    })
}

#[sprout::test]
async fn joinall_returns_results_in_input_order() {
    let handles = vec![sleeper(6, 0), sleeper(2, 1), spawn(async { panic!("two") }), sleeper(4, 3)];
    let results = joinall(handles).await;
    assert_eq!(results.len(), 4);
    assert_eq!(*results[0].as_ref().unwrap(), 0);
    assert_eq!(*results[1].as_ref().unwrap(), 1);
    assert_eq!(results[2].as_ref().unwrap_err().panic_message(), Some("two"));
    assert_eq!(*results[3].as_ref().unwrap(), 3);
    assert!(joinall(Vec::<sprout::JoinHandle<()>>::new()).await.is_empty());
}

#[sprout::test]
async fn joinall_of_many_tasks() {
    let handles: Vec<_> = (0..10_000u64).map(|i| spawn(async move { i * 2 })).collect();
    let sum: u64 = joinall(handles).await.into_iter().map(Result::unwrap).sum();
    assert_eq!(sum, 10_000 * 9_999);
}

#[sprout::test]
async fn joinall_timeout_returns_finished_and_pending() {
    // Not sleepers: a 1 ms sleeper against the 20 ms time-out is a race
    // that a stalled thread loses.
    let handles = vec![ready(10), spawn(pending::<u64>()), ready(30), spawn(pending::<u64>())];
    let joined = joinall(handles).timeout(Duration::from_millis(20)).await;
    let finished: Vec<(usize, u64)> = joined.finished.into_iter().map(|(i, r)| (i, r.unwrap())).collect();
    assert_eq!(finished, [(0, 10), (2, 30)]);
    let pending_idx: Vec<usize> = joined.pending.iter().map(|(i, _)| *i).collect();
    assert_eq!(pending_idx, [1, 3]);
    for (_, h) in &joined.pending {
        assert!(!h.is_finished());
    }
    killall(joined.pending.iter().map(|(_, h)| h));
    assert_eq!(probe::live_tasks(), 0);
}

#[sprout::test]
async fn joinall_count_returns_after_n() {
    let handles = vec![sleeper(30, 0), sleeper(1, 1), sleeper(2, 2), spawn(pending::<u64>())];
    let joined = joinall(handles).count(2).await;
    let idx: Vec<usize> = joined.finished.iter().map(|(i, _)| *i).collect();
    assert_eq!(idx, [1, 2]);
    assert_eq!(joined.pending.len(), 2);
    let rest = joined.pending.into_iter().map(|(_, h)| h).collect::<Vec<_>>();
    killall(&rest);
}

#[sprout::test]
async fn joinall_fail_fast_stops_at_the_first_error_and_kills_nothing() {
    let handles = vec![
        sleeper(40, 0),
        spawn(async {
            sleep(Duration::from_millis(2)).await;
            panic!("bad one")
        }),
        sleeper(1, 2),
    ];
    let joined = joinall(handles).fail_fast().await;
    let (index, err) = joined.first_error().unwrap();
    assert_eq!(index, 1);
    assert_eq!(err.panic_message(), Some("bad one"));
    assert_eq!(joined.finished.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 2]);
    // gevent's raise_error does not kill the rest; neither do we.
    assert_eq!(joined.pending.len(), 1);
    let (_, survivor) = joined.pending.into_iter().next().unwrap();
    assert_eq!(survivor.await.unwrap(), 0);
}

#[sprout::test]
async fn joinall_options_combine() {
    let handles = vec![ready(0), spawn(pending::<u64>())];
    let joined = joinall(handles).count(2).timeout(Duration::from_millis(10)).await;
    assert_eq!(joined.finished.len(), 1);
    assert_eq!(joined.pending.len(), 1);
    killall(joined.pending.iter().map(|(_, h)| h));
    // Everything already finished: returns at once, nothing pending.
    let joined = joinall(vec![sleeper(0, 5)]).timeout(Duration::from_secs(60)).fail_fast().await;
    assert_eq!(joined.finished.len(), 1);
    assert!(joined.pending.is_empty());
}

#[sprout::test]
async fn iwait_yields_in_completion_order() {
    let handles = vec![sleeper(12, 0), sleeper(1, 1), sleeper(6, 2)];
    let mut stream = iwait(handles);
    assert_eq!(stream.remaining(), 3);
    let mut order = Vec::new();
    while let Some((index, result)) = stream.next().await {
        assert_eq!(result.unwrap(), index as u64);
        order.push(index);
    }
    assert_eq!(order, [1, 2, 0]);
    let mut empty = iwait(Vec::<sprout::JoinHandle<u8>>::new());
    assert!(empty.next().await.is_none());
}

#[test]
fn killall_kills_everything_at_once() {
    let drops = Counter::new();
    run(async {
        let handles: Vec<_> = (0..50)
            .map(|_| {
                let guard = DropCount(drops.clone());
                spawn(async move {
                    let _guard = guard;
                    pending::<()>().await
                })
            })
            .collect();
        yield_now().await;
        killall(&handles);
        assert_eq!(drops.get(), 50, "all dead when killall returns");
        for result in joinall(handles).await {
            assert!(matches!(result, Err(JoinError::Killed)));
        }
    });
}

#[test]
fn wait_returns_when_nothing_is_left_to_wait_for() {
    let log = Log::new();
    run(async {
        for ms in [3u64, 1, 2] {
            let log = log.clone();
            spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                log.push(format!("{ms}"));
            });
        }
        // A task blocked forever does not keep wait() waiting.
        spawn(pending::<()>());
        wait().await;
        assert_eq!(log.take(), ["1", "2", "3"]);
        // With nothing at all, wait returns at once.
        wait().await;
    });
}
