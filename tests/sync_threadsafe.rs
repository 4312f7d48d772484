//! Thread-safe Event, AsyncResult, Lock and Semaphore: OS threads
//! blocking on one side, green tasks awaiting on the other.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use sprout::sync::threadsafe::{AsyncResult, Event, Lock, Semaphore};
use sprout::{joinall, run, spawn};

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
                    let _permit = sem.acquire_blocking().unwrap();
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
                        let _permit = sem.acquire().await.unwrap();
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
    bounded.acquire_blocking().unwrap().forget();
    assert!(bounded.acquire_blocking_timeout(Duration::from_millis(1)).is_err());
    assert!(bounded.release().is_ok());
    assert_eq!(bounded.available_permits(), 1);
}

#[test]
fn async_result_from_a_thread_to_tasks_and_threads() {
    let res: Arc<AsyncResult<u64, String>> = Arc::new(AsyncResult::new());
    assert_eq!(res.get_blocking_timeout(Duration::from_millis(1)), None);
    let thread_reader = thread::spawn({
        let res = res.clone();
        move || res.get_blocking()
    });
    run(async {
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let res = res.clone();
                spawn(async move { res.get().await })
            })
            .collect();
        let setter = sprout::spawn_blocking({
            let res = res.clone();
            move || {
                thread::sleep(Duration::from_millis(2));
                res.set(Ok(42));
            }
        });
        for r in joinall(readers).await {
            assert_eq!(r.unwrap(), Ok(42));
        }
        setter.await.unwrap();
        assert!(res.successful());
        assert_eq!(res.get_timeout(Duration::ZERO).await, Ok(Ok(42)));
    });
    assert_eq!(thread_reader.join().unwrap(), Ok(42));
    res.set(Err("late".into()));
    assert_eq!(res.error().as_deref(), Some("late"));
    assert!(res.take().is_some() && !res.ready());
    assert!(!res.wait_blocking_timeout(Duration::from_millis(1)));
}

/// `&AsyncResult` is a future, as the runtime-local one is: awaiting it
/// is `get().await`, also when a thread sets the result.
#[test]
fn async_result_reference_is_a_future() {
    let res: Arc<AsyncResult<u64, String>> = Arc::new(AsyncResult::new());
    run(async {
        let reader = spawn({
            let res = res.clone();
            async move { (&*res).await }
        });
        sprout::sleep(Duration::from_millis(1)).await;
        assert_eq!(res.waiters(), 1, "the awaited reference waits like get()");
        let setter = thread::spawn({
            let res = res.clone();
            move || res.set(Err("from a thread".into()))
        });
        assert_eq!(reader.await.unwrap(), Err("from a thread".to_string()));
        setter.join().unwrap();
        assert_eq!((&*res).await, Err("from a thread".to_string()), "set: ready at once");
    });
}

#[test]
fn lock_between_threads_and_tasks() {
    let lock = Arc::new(Lock::new(Vec::new()));
    let threads: Vec<_> = (0..3)
        .map(|t| {
            let lock = lock.clone();
            thread::spawn(move || {
                for i in 0..50 {
                    let mut v = lock.lock_blocking();
                    let len = v.len();
                    thread::yield_now();
                    assert_eq!(v.len(), len, "nobody else touches it while held");
                    v.push((t, i));
                }
            })
        })
        .collect();
    run(async {
        let tasks: Vec<_> = (0..3)
            .map(|t| {
                let lock = lock.clone();
                spawn(async move {
                    for i in 0..50 {
                        let mut v = lock.lock().await;
                        let len = v.len();
                        sprout::yield_now().await;
                        assert_eq!(v.len(), len);
                        v.push((10 + t, i));
                    }
                })
            })
            .collect();
        joinall(tasks).await;
    });
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(lock.lock_blocking().len(), 300);
    let held = lock.try_lock().unwrap();
    assert!(lock.lock_blocking_timeout(Duration::from_millis(1)).is_none());
    assert_eq!(lock.waiters(), 0);
    drop(held);
    assert!(!lock.locked());
}

#[test]
fn thread_safe_types_and_futures_are_send_and_sync() {
    fn send<T: Send>(_: &T) {}
    fn sync<T: Sync>(_: &T) {}
    let q = sprout::queue::threadsafe::Queue::<u8>::new(0);
    let ev = Event::new();
    let sem = Semaphore::new(1);
    let res = AsyncResult::<u8, ()>::new();
    let lock = Lock::new(0u8);
    sync(&q);
    sync(&ev);
    sync(&sem);
    sync(&res);
    sync(&lock);
    // So a task may be spawned on a runtime from another thread.
    send(&q.get());
    send(&q.put(1));
    send(&q.join());
    send(&ev.wait());
    send(&sem.acquire());
    send(&res.get());
    send(&lock.lock());
    let rlock = sprout::sync::threadsafe::RLock::new(0u8);
    let cond = sprout::sync::threadsafe::Condition::new(0u8);
    let barrier = sprout::sync::threadsafe::Barrier::new(2);
    sync(&rlock);
    sync(&cond);
    sync(&barrier);
    send(&rlock.lock());
    send(&barrier.wait());
    // The tokio-shaped ones, their futures and (unlike `Lock`'s) the RwLock guards.
    use sprout::sync::threadsafe::{Notify, OnceCell, RwLock, broadcast, watch};
    let rw = Arc::new(RwLock::new(0u8));
    let notify = Notify::new();
    let cell = OnceCell::<u8>::new();
    let (btx, mut brx) = broadcast::channel::<u8>(1);
    let (wtx, mut wrx) = watch::channel(0u8);
    sync(&rw);
    sync(&notify);
    sync(&cell);
    sync(&btx);
    sync(&brx);
    sync(&wtx);
    sync(&wrx);
    send(&rw.read());
    send(&rw.write());
    send(&rw.try_read().unwrap());
    send(&rw.clone().write_owned());
    send(&notify.notified());
    send(&cell.get_or_init(|| async { 1 }));
    send(&brx.recv());
    send(&wrx.changed());
    send(&Arc::new(Semaphore::new(1)).acquire_owned());
}

#[test]
fn condition_between_threads_and_tasks() {
    use sprout::sync::threadsafe::Condition;
    let cond = Arc::new(Condition::new(Vec::<u32>::new()));
    // Two consumer threads and two consumer tasks, one producer thread.
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let cond = cond.clone();
            thread::spawn(move || {
                let mut got = 0;
                while got < 25 {
                    let mut items = cond.wait_for_blocking(cond.lock_blocking(), |v| !v.is_empty());
                    items.pop();
                    got += 1;
                }
            })
        })
        .collect();
    let producer = thread::spawn({
        let cond = cond.clone();
        move || {
            for i in 0..100 {
                cond.lock_blocking().push(i);
                cond.notify(1);
                if i % 10 == 0 {
                    thread::sleep(Duration::from_micros(200));
                }
            }
        }
    });
    run(async {
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let cond = cond.clone();
                spawn(async move {
                    let mut got = 0;
                    while got < 25 {
                        let mut items = cond.wait_for(cond.lock().await, |v| !v.is_empty()).await;
                        items.pop();
                        got += 1;
                    }
                })
            })
            .collect();
        joinall(tasks).await;
    });
    producer.join().unwrap();
    consumers.into_iter().for_each(|c| c.join().unwrap());
    assert!(cond.lock_blocking().is_empty());
    // Time-outs: not notified, lock held again.
    let (g, notified) = cond.wait_blocking_timeout(cond.lock_blocking(), Duration::from_millis(1));
    assert!(!notified);
    assert!(cond.get_lock().locked());
    drop(g);
    assert_eq!(cond.waiters(), 0);
}

#[test]
fn barrier_between_threads_and_tasks() {
    use sprout::sync::threadsafe::Barrier;
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let barrier = barrier.clone();
            thread::spawn(move || (0..3).map(|_| barrier.wait_blocking().unwrap().is_leader()).filter(|l| *l).count())
        })
        .collect();
    let task_leaders = run(async {
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                spawn(async move {
                    let mut leaders = 0;
                    for _ in 0..3 {
                        leaders += usize::from(barrier.wait().await.unwrap().is_leader());
                    }
                    leaders
                })
            })
            .collect();
        joinall(tasks).await.into_iter().map(Result::unwrap).sum::<usize>()
    });
    let leaders: usize = task_leaders + threads.into_iter().map(|t| t.join().unwrap()).sum::<usize>();
    assert_eq!(leaders, 3, "one leader per round");
    // A blocking wait that times out breaks the barrier.
    assert!(barrier.wait_blocking_timeout(Duration::from_millis(2)).is_err());
    assert!(barrier.is_broken());
    barrier.reset();
    assert_eq!(barrier.n_waiting(), 0);
}

#[test]
fn rlock_owned_by_a_thread_or_a_task() {
    use sprout::sync::threadsafe::RLock;
    let lock = Arc::new(RLock::new(()));
    let a = lock.lock_blocking();
    let b = lock.lock_blocking();
    assert_eq!(lock.holds(), 2);
    assert!(lock.is_owned());
    let waiter = thread::spawn({
        let lock = lock.clone();
        move || {
            assert!(lock.release().is_err(), "not the owner");
            let _g = lock.lock_blocking();
            lock.holds()
        }
    });
    run(async {
        // A task on this thread is another owner than the thread.
        assert!(lock.try_lock().is_none());
        assert!(lock.release().is_err());
    });
    assert_eq!(lock.holds(), 2);
    while lock.waiters() == 0 {
        thread::sleep(Duration::from_micros(100));
    }
    drop(a);
    drop(b);
    assert_eq!(waiter.join().unwrap(), 1);
    // Python style: forget the guard, release by hand.
    lock.lock_blocking().forget();
    assert!(lock.release().is_ok());
    assert!(!lock.locked());
}

/// A thread grants (completes a round, releases, puts) at about the moment
/// a task's `_timeout` falls, round after round, at staggered delays: the
/// outcome is consistent every time and nothing leaks. Small enough for
/// Miri, which runs this module under many seeds of its scheduler
/// (`.ci/run`, docs/testing.md); the exact race is proven by the loom
/// models in `runtime/src/sync/threadsafe/loom_models.rs`.
mod handoff {
    use std::sync::Arc;
    use std::thread;

    use sprout::queue::threadsafe::Queue;
    use sprout::run;
    use sprout::sync::threadsafe::{Barrier, Lock, Notify, OnceCell, RwLock, Semaphore, broadcast};

    use crate::support::handoff::{DEADLINE, ROUNDS, delay, finish};

    /// Runs `grant(round)` on a thread once per round, after `delay(round)`,
    /// and hands back what it returned.
    fn granter<R: Send + 'static>(
        grant: impl Fn(u32) -> R + Send + 'static,
    ) -> (Arc<Queue<u32>>, Arc<Queue<R>>, thread::JoinHandle<()>) {
        let (go, done) = (Arc::new(Queue::unbounded()), Arc::new(Queue::unbounded()));
        let thread = thread::spawn({
            let (go, done) = (go.clone(), done.clone());
            move || {
                for round in go.iter_blocking() {
                    thread::sleep(delay(round));
                    done.put_blocking(grant(round)).ok().unwrap();
                }
            }
        });
        (go, done, thread)
    }

    /// Bug 7: a round that passes as the task's deadline falls has passed
    /// for both; a round the task gave up on is broken for both.
    #[test]
    fn barrier_wait_timeout_against_a_thread() {
        let barrier = Arc::new(Barrier::new(2));
        let (go, done, thread) = granter({
            let barrier = barrier.clone();
            move |_| barrier.wait_blocking().is_ok()
        });
        run(async {
            for round in 0..ROUNDS {
                go.put_nowait(round).unwrap();
                let task = barrier.wait_timeout(DEADLINE).await.is_ok();
                let thread = done.get().await.unwrap();
                assert_eq!(task, thread, "round {round}: one round, one outcome");
                assert_eq!(barrier.is_broken(), !task, "round {round}");
                barrier.reset();
            }
            finish(&go, &thread).await;
        });
        thread.join().unwrap();
    }

    /// A lock released as the task's deadline falls is taken or left
    /// free, never stranded.
    #[test]
    fn lock_timeout_against_a_release() {
        let lock = Arc::new(Lock::new(0u32));
        let (go, done, thread) = granter({
            let lock = lock.clone();
            move |_| {
                let mut guard = lock.lock_blocking();
                *guard += 1;
                thread::sleep(DEADLINE); // held across the task's deadline
            }
        });
        run(async {
            let mut taken = 0;
            for round in 0..ROUNDS {
                go.put_nowait(round).unwrap();
                sprout::sleep(delay(round + 2)).await;
                if let Ok(mut guard) = lock.lock_timeout(DEADLINE).await {
                    *guard += 1;
                    taken += 1;
                }
                done.get().await.unwrap();
                assert!(!lock.locked(), "round {round}: free once both are done");
                assert_eq!(lock.waiters(), 0);
            }
            assert_eq!(*lock.lock().await, ROUNDS + taken);
            finish(&go, &thread).await;
        });
        thread.join().unwrap();
    }

    /// A permit released as the task's deadline falls is taken (and given
    /// back) or stays free: one permit either way.
    #[test]
    fn semaphore_acquire_timeout_against_a_release() {
        let sem = Arc::new(Semaphore::new(0));
        let (go, done, thread) = granter({
            let sem = sem.clone();
            move |_| sem.release().unwrap()
        });
        run(async {
            for round in 0..ROUNDS {
                go.put_nowait(round).unwrap();
                let _ = sem.acquire_timeout(DEADLINE).await; // a permit taken goes back on drop
                done.get().await.unwrap();
                assert_eq!(sem.available_permits(), 1, "round {round}: the permit is not leaked");
                assert_eq!(sem.waiters(), 0);
                sem.try_acquire().unwrap().forget();
            }
            finish(&go, &thread).await;
        });
        thread.join().unwrap();
    }

    /// An `RwLock` released as the task's deadline falls is taken (to read
    /// or to write) or left free, never stranded.
    #[test]
    fn rwlock_timeouts_against_a_release() {
        let lock = Arc::new(RwLock::new(0u32));
        let (go, done, thread) = granter({
            let lock = lock.clone();
            move |_| {
                let mut guard = lock.write_blocking();
                *guard += 1;
                thread::sleep(DEADLINE); // held across the task's deadline
            }
        });
        run(async {
            let mut written = 0;
            for round in 0..ROUNDS {
                go.put_nowait(round).unwrap();
                sprout::sleep(delay(round + 2)).await;
                if round % 2 == 0 {
                    if let Ok(mut guard) = lock.write_timeout(DEADLINE).await {
                        *guard += 1;
                        written += 1;
                    }
                } else {
                    let _ = lock.read_timeout(DEADLINE).await;
                }
                done.get().await.unwrap();
                assert!(!lock.is_write_locked() && lock.readers() == 0, "round {round}: free once both are done");
                assert_eq!(lock.waiters(), 0);
            }
            assert_eq!(*lock.read().await, ROUNDS + written);
            finish(&go, &thread).await;
        });
        thread.join().unwrap();
    }

    /// A `notify_one` that chose a waiter dropped at its deadline is passed
    /// on (to the stored permit): one notification per round, never lost.
    #[test]
    fn notify_one_against_a_cancelled_waiter() {
        let notify = Arc::new(Notify::new());
        let (go, done, thread) = granter({
            let notify = notify.clone();
            move |_| notify.notify_one()
        });
        run(async {
            for round in 0..ROUNDS {
                go.put_nowait(round).unwrap();
                let got = sprout::timeout(DEADLINE, notify.notified()).await.is_ok();
                done.get().await.unwrap();
                assert_eq!(got, !notify.has_permit(), "round {round}: the task got it, or it is stored");
                if !got {
                    notify.notified().await; // the stored permit, at once
                }
                assert_eq!(notify.waiters(), 0);
            }
            finish(&go, &thread).await;
        });
        thread.join().unwrap();
    }

    /// Permits added as the task's `acquire_many` deadline falls are taken
    /// (and given back) or stay free: both of them, either way.
    #[test]
    fn semaphore_acquire_many_against_add_permits() {
        let sem = Arc::new(Semaphore::new(0));
        let (go, done, thread) = granter({
            let sem = sem.clone();
            move |_| {
                sem.add_permits(1).unwrap();
                sem.add_permits(1).unwrap();
            }
        });
        run(async {
            for round in 0..ROUNDS {
                go.put_nowait(round).unwrap();
                let _ = sprout::timeout(DEADLINE, sem.acquire_many(2)).await;
                done.get().await.unwrap();
                assert_eq!(sem.available_permits(), 2, "round {round}: no permit leaked");
                assert_eq!(sem.waiters(), 0);
                sem.try_acquire_many(2).unwrap().forget();
            }
            finish(&go, &thread).await;
        });
        thread.join().unwrap();
    }

    /// A message sent as the task's `recv` is dropped at its deadline is
    /// received then or by the next `recv`: none lost, none twice.
    #[test]
    fn broadcast_recv_against_a_send() {
        let (tx, mut rx) = broadcast::channel(4);
        let (go, done, thread) = granter(move |round| tx.send(round).unwrap());
        run(async {
            for round in 0..ROUNDS {
                go.put_nowait(round).unwrap();
                let early = sprout::timeout(DEADLINE, rx.recv()).await;
                done.get().await.unwrap(); // sent by now
                let got = match early {
                    Ok(got) => got.unwrap(),
                    Err(_) => rx.try_recv().unwrap(),
                };
                assert_eq!(got, round);
                assert!(rx.try_recv().is_err(), "round {round}: nothing twice");
            }
            finish(&go, &thread).await;
        });
        thread.join().unwrap();
    }

    /// An initialiser cancelled at its deadline hands the role to a thread
    /// waiting for the same cell: the cell is set once either way, and the
    /// thread never waits for nobody.
    #[test]
    fn once_cell_cancelled_initialiser_against_a_thread() {
        let cells: Arc<Vec<OnceCell<u32>>> = Arc::new((0..ROUNDS).map(|_| OnceCell::new()).collect());
        let (go, done, thread) = granter({
            let cells = cells.clone();
            move |round| *cells[round as usize].get_or_init_blocking(|| async move { round + 1 })
        });
        run(async {
            for round in 0..ROUNDS {
                let cell = &cells[round as usize];
                go.put_nowait(round).unwrap();
                let task = sprout::timeout(DEADLINE, cell.get_or_init(std::future::pending)).await;
                let from_thread = done.get().await.unwrap();
                // Timed out (the thread took over), or the thread was first.
                assert!(task.is_err() || task == Ok(&(round + 1)), "round {round}: {task:?}");
                assert_eq!((cell.get(), from_thread), (Some(&(round + 1)), round + 1));
            }
            finish(&go, &thread).await;
        });
        thread.join().unwrap();
    }
}
