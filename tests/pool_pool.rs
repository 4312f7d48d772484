//! `Pool`: the concurrency cap, waiting for slots, fairness, cancellation.

use std::cell::{Cell, RefCell};
use std::future::pending;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::noop_waker;
use sprout::JoinError;
use sprout::pool::Pool;

/// Counts running tasks and records the most seen at once.
#[derive(Default)]
struct Gauge {
    now: Cell<usize>,
    max: Cell<usize>,
}

impl Gauge {
    async fn run(&self, ms: u64) {
        self.now.set(self.now.get() + 1);
        self.max.set(self.max.get().max(self.now.get()));
        sprout::sleep(Duration::from_millis(ms)).await;
        self.now.set(self.now.get() - 1);
    }
}

#[sprout::test]
async fn the_cap_is_never_exceeded_whichever_way_work_comes_in() {
    let pool = Pool::new(3);
    let gauge = Rc::new(Gauge::default());
    // spawn (waits for a slot), apply_async (queues), and a map, all at once.
    let mut handles = Vec::new();
    for i in 0..6u64 {
        let g = gauge.clone();
        handles.push(pool.spawn(async move { g.run(i % 3).await }).await);
        let g = gauge.clone();
        handles.push(pool.apply_async(async move { g.run(1 + i % 2).await }));
    }
    let g = gauge.clone();
    let mapped = pool.map(
        move |i: u64| {
            let g = g.clone();
            async move { g.run(i % 4).await }
        },
        0..12,
    );
    assert_eq!(mapped.await.len(), 12);
    for h in handles {
        h.await.unwrap();
    }
    pool.join().await;
    assert_eq!(gauge.max.get(), 3, "the pool ran more than its size, or never filled up");
    assert_eq!(pool.free_count(), 3);
}

#[sprout::test]
async fn spawn_waits_for_a_free_slot() {
    let pool = Pool::new(1);
    assert_eq!((pool.size(), pool.free_count(), pool.is_full()), (1, 1, false));
    // Taken before the sleep fixes its deadline: the sleep ends 5 ms
    // after `start` at the earliest.
    let start = std::time::Instant::now();
    let first = pool.spawn(sprout::sleep(Duration::from_millis(5))).await;
    assert!(pool.is_full());
    let second = pool.spawn(async { "second" }).await;
    // The second spawn returned only once the first finished.
    assert!(start.elapsed() >= Duration::from_millis(5));
    assert!(first.is_finished());
    assert_eq!(second.await.unwrap(), "second");
}

#[sprout::test]
async fn slots_go_to_waiters_in_arrival_order() {
    let pool = Pool::new(1);
    let blocker = pool.spawn(pending::<()>()).await;
    let order = Rc::new(RefCell::new(Vec::new()));
    let waiters: Vec<_> = (0..4)
        .map(|i| {
            let (pool, order) = (pool.clone(), order.clone());
            sprout::spawn(async move {
                let task = pool.spawn(async {}).await;
                order.borrow_mut().push(i);
                task.await.unwrap();
            })
        })
        .collect();
    sprout::sleep(Duration::from_millis(1)).await;
    // A newcomer while they wait must queue behind them.
    let late = {
        let (pool, order) = (pool.clone(), order.clone());
        sprout::spawn(async move {
            pool.spawn(async {}).await.await.unwrap();
            order.borrow_mut().push(99);
        })
    };
    blocker.kill();
    sprout::joinall(waiters).await;
    late.await.unwrap();
    assert_eq!(*order.borrow(), [0, 1, 2, 3, 99]);
}

#[sprout::test]
async fn a_waiting_spawn_dropped_after_being_chosen_passes_the_slot_on() {
    let pool = Pool::new(1);
    let blocker = pool.spawn(pending::<()>()).await;
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    // First in line, polled by hand so we control when it runs.
    let mut first = Box::pin(pool.spawn(async { unreachable!("dropped before it spawned") }));
    assert!(first.as_mut().poll(&mut cx).is_pending());
    let second = {
        let pool = pool.clone();
        sprout::spawn(async move { pool.spawn(async { "second ran" }).await.await.unwrap() })
    };
    sprout::yield_now().await;
    // The slot is handed to `first`, which is dropped before it looks.
    blocker.kill();
    drop(first);
    assert_eq!(second.await.unwrap(), "second ran");
    assert_eq!(pool.free_count(), 1);
}

#[sprout::test]
async fn a_waiting_spawn_dropped_before_its_turn_leaves_no_trace() {
    let pool = Pool::new(1);
    let blocker = pool.spawn(pending::<()>()).await;
    let timed_out = sprout::timeout(Duration::from_millis(2), pool.spawn(async {})).await;
    assert!(timed_out.is_err());
    blocker.kill();
    assert_eq!(pool.free_count(), 1);
    assert!(pool.is_empty());
}

#[sprout::test]
async fn wait_available_waits_without_taking_the_slot() {
    let pool = Pool::new(2);
    assert_eq!(pool.wait_available().await, 2);
    let a = pool.spawn(sprout::sleep(Duration::from_millis(3))).await;
    let _b = pool.spawn(pending::<()>()).await;
    assert!(pool.is_full());
    assert_eq!(pool.wait_available().await, 1);
    assert!(a.is_finished());
    // Nobody else waited, so the freed slot is still free.
    assert_eq!(pool.free_count(), 1);
}

#[sprout::test]
async fn close_wakes_waiting_spawns_with_killed_handles() {
    let pool = Pool::new(1);
    let blocker = pool.spawn(pending::<()>()).await;
    let waiter = {
        let pool = pool.clone();
        sprout::spawn(async move { pool.spawn(async { "never" }).await.await })
    };
    sprout::yield_now().await;
    pool.close();
    assert!(matches!(waiter.await.unwrap(), Err(JoinError::Killed)));
    // The member still runs after close; terminate kills it.
    assert!(!blocker.is_finished());
    pool.terminate();
    assert!(blocker.await.unwrap_err().is_killed());
    assert_eq!(pool.free_count(), 1);
}

#[sprout::test]
async fn apply_async_queues_in_order_without_blocking_the_caller() {
    let pool = Pool::new(2);
    let order = Rc::new(RefCell::new(Vec::new()));
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let order = order.clone();
            pool.apply_async(async move {
                order.borrow_mut().push(i);
                sprout::sleep(Duration::from_millis(1)).await;
                i
            })
        })
        .collect();
    // All six queued at once; all six count as members.
    assert_eq!(pool.len(), 6);
    let results: Vec<i32> = sprout::joinall(handles).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(results, [0, 1, 2, 3, 4, 5]);
    assert_eq!(*order.borrow(), [0, 1, 2, 3, 4, 5]);
    // A queued task that is killed gives up its place.
    let running = pool.apply_async(pending::<()>());
    let running2 = pool.apply_async(pending::<()>());
    let queued = pool.apply_async(async { "never" });
    sprout::yield_now().await;
    queued.kill();
    running.kill();
    assert_eq!(pool.free_count(), 1);
    running2.kill();
    assert_eq!(pool.free_count(), 2);
    assert!(pool.is_empty());
}

#[sprout::test]
async fn discard_frees_the_slot_and_add_waits_for_one() {
    let pool = Pool::new(1);
    let long = pool.spawn(pending::<()>()).await;
    assert!(pool.is_full());
    assert!(pool.discard(&long));
    assert_eq!(pool.free_count(), 1);
    assert!(!long.is_finished(), "discard does not kill");

    let outside = sprout::spawn(sprout::sleep(Duration::from_millis(3)));
    pool.add(&outside).await;
    assert!(pool.is_full());
    assert!(pool.contains(&outside));
    let other = sprout::spawn(async {});
    let mut add = pin!(pool.add(&other));
    let waker = noop_waker();
    assert!(add.as_mut().poll(&mut Context::from_waker(&waker)).is_pending(), "add must wait for a slot");
    // Adding a finished task does nothing, whenever the wait ends.
    add.await;
    assert!(!pool.contains(&other));
    pool.join().await;
    assert_eq!(pool.free_count(), 1);
    long.kill();
}

#[test]
fn a_pool_of_zero_is_refused() {
    let caught = std::panic::catch_unwind(|| Pool::new(0));
    let message = caught.unwrap_err();
    assert!(message.downcast_ref::<&str>().unwrap().contains("at least 1"));
}

#[test]
fn polled_from_another_executor_the_wait_still_works() {
    // `Pool::spawn` needs a runtime to spawn on, but its wait for a slot
    // is an ordinary future: poll it by hand until it is ready.
    sprout::run(async {
        let pool = Pool::new(1);
        let blocker = pool.spawn(pending::<()>()).await;
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut spawn = Box::pin(pool.spawn(async { 3 }));
        assert!(spawn.as_mut().poll(&mut cx).is_pending());
        blocker.kill();
        let handle = match spawn.as_mut().poll(&mut cx) {
            Poll::Ready(handle) => handle,
            Poll::Pending => panic!("the freed slot was handed to the waiter"),
        };
        assert_eq!(handle.await.unwrap(), 3);
    });
}
