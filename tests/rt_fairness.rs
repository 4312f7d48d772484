//! Fairness: busy tasks cannot starve timers, I/O or each other.

mod support;

use std::cell::Cell;
use std::future::poll_fn;
use std::io::{Read, Write};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use sprout::io::IoSource;
use sprout::task::coop;
use sprout::{run, sleep, spawn, yield_now};
use support::watchdog;

/// How long a starved loop may hang before the test fails instead.
const HANG: Duration = Duration::from_secs(20);

/// A task that yields forever must not keep a timer from firing: the loop
/// turns (and fires due timers) between its polls. Broken, the sleep never
/// ends and the watchdog fails the test.
#[test]
fn a_yielding_loop_does_not_starve_timers() {
    let spins = watchdog(HANG, || {
        run(async {
            let stop = Rc::new(Cell::new(false));
            let spins = Rc::new(Cell::new(0u64));
            let spinner = spawn({
                let (stop, spins) = (stop.clone(), spins.clone());
                async move {
                    while !stop.get() {
                        spins.set(spins.get() + 1);
                        yield_now().await;
                    }
                }
            });
            sleep(Duration::from_millis(5)).await;
            // The timer fired while the spinner was still ready to run.
            assert!(!spinner.is_finished(), "the spinner stopped by itself");
            stop.set(true);
            spinner.await.unwrap();
            spins.get()
        })
    });
    assert!(spins >= 1, "the spinner never ran while the sleep waited");
}

/// A task that yields forever must not keep I/O from being seen: each
/// `yield_now` waits for the next I/O poll, and tasks the poll woke run
/// first. So a reader whose data arrives while the spinner spins gets it
/// before the spinner's next turn: the spinner has spun exactly as often
/// as when the data was written. A loop that requeued yielders at once
/// (or polled I/O only now and then) lets the spinner run first; one that
/// never polled I/O while a task is ready hangs, and the watchdog fails.
#[test]
fn a_yielding_loop_does_not_starve_io() {
    watchdog(HANG, || {
        run(async {
            let (a, b) = mio::net::UnixStream::pair().unwrap();
            let (a, b) = (IoSource::new(a).unwrap(), IoSource::new(b).unwrap());
            let spins = Rc::new(Cell::new(0u64));
            let got_at = Rc::new(Cell::new(None));
            let reader = spawn({
                let (spins, got_at) = (spins.clone(), got_at.clone());
                async move {
                    let mut buf = [0u8; 8];
                    let n = b.read_with(|mut s| s.read(&mut buf)).await.unwrap();
                    assert_eq!(&buf[..n], b"hi");
                    got_at.set(Some(spins.get()));
                }
            });
            let spinner = spawn({
                let (spins, got_at) = (spins.clone(), got_at.clone());
                async move {
                    let mut written_at = 0;
                    while got_at.get().is_none() {
                        spins.set(spins.get() + 1);
                        if spins.get() == 3 {
                            // The reader has been waiting for two turns.
                            a.get_ref().write_all(b"hi").unwrap();
                            written_at = spins.get();
                        }
                        yield_now().await;
                    }
                    written_at
                }
            });
            reader.await.unwrap();
            let written_at = spinner.await.unwrap();
            assert_eq!(got_at.get(), Some(written_at), "the spinner ran again before the reader got its data");
        })
    });
}

/// The same with the data written by another thread while the spinner
/// spins (the writer waits until it has spun a while): the loop sees the
/// cross-thread readiness without ever going idle.
#[test]
fn a_yielding_loop_sees_io_from_another_thread() {
    let (spins, written_at) = watchdog(HANG, || {
        run(async {
            let (a, b) = mio::net::UnixStream::pair().unwrap();
            let b = IoSource::new(b).unwrap();
            let spins = Arc::new(AtomicU64::new(0));
            let got = Rc::new(Cell::new(false));
            let reader = spawn({
                let got = got.clone();
                async move {
                    let mut buf = [0u8; 8];
                    let n = b.read_with(|mut s| s.read(&mut buf)).await.unwrap();
                    assert_eq!(&buf[..n], b"hi");
                    got.set(true);
                }
            });
            let spinner = spawn({
                let (spins, got) = (spins.clone(), got.clone());
                async move {
                    while !got.get() {
                        spins.fetch_add(1, Ordering::Relaxed);
                        yield_now().await;
                    }
                }
            });
            let writer = std::thread::spawn({
                let spins = spins.clone();
                move || {
                    while spins.load(Ordering::Relaxed) < 100 {
                        std::thread::yield_now();
                    }
                    let written_at = spins.load(Ordering::Relaxed);
                    (&a).write_all(b"hi").unwrap();
                    written_at
                }
            });
            reader.await.unwrap();
            spinner.await.unwrap();
            let written_at = writer.join().unwrap();
            (spins.load(Ordering::Relaxed), written_at)
        })
    });
    // The spinner was spinning when the data came, and until it was read.
    assert!(written_at >= 100 && spins >= written_at, "spins {spins}, written at {written_at}");
}

#[sprout::test]
async fn an_always_ready_resource_yields_after_its_budget() {
    let flag = Rc::new(Cell::new(false));
    let busy = spawn({
        let flag = flag.clone();
        async move {
            // Each iteration is an "operation" that is always ready. Without
            // the budget this loop would never let the other task run.
            for i in 0..1_000_000u64 {
                poll_fn(coop::poll_proceed).await;
                if flag.get() {
                    return i;
                }
            }
            u64::MAX
        }
    });
    spawn(async move { flag.set(true) });
    let iterations = busy.await.unwrap();
    assert!(iterations < 1_000_000, "the busy task never yielded");
}

#[sprout::test]
async fn budget_is_per_poll_and_refills() {
    let mut yields = 0;
    for _ in 0..1000 {
        let mut pending = false;
        poll_fn(|cx| match coop::poll_proceed(cx) {
            Poll::Ready(()) => Poll::Ready(()),
            Poll::Pending => {
                pending = true;
                Poll::Pending
            }
        })
        .await;
        yields += pending as u32;
    }
    // 1000 operations with a budget of 128 per poll: a handful of yields.
    assert!((1..=10).contains(&yields), "{yields} yields");
    assert!(coop::has_budget_remaining());
}

/// Issue 8, bug 11: a task whose operation budget ran out waits no less
/// than one that yielded. A task draining 100,000 ready items from a queue
/// used to go straight back into the same turn's run queue, so a task
/// looping on `yield_now` ran about 7 times in all; now both wait for the
/// next turn, and they take turns.
#[test]
fn a_task_out_of_budget_waits_as_long_as_one_that_yielded() {
    const ITEMS: usize = 100_000;
    run(async {
        let queue = Rc::new(sprout::queue::Queue::unbounded());
        for i in 0..ITEMS {
            queue.put_nowait(i).unwrap();
        }
        let done = Rc::new(Cell::new(false));
        let greedy = spawn({
            let (queue, done) = (queue.clone(), done.clone());
            async move {
                for _ in 0..ITEMS {
                    queue.get().await.unwrap();
                }
                done.set(true);
            }
        });
        let polite = spawn({
            let done = done.clone();
            async move {
                let mut turns = 0usize;
                while !done.get() {
                    turns += 1;
                    yield_now().await;
                }
                turns
            }
        });
        greedy.await.unwrap();
        let turns = polite.await.unwrap();
        // The greedy task ran out of budget ITEMS / 128 (781) times; the
        // polite one should get about as many turns, not a handful.
        let budget_yields = ITEMS / 128;
        assert!(turns * 2 >= budget_yields, "the yielding task ran {turns} times in {budget_yields} budget yields");
    });
}
