//! `RwLock` on a real runtime: writer preference, arrival order, owned
//! guards across tasks, kills and time-outs at every waiting phase, the
//! re-entry panic, the dump and the deadlock report; the thread-safe one
//! between tasks and threads.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use sprout::observe::TaskState;
use sprout::sync::RwLock;
use sprout::{Runtime, joinall, spawn, task, yield_now};

const HERE: &str = file!();

/// Lets every spawned task run until it blocks.
async fn settle() {
    for _ in 0..4 {
        yield_now().await;
    }
}

#[sprout::test]
async fn writers_are_not_starved_and_waiters_go_in_arrival_order() {
    let lock = Rc::new(RwLock::new(()));
    let log = Rc::new(RefCell::new(Vec::new()));
    let first = lock.read().await;
    let mut tasks = Vec::new();
    for (name, write) in [("w1", true), ("r1", false), ("r2", false), ("w2", true), ("r3", false)] {
        let (lock, log) = (lock.clone(), log.clone());
        tasks.push(spawn(async move {
            if write {
                let _w = lock.write().await;
                log.borrow_mut().push(name);
                yield_now().await; // held across a switch: nobody else gets in
                log.borrow_mut().push(name);
            } else {
                let _r = lock.read().await;
                log.borrow_mut().push(name);
                yield_now().await;
                log.borrow_mut().push(name);
            }
        }));
        settle().await;
    }
    // Readers arriving behind the waiting writer wait too (no starvation).
    assert_eq!(lock.waiters(), 5);
    assert!(lock.try_read().is_none());
    drop(first);
    joinall(tasks).await;
    // w1 alone; r1 and r2 together; w2 alone; r3.
    assert_eq!(*log.borrow(), ["w1", "w1", "r1", "r2", "r1", "r2", "w2", "w2", "r3", "r3"]);
}

#[sprout::test]
async fn owned_guards_move_into_other_tasks() {
    let lock = Rc::new(RwLock::new(0));
    let write = lock.clone().write_owned().await;
    let writer = spawn(async move {
        let mut write = write;
        yield_now().await;
        *write += 1;
    });
    // Owned guards belong to no task: waiting for the spawned task's guard is fine.
    let read = lock.clone().read_owned().await;
    assert_eq!(*read, 1);
    writer.await.unwrap();
    let reader = spawn(async move { *read });
    assert_eq!(reader.await.unwrap(), 1);
    assert_eq!((lock.readers(), lock.is_write_locked(), Rc::strong_count(&lock)), (0, false, 1));
    let lock = Rc::into_inner(lock).unwrap();
    assert_eq!(lock.into_inner(), 1);
}

#[sprout::test]
async fn killed_waiters_pass_the_lock_on_at_every_phase() {
    let lock = Rc::new(RwLock::new(0));
    let held = lock.write().await;
    let spawn_writer = |n| {
        let lock = lock.clone();
        spawn(async move { *lock.write().await += n })
    };
    let (a, b) = (spawn_writer(1), spawn_writer(10));
    let reader = spawn({
        let lock = lock.clone();
        async move { *lock.read().await }
    });
    settle().await;
    a.kill(); // waiting: leaves the line
    drop(held); // handed to b...
    b.kill(); // ...which dies before it runs: the reader gets it
    assert_eq!(reader.await.unwrap(), 0);
    assert!(a.await.unwrap_err().is_killed() && b.await.unwrap_err().is_killed());
    assert_eq!((lock.readers(), lock.is_write_locked(), lock.waiters()), (0, false, 0));
}

#[sprout::test(paused)]
async fn timeouts_give_up_and_a_handed_lock_is_kept() {
    let lock = Rc::new(RwLock::new(()));
    let read = lock.read().await;
    assert!(lock.write_timeout(Duration::from_secs(1)).await.is_err());
    assert_eq!(lock.waiters(), 0, "the timed-out writer left");
    // A read is allowed alongside: no writer waits.
    let again = lock.read_timeout(Duration::ZERO).await.unwrap();
    drop((read, again));
    let write = lock.clone().write_owned().await;
    let releaser = spawn(async move {
        sprout::sleep(Duration::from_millis(5)).await;
        drop(write);
    });
    assert!(lock.read_timeout(Duration::from_secs(1)).await.is_ok());
    releaser.await.unwrap();
}

#[test]
fn a_task_asking_to_write_while_it_reads_panics_with_a_clear_message() {
    sprout::run(async {
        let lock = Rc::new(RwLock::new(()));
        let upgrader = spawn({
            let lock = lock.clone();
            async move {
                let _read = lock.read().await;
                let _write = lock.write().await; // would wait for itself
            }
        });
        let err = upgrader.await.unwrap_err();
        let message = err.panic_message().unwrap();
        assert!(message.contains("RwLock::write") && message.contains("already holds a guard"), "{message}");
        // The panicking task's read guard was dropped as it unwound.
        assert_eq!((lock.readers(), lock.waiters()), (0, 0));
        // A write while writing, and a read while writing, too.
        for write_again in [true, false] {
            let lock = lock.clone();
            let err = spawn(async move {
                let _write = lock.write().await;
                if write_again {
                    drop(lock.write().await);
                } else {
                    drop(lock.read().await);
                }
            })
            .await
            .unwrap_err();
            assert!(err.panic_message().unwrap().contains("already holds a guard"));
        }
        // A second reader task (recorded apart from the first) is caught too.
        let first = lock.read().await;
        let err = spawn({
            let lock = lock.clone();
            async move {
                let _read = lock.read().await;
                drop(lock.write().await);
            }
        })
        .await
        .unwrap_err();
        assert!(err.panic_message().unwrap().contains("already holds a guard"));
        // The timed forms time out instead; another task asking simply waits.
        assert!(lock.write_timeout(Duration::from_millis(1)).await.is_err());
        let upgrade = spawn({
            let lock = lock.clone();
            async move { drop(lock.write().await) } // another task: it just waits
        });
        sprout::yield_now().await;
        assert_eq!(lock.waiters(), 1);
        drop(first);
        upgrade.await.unwrap();
    });
}

#[test]
fn the_dump_shows_what_each_waiter_wants_and_a_cross_wait_is_a_deadlock() {
    sprout::run(async {
        let lock = Rc::new(RwLock::new(()));
        let held = lock.write().await;
        let tasks = vec![
            task::Builder::new().name("reader").spawn({
                let lock = lock.clone();
                async move { drop(lock.read().await) }
            }),
            task::Builder::new().name("writer").spawn({
                let lock = lock.clone();
                async move { drop(lock.write().await) }
            }),
        ];
        settle().await;
        let dump = sprout::dump();
        for (name, what) in [("reader", "rwlock read"), ("writer", "rwlock write")] {
            let t = dump.task_named(name).unwrap();
            assert_eq!(t.state(), TaskState::Waiting, "{dump}");
            assert_eq!(t.waits_on().unwrap().name(), what, "{dump}");
            assert_eq!(t.wait_at().unwrap().file(), HERE, "{dump}");
        }
        drop(held);
        joinall(tasks).await;
    });
    let rt = Runtime::new().unwrap();
    let report = rt
        .try_block_on(async {
            let (a, b) = (Rc::new(RwLock::new(())), Rc::new(RwLock::new(())));
            let alice = task::Builder::new().name("alice").spawn({
                let (a, b) = (a.clone(), b.clone());
                async move {
                    let _a = a.read().await;
                    yield_now().await;
                    let _b = b.write().await;
                }
            });
            let bob = task::Builder::new().name("bob").spawn(async move {
                let _b = b.read().await;
                yield_now().await;
                let _a = a.write().await;
            });
            joinall([alice, bob]).await
        })
        .unwrap_err();
    for name in ["alice", "bob"] {
        let t = report.dump().task_named(name).unwrap();
        assert_eq!(t.waits_on().unwrap().name(), "rwlock write", "{report}");
    }
}

#[test]
fn thread_safe_lock_between_tasks_and_threads() {
    let lock = Arc::new(sprout::sync::threadsafe::RwLock::new(0u64));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let lock = lock.clone();
            thread::spawn(move || {
                for _ in 0..100 {
                    *lock.write_blocking() += 1;
                    let read = lock.read_blocking();
                    assert!(*read > 0);
                }
            })
        })
        .collect();
    sprout::run(async {
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let lock = lock.clone();
                spawn(async move {
                    for _ in 0..100 {
                        *lock.write().await += 1;
                        let owned = lock.clone().read_owned().await;
                        yield_now().await;
                        drop(owned);
                    }
                })
            })
            .collect();
        for t in joinall(tasks).await {
            t.unwrap();
        }
    });
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(*lock.try_read().unwrap(), 600);
    // A thread that would wait for its own read panics too.
    let read = lock.read_blocking();
    let upgrade = thread::scope(|s| s.spawn(|| lock.try_write().is_none()).join().unwrap());
    assert!(upgrade, "another thread sees the read");
    assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(lock.write_blocking()))).is_err());
    assert!(lock.write_blocking_timeout(Duration::from_millis(1)).is_none());
    drop(read);
}
