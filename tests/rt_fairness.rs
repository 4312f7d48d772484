//! Fairness: busy tasks cannot starve timers, I/O or each other.

use std::cell::Cell;
use std::future::poll_fn;
use std::io::{Read, Write};
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use sprout::io::IoSource;
use sprout::{coop, run, sleep, spawn, yield_now};

#[test]
fn a_yielding_loop_does_not_starve_timers() {
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
        stop.set(true);
        spinner.await.unwrap();
        assert!(spins.get() > 0);
    });
}

#[test]
fn a_yielding_loop_does_not_starve_io() {
    run(async {
        let (a, b) = mio::net::UnixStream::pair().unwrap();
        let (a, b) = (IoSource::new(a).unwrap(), IoSource::new(b).unwrap());
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
            let got = got.clone();
            async move {
                let mut spins = 0u64;
                while !got.get() {
                    spins += 1;
                    yield_now().await;
                }
                spins
            }
        });
        yield_now().await;
        // Written from another thread while the spinner spins.
        let fd = a.into_inner().unwrap();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(2));
            let mut fd = fd;
            fd.write_all(b"hi").unwrap();
        })
        .join()
        .unwrap();
        reader.await.unwrap();
        assert!(spinner.await.unwrap() > 0);
    });
}

#[test]
fn an_always_ready_resource_yields_after_its_budget() {
    run(async {
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
    });
}

#[test]
fn budget_is_per_poll_and_refills() {
    run(async {
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
    });
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
