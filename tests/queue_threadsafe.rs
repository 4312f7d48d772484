//! Thread-safe queues, Event and Semaphore: OS threads blocking on one
//! side, green tasks awaiting on the other, and the guard against
//! blocking calls inside a runtime.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use sprout::queue::threadsafe::{Channel, PriorityQueue, Queue};
use sprout::queue::{Closed, GetError, PutError};
use sprout::sync::threadsafe::{Event, Semaphore};
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

#[test]
#[should_panic(expected = "inside a sprout runtime")]
fn blocking_event_wait_inside_the_runtime_panics() {
    let ev = Event::new();
    run(async { ev.wait_blocking() });
}

#[test]
fn event_between_threads_and_tasks() {
    let ev = Arc::new(Event::new());
    assert!(!ev.wait_blocking_timeout(Duration::from_millis(2)));
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let ev = ev.clone();
            thread::spawn(move || ev.wait_blocking())
        })
        .collect();
    run(async {
        let task = spawn({
            let ev = ev.clone();
            async move { ev.wait().await }
        });
        // Set only once all three threads and the task wait, so the
        // `clear` below cannot strand a thread that came late.
        while ev.waiters() < 4 {
            sprout::sleep(Duration::from_millis(1)).await;
        }
        ev.set();
        task.await.unwrap();
        ev.clear();
        assert!(!ev.wait_timeout(Duration::from_millis(1)).await);
    });
    waiters.into_iter().for_each(|w| w.join().unwrap());
}

#[test]
fn semaphore_between_threads_and_tasks() {
    let sem = Arc::new(Semaphore::new(2));
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let enter = {
        let (inside, most) = (inside.clone(), most.clone());
        move || {
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
        }
    };
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (sem, inside, enter) = (sem.clone(), inside.clone(), enter.clone());
            thread::spawn(move || {
                for _ in 0..20 {
                    let _permit = sem.acquire_blocking();
                    enter();
                    thread::sleep(Duration::from_micros(50));
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    run(async {
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (sem, inside, enter) = (sem.clone(), inside.clone(), enter.clone());
                spawn(async move {
                    for _ in 0..20 {
                        let _permit = sem.acquire().await;
                        enter();
                        sprout::sleep(Duration::from_micros(50)).await;
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        joinall(tasks).await;
    });
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert!(most.load(Ordering::SeqCst) <= 2);
    assert_eq!(sem.available_permits(), 2);
    // Bounded: an extra release is refused.
    let bounded = Semaphore::bounded(1);
    assert!(bounded.release().is_err());
    bounded.acquire_blocking().forget();
    assert!(bounded.acquire_blocking_timeout(Duration::from_millis(1)).is_none());
    assert!(bounded.release().is_ok());
    assert_eq!(bounded.available_permits(), 1);
}
