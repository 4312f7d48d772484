//! Thread-safe queues: OS threads blocking on one side, green tasks
//! awaiting on the other, and the guard against blocking calls inside a
//! runtime.

mod support;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use sprout::queue::threadsafe::{Channel, PriorityQueue, Queue};
use sprout::queue::{Closed, GetError, PutError};
use sprout::{joinall, run, spawn};

#[test]
fn threads_put_blocking_tasks_get() {
    let q = Arc::new(Queue::new(4));
    let producers: Vec<_> = (0..3)
        .map(|t| {
            let q = q.clone();
            thread::spawn(move || {
                for i in 0..200 {
                    q.put_blocking(t * 1000 + i).unwrap();
                }
            })
        })
        .collect();
    let got = run(async {
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let q = q.clone();
                spawn(async move {
                    let mut got = Vec::new();
                    while let Ok(x) = q.get().await {
                        got.push(x);
                    }
                    got
                })
            })
            .collect();
        // Close once the threads are done, from a blocking-pool thread.
        sprout::spawn_blocking({
            let q = q.clone();
            move || {
                producers.into_iter().for_each(|p| p.join().unwrap());
                q.close();
            }
        })
        .await
        .unwrap();
        joinall(consumers).await.into_iter().map(Result::unwrap).collect::<Vec<_>>()
    });
    // Each thread's items arrive in its order, none lost or doubled.
    let mut all: Vec<_> = got.iter().flatten().copied().collect();
    all.sort();
    assert_eq!(all.len(), 600);
    all.dedup();
    assert_eq!(all.len(), 600);
    for consumer in &got {
        for t in 0..3 {
            let mine: Vec<_> = consumer.iter().filter(|x| **x / 1000 == t).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]));
        }
    }
}

#[test]
fn tasks_put_threads_get_blocking() {
    let q = Arc::new(Channel::new());
    let consumer = thread::spawn({
        let q = q.clone();
        move || q.iter_blocking().sum::<u64>()
    });
    run(async {
        for i in 1..=100u64 {
            q.put(i).await.unwrap(); // each waits for the thread to take it
        }
        q.close();
    });
    assert_eq!(consumer.join().unwrap(), 5050);
}

#[test]
fn blocking_timeouts_hand_items_back() {
    let q = Queue::new(1);
    q.put_blocking(1).unwrap();
    let start = Instant::now();
    assert_eq!(q.put_blocking_timeout(2, Duration::from_millis(5)), Err(PutError::Full(2)));
    assert!(start.elapsed() >= Duration::from_millis(5));
    assert_eq!(q.get_blocking_timeout(Duration::from_millis(1)), Ok(1));
    assert_eq!(q.get_blocking_timeout(Duration::from_millis(2)), Err(GetError::Empty));
    assert_eq!(q.getters(), 0);
    q.close();
    assert_eq!(q.get_blocking(), Err(Closed(())));
    assert_eq!(q.put_blocking(3), Err(Closed(3)));
}

#[test]
fn join_blocking_waits_for_task_done_in_tasks() {
    let q = Arc::new(PriorityQueue::new(0));
    for p in [3, 1, 2] {
        q.put_nowait(p).unwrap();
    }
    let joiner = thread::spawn({
        let q = q.clone();
        move || {
            q.join_blocking();
            q.unfinished_tasks()
        }
    });
    let order = run(async {
        let mut order = Vec::new();
        while let Ok(p) = q.get_nowait() {
            order.push(p);
            sprout::sleep(Duration::from_millis(1)).await;
            q.task_done().unwrap();
        }
        order
    });
    assert_eq!(order, [1, 2, 3]);
    assert_eq!(joiner.join().unwrap(), 0);
}

#[test]
#[should_panic(expected = "inside a sprout runtime")]
fn blocking_get_inside_the_runtime_panics() {
    let q = Queue::<u8>::new(0);
    run(async {
        let _ = q.get_blocking();
    });
}

/// A thread puts at about the moment a task's `get_timeout` falls, round
/// after round, at staggered delays: the item is taken once or stays
/// queued. Small enough for Miri's many-seeds run (`.ci/run`); the exact
/// race is proven by the loom models in `runtime/src/queue/loom_models.rs`.
mod handoff {
    use std::sync::Arc;
    use std::thread;

    use sprout::queue::GetError;
    use sprout::queue::threadsafe::{Channel, Queue};
    use sprout::run;

    use crate::support::handoff::{DEADLINE, ROUNDS, delay, finish};

    #[test]
    fn get_timeout_against_a_put() {
        let q = Arc::new(Queue::unbounded());
        let go = Arc::new(Queue::unbounded());
        let thread = thread::spawn({
            let (q, go) = (q.clone(), go.clone());
            move || {
                for round in go.iter_blocking() {
                    thread::sleep(delay(round));
                    q.put_blocking(round).unwrap();
                }
            }
        });
        run(async {
            for round in 0..ROUNDS {
                go.put_nowait(round).unwrap();
                let item = match q.get_timeout(DEADLINE).await {
                    Ok(item) => item,
                    Err(GetError::Empty) => q.get().await.unwrap(), // not lost: still coming, or queued
                    Err(e) => panic!("{e:?}"),
                };
                assert_eq!(item, round);
                assert_eq!((q.qsize(), q.getters()), (0, 0));
            }
            finish(&go, &thread).await;
        });
        thread.join().unwrap();
    }

    /// A channel put with a deadline against a get with a deadline on
    /// another thread: the put succeeds exactly when the get receives.
    #[test]
    fn channel_put_timeout_against_a_get_timeout() {
        let ch = Arc::new(Channel::new());
        let go = Arc::new(Queue::unbounded());
        let got = Arc::new(Queue::unbounded());
        let thread = thread::spawn({
            let (ch, go, got) = (ch.clone(), go.clone(), got.clone());
            move || {
                for round in go.iter_blocking() {
                    thread::sleep(delay(round));
                    got.put_blocking(ch.get_blocking_timeout(DEADLINE).ok()).unwrap();
                }
            }
        });
        run(async {
            for round in 0..ROUNDS {
                go.put_nowait(round).unwrap();
                let put = ch.put_timeout(round, DEADLINE).await;
                let got = got.get().await.unwrap();
                assert_eq!(put.is_ok(), got == Some(round), "round {round}: {put:?} vs {got:?}");
                assert_eq!((ch.getters(), ch.putters()), (0, 0));
            }
            finish(&go, &thread).await;
        });
        thread.join().unwrap();
    }
}
