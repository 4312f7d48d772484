//! Collecting groups and pools (`join_next`, tokio's `JoinSet` use cases)
//! and `kill_on_drop`.

mod support;

use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use sprout::pool::{Collect, Group, Pool};
use sprout::{sleep, yield_now};
use support::{Counted, Counter};

#[sprout::test(paused)]
async fn join_next_gives_results_in_the_order_members_finish() {
    let set = Group::collecting();
    for ms in [30u64, 10, 20] {
        set.spawn(async move {
            sleep(Duration::from_millis(ms)).await;
            ms
        });
    }
    assert_eq!(set.len(), 3);
    let mut order = Vec::new();
    while let Some(done) = set.join_next().await {
        order.push(done.unwrap());
    }
    assert_eq!(order, [10, 20, 30]);
    assert!(set.is_empty());
    assert!(set.join_next().await.is_none(), "an empty group ends at once");
}

#[sprout::test]
async fn a_panic_and_a_kill_come_back_as_errors() {
    let set: Group<Collect<u32>> = Group::collecting();
    set.spawn(async {
        yield_now().await;
        panic!("member panic")
    });
    let stuck = set.spawn(pending());
    drop(set.spawn(async { 5 }));
    stuck.kill();
    drop(stuck);
    let mut seen = Vec::new();
    while let Some(done) = set.join_next().await {
        seen.push(match done {
            Ok(v) => format!("ok {v}"),
            Err(e) if e.is_panic() => format!("panic {}", e.panic_message().unwrap()),
            Err(_) => "killed".to_owned(),
        });
    }
    seen.sort();
    assert_eq!(seen, ["killed", "ok 5", "panic member panic"]);
}

#[sprout::test]
async fn a_handle_that_takes_its_result_keeps_it_from_join_next() {
    let set = Group::collecting();
    let kept = set.spawn(async { 1 });
    set.spawn(async { 2 });
    assert_eq!(kept.await.unwrap(), 1);
    assert_eq!(set.join_next().await.unwrap().unwrap(), 2);
    assert!(set.join_next().await.is_none());
    // A handle dropped after its member finished hands the result over then.
    let late = set.spawn(async { 3 });
    yield_now().await;
    assert!(late.is_finished());
    assert!(set.try_join_next().is_none());
    drop(late);
    assert_eq!(set.try_join_next().unwrap().unwrap(), 3);
}

/// Polls `fut` once from the running task.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

#[sprout::test]
async fn a_dropped_join_next_loses_no_result() {
    let set = Group::collecting();
    let gate = std::rc::Rc::new(sprout::sync::Event::new());
    for i in 0..3 {
        let gate = gate.clone();
        set.spawn(async move {
            gate.wait().await;
            i
        });
    }
    // A waiting join_next, dropped (as a `select` drops the losing branch)
    // after the results arrived but before it was polled again.
    let mut waiting = Box::pin(set.join_next());
    assert!(poll_once(&mut waiting).await.is_pending());
    gate.set();
    for _ in 0..3 {
        yield_now().await;
    }
    drop(waiting);
    let mut got = Vec::new();
    while let Some(done) = set.join_next().await {
        got.push(done.unwrap());
    }
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2]);
}

#[sprout::test]
async fn two_waiters_share_the_results_and_both_end() {
    let set = Group::collecting();
    for i in 0..4u32 {
        set.spawn(async move {
            for _ in 0..i {
                yield_now().await;
            }
            i
        });
    }
    let a = sprout::spawn({
        let set = set.clone();
        async move {
            let mut n = 0;
            while set.join_next().await.is_some() {
                n += 1;
            }
            n
        }
    });
    let mut n = 0;
    while set.join_next().await.is_some() {
        n += 1;
    }
    assert_eq!(n + a.await.unwrap(), 4);
}

#[sprout::test]
async fn kill_on_drop_kills_the_members_with_the_last_handle() {
    let drops = Counter::new();
    let group = Group::new().kill_on_drop(true);
    let clone = group.clone();
    let member = group.spawn(Counted::new(pending::<()>(), &Counter::new(), &drops));
    yield_now().await;
    drop(group);
    assert_eq!(drops.get(), 0, "a clone is left");
    drop(clone);
    assert_eq!(drops.get(), 1);
    assert!(member.await.unwrap_err().is_killed());
}

#[sprout::test]
async fn without_kill_on_drop_members_outlive_the_group() {
    let group = Group::new();
    let member = group.spawn(async {
        yield_now().await;
        7
    });
    drop(group);
    assert_eq!(member.await.unwrap(), 7);
}

#[sprout::test]
async fn a_collecting_pool_bounds_its_members_and_collects_their_results() {
    let pool = Pool::collecting(2).kill_on_drop(true);
    let running = std::rc::Rc::new(std::cell::Cell::new(0));
    let most = std::rc::Rc::new(std::cell::Cell::new(0));
    for i in 0..6u32 {
        let (running, most) = (running.clone(), most.clone());
        pool.apply_async(async move {
            running.set(running.get() + 1);
            most.set(most.get().max(running.get()));
            yield_now().await;
            running.set(running.get() - 1);
            i
        });
    }
    let mut got = Vec::new();
    while let Some(done) = pool.join_next().await {
        got.push(done.unwrap());
    }
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2, 3, 4, 5]);
    assert_eq!(most.get(), 2);
    let spawned = pool.spawn(async { 9 }).await;
    drop(spawned);
    assert_eq!(pool.join_next().await.unwrap().unwrap(), 9);
}

#[sprout::test]
async fn a_pool_with_kill_on_drop_kills_its_queued_and_running_members() {
    let drops = Counter::new();
    let pool = Pool::new(1).kill_on_drop(true);
    let running = pool.spawn(Counted::new(pending::<()>(), &Counter::new(), &drops)).await;
    let queued = pool.apply_async(Counted::new(pending::<()>(), &Counter::new(), &drops));
    yield_now().await;
    drop(pool);
    assert_eq!(drops.get(), 2);
    assert!(running.await.unwrap_err().is_killed());
    assert!(queued.await.unwrap_err().is_killed());
}

#[test]
fn a_panic_nobody_reads_is_reported_when_the_group_goes() {
    let rt = sprout::Runtime::builder().on_unjoined_panic(sprout::PanicPolicy::Propagate).build().unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            let set: Group<Collect<()>> = Group::collecting();
            set.spawn(async { panic!("never read") });
            yield_now().await;
            assert_eq!(set.len(), 0);
            drop(set);
            yield_now().await;
        })
    }));
    let payload = caught.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"never read"));
}

#[sprout::test]
async fn untyped_groups_stay_heterogeneous() {
    let group = Group::new();
    let a = group.spawn(async { 1 });
    let b = group.spawn(async { "two" });
    assert_eq!((a.await.unwrap(), b.await.unwrap()), (1, "two"));
}
