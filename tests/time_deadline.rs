//! Deadlines that reach the leaves (issue 20, item 4): `sprout::deadline`
//! bounds the waits beneath it, which fail with their usual time-out
//! errors so that cleanup runs; nested deadlines take the earlier; a
//! deadline already past makes the next wait fail at once; it stays with
//! the task that polls it. Virtual time wherever no other thread is
//! involved, so the instants are exact.

mod support;

use std::cell::Cell;
use std::io::ErrorKind;
use std::rc::Rc;
use std::time::Duration;

use futures::io::AsyncReadExt;
use sprout::queue::Queue;
use sprout::sync::{Event, Lock, Semaphore};
use sprout::time::{self, Instant};
use sprout::{current_deadline, deadline, deadline_after, joinall, sleep, spawn, timeout};
use support::pair;

const SECOND: Duration = Duration::from_secs(1);

fn at(secs: u64) -> Instant {
    time::now() + Duration::from_secs(secs)
}

#[sprout::test(paused)]
async fn a_read_under_a_deadline_times_out_with_timed_out_and_cleanup_runs() {
    let (_client, server) = pair().await;
    let start = time::now();
    let cleaned = Rc::new(Cell::new(false));
    let out = deadline(at(2), async {
        let mut buf = [0; 8];
        // No read timeout of its own: the deadline bounds it.
        let err = server.read(&mut buf).await.unwrap_err();
        cleaned.set(true); // the cleanup after the failure runs
        err.kind()
    })
    .await;
    assert_eq!(out, Ok(ErrorKind::TimedOut));
    assert!(cleaned.get());
    assert_eq!(time::now() - start, 2 * SECOND);

    // With a read timeout of its own: the earlier of the two wins, each way.
    server.set_read_timeout(Some(SECOND)).unwrap();
    let start = time::now();
    let mut buf = [0; 8];
    let err = deadline(at(5), server.read(&mut buf)).await.unwrap().unwrap_err();
    assert_eq!((err.kind(), time::now() - start), (ErrorKind::TimedOut, SECOND));
    server.set_read_timeout(Some(60 * SECOND)).unwrap();
    let start = time::now();
    let err = deadline(at(3), server.read(&mut buf)).await.unwrap().unwrap_err();
    assert_eq!((err.kind(), time::now() - start), (ErrorKind::TimedOut, 3 * SECOND));

    // The poll-based reader (futures' AsyncRead) and `readable` honour it too.
    server.set_read_timeout(None).unwrap();
    let err = deadline(at(1), AsyncReadExt::read(&mut &server, &mut buf)).await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    let err = deadline(at(1), server.readable()).await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    // Outside the deadline, a read waits as before, and data beats nothing.
    _client.write_all(b"hi").await.unwrap();
    assert_eq!(server.read(&mut buf).await.unwrap(), 2);
}

#[sprout::test(paused)]
async fn lock_semaphore_event_and_queue_waits_end_at_the_deadline() {
    let lock = Lock::new(());
    let _held = lock.lock().await;
    let start = time::now();
    let got = deadline(at(2), async { lock.lock_timeout(60 * SECOND).await.is_ok() }).await;
    assert_eq!(got, Ok(false), "lock_timeout fails with its own Elapsed, inside the deadline");
    assert_eq!(time::now() - start, 2 * SECOND);
    assert_eq!(lock.waiters(), 0, "the timed-out waiter left the line");

    // A plain `lock()` cannot fail: the deadline itself drops it.
    let start = time::now();
    assert!(deadline(at(1), lock.lock()).await.is_err());
    assert_eq!((time::now() - start, lock.waiters()), (SECOND, 0));

    let sem = Semaphore::new(0);
    assert_eq!(deadline(at(1), async { sem.acquire_timeout(60 * SECOND).await.is_err() }).await, Ok(true));
    let event = Event::new();
    assert_eq!(deadline(at(1), event.wait_timeout(60 * SECOND)).await, Ok(false));
    let q: Queue<u8> = Queue::new(1);
    assert!(deadline(at(1), q.get_timeout(60 * SECOND)).await.unwrap().is_err());
    q.put_nowait(1).unwrap();
    let full = deadline(at(1), q.put_timeout(2, 60 * SECOND)).await.unwrap();
    assert_eq!(full.unwrap_err().into_inner(), 2, "the item comes back in the Full error");
    // `timeout` and `joinall(..).timeout` give up at the deadline too.
    let start = time::now();
    assert!(
        deadline(at(3), async { timeout(60 * SECOND, std::future::pending::<()>()).await.is_err() }).await.unwrap()
    );
    let sleeper = spawn(sleep(3600 * SECOND));
    let joined = deadline(at(1), joinall([sleeper]).timeout(60 * SECOND)).await.unwrap();
    assert_eq!((joined.finished.len(), joined.pending.len()), (0, 1));
    assert_eq!(time::now() - start, 4 * SECOND);
}

#[sprout::test(paused)]
async fn a_nested_deadline_takes_the_earlier() {
    assert_eq!(current_deadline(), None);
    let outer = at(2);
    let start = time::now();
    let lock = Lock::new(());
    let _held = lock.lock().await;
    // The inner one is later: the outer one bounds the wait.
    let r = deadline(outer, async {
        assert_eq!(current_deadline(), Some(outer));
        deadline_after(10 * SECOND, async {
            assert_eq!(current_deadline(), Some(outer));
            lock.lock_timeout(60 * SECOND).await.is_err()
        })
        .await
    })
    .await;
    assert_eq!(r, Ok(Ok(true)));
    assert_eq!(time::now() - start, 2 * SECOND);
    // The inner one is earlier: it bounds the wait, and the outer one is back after it.
    let outer = at(10);
    let start = time::now();
    let r = deadline(outer, async {
        let inner = deadline_after(SECOND, lock.lock_timeout(60 * SECOND)).await;
        assert_eq!(current_deadline(), Some(outer));
        inner.map(|r| r.is_err())
    })
    .await;
    assert_eq!(r, Ok(Ok(true)));
    assert_eq!(time::now() - start, SECOND);
    assert_eq!(current_deadline(), None);
    // `None` sets no deadline of its own and keeps the one around it.
    let r = deadline(outer, deadline(None, async { current_deadline() })).await;
    assert_eq!(r, Ok(Ok(Some(outer))));
}

/// The case: the deadline passes while the task is busy, not
/// waiting; its next wait fails at once, without letting any other task
/// run (real time here: only a blocking sleep can pass it without a wait).
#[sprout::test]
async fn a_deadline_that_passed_while_busy_fails_the_next_wait_at_once() {
    let (_client, server) = pair().await;
    let lock = Lock::new(());
    let _held = lock.lock().await;
    let ran = Rc::new(Cell::new(false));
    let other = spawn({
        let ran = ran.clone();
        async move { ran.set(true) }
    });
    let out = deadline_after(Duration::from_millis(5), async {
        std::thread::sleep(Duration::from_millis(10)); // busy past the deadline
        let mut buf = [0; 4];
        let read = server.read(&mut buf).await.unwrap_err().kind();
        let locked = lock.lock_timeout(60 * SECOND).await.is_ok();
        (read, locked, ran.get())
    })
    .await;
    assert_eq!(out, Ok((ErrorKind::TimedOut, false, false)), "both failed at once, before any other task ran");
    other.await.unwrap();
    // Data that is there already is read: only a wait fails.
    _client.write_all(b"ok").await.unwrap();
    server.readable().await.unwrap();
    let mut buf = [0; 2];
    let out = deadline_after(Duration::from_millis(1), async {
        std::thread::sleep(Duration::from_millis(2));
        server.read(&mut buf).await
    })
    .await;
    assert_eq!(out.unwrap().unwrap(), 2);
}

/// A handler that retries on time-outs under a deadline that has passed
/// would spin inside one poll if its failing waits never gave the loop
/// back; each costs a unit of the task's budget, so the deadline's own
/// check ends it.
#[test]
fn a_retry_loop_under_a_passed_deadline_does_not_spin() {
    support::watchdog(Duration::from_secs(30), || {
        sprout::run(async {
            let (_client, server) = pair().await;
            let lock = Lock::new(());
            let _held = lock.lock().await;
            let tries = Cell::new(0u32);
            let out = deadline_after(Duration::from_millis(1), async {
                loop {
                    tries.set(tries.get() + 1);
                    let mut buf = [0; 1];
                    if server.read(&mut buf).await.is_ok() {
                        return;
                    }
                    let _ = lock.lock_timeout(SECOND).await;
                }
            })
            .await;
            assert!(out.is_err(), "the deadline ended the loop");
            assert!(tries.get() > 1);
        });
    });
}

#[sprout::test(paused)]
async fn spawned_tasks_do_not_inherit_the_deadline_unless_passed_on() {
    let start = time::now();
    let (plain, passed) = deadline(at(1), async {
        let plain = spawn(async {
            let seen = current_deadline();
            sleep(5 * SECOND).await;
            seen
        });
        let passed = spawn(deadline(current_deadline(), async {
            sleep(5 * SECOND).await;
        }));
        (plain, passed)
    })
    .await
    .unwrap();
    assert_eq!(plain.await.unwrap(), None);
    assert!(passed.await.unwrap().is_err(), "the passed-on deadline cut the task short");
    assert_eq!(time::now() - start, 5 * SECOND);
    // A deadline is not left behind for the task polled next.
    let other = spawn(async { current_deadline() });
    let mine = deadline(at(1), async {
        sprout::yield_now().await; // `other` runs meanwhile
        current_deadline()
    })
    .await
    .unwrap();
    assert_eq!((other.await.unwrap(), mine.is_some()), (None, true));
}

#[sprout::test(paused)]
async fn a_deadline_ready_at_once_is_ok_and_a_past_one_with_pending_work_is_elapsed() {
    assert_eq!(deadline(at(1), async { 5 }).await, Ok(5));
    // Already past, but the work completes without waiting: the work wins.
    let past = time::now();
    sleep(SECOND).await;
    assert_eq!(deadline(past, async { 6 }).await, Ok(6));
    let start = time::now();
    assert!(deadline(past, std::future::pending::<()>()).await.is_err());
    assert_eq!(time::now(), start, "no time passed");
    // Nothing armed is left behind.
    assert_eq!(sprout_runtime::probe::pending_timers(), 0);
}

#[sprout::test(paused)]
async fn a_process_wait_under_a_deadline_times_out_and_a_later_wait_works() {
    use sprout::process::{Command, Stdio};
    // Its output goes nowhere: a child left running by a failed assert
    // must not hold the test harness's pipes open.
    let mut child = Command::new("sleep").arg("3600").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let err = deadline_after(SECOND, child.wait()).await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert_eq!(child.try_wait().unwrap(), None, "still running, unreaped");
    child.start_kill().unwrap();
    assert!(child.wait().await.unwrap().code().is_none());
}

/// A scope's children are polled inside the scope's poll, so they run
/// under the deadline around it, and under the scope's own deadline
/// (`scope::Builder::deadline`): their waits give up with their usual
/// errors, and their cleanup runs before the scope cancels what is left.
#[sprout::test(paused)]
async fn scope_children_run_under_the_deadline_around_them_and_their_scopes() {
    use sprout::scope::Builder;
    let (_client, server) = pair().await;
    let lock = Lock::new(());
    let _held = lock.lock().await;
    let cleaned = Cell::new(0);
    let start = time::now();
    let out = deadline(at(2), async {
        sprout::scope(async |s| {
            s.spawn(async {
                assert!(current_deadline().is_some());
                let mut buf = [0; 4];
                assert_eq!(server.read(&mut buf).await.unwrap_err().kind(), ErrorKind::TimedOut);
                cleaned.set(cleaned.get() + 1);
            });
            s.spawn(async {
                assert!(lock.lock_timeout(60 * SECOND).await.is_err());
                cleaned.set(cleaned.get() + 1);
            });
        })
        .await
    })
    .await;
    assert!(matches!(out, Ok(Ok(()))), "the children handled the time-outs themselves");
    assert_eq!((cleaned.get(), time::now() - start), (2, 2 * SECOND));

    // The scope's own deadline; a child stuck on a plain lock is dropped.
    let start = time::now();
    let err = Builder::new()
        .timeout(3 * SECOND)
        .run(async |s| {
            s.spawn(async {
                assert!(lock.lock_timeout(60 * SECOND).await.is_err());
                cleaned.set(cleaned.get() + 1);
            });
            s.spawn(async {
                let _never = lock.lock().await;
            });
        })
        .await
        .unwrap_err();
    assert!(err.is_deadline_exceeded());
    assert_eq!((cleaned.get(), time::now() - start), (3, 3 * SECOND), "the cleanup ran before the cancel");
    assert_eq!(current_deadline(), None);
}
