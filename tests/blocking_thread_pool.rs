//! `ThreadPool` and `WorkFuture`: from green tasks and from plain threads,
//! callbacks, cancel, shutdown, panics, initializers, maps.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use futures::StreamExt;
use sprout::JoinError;
use sprout::blocking::{ThreadPool, WorkFuture};

const LONG: Duration = Duration::from_secs(30);

/// A gate the test opens when it likes: work that waits on it keeps a
/// thread busy.
fn gate() -> (mpsc::Sender<()>, Arc<Mutex<mpsc::Receiver<()>>>) {
    let (tx, rx) = mpsc::channel();
    (tx, Arc::new(Mutex::new(rx)))
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p.downcast_ref::<&str>().map(|s| s.to_string()).unwrap_or_default(),
    }
}

#[test]
fn work_future_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<WorkFuture<Vec<u8>>>();
    assert_send::<sprout::blocking::Blocking<String>>();
}

#[test]
fn submit_is_awaitable_from_green_tasks() {
    let pool = ThreadPool::new(2);
    sprout::run(async {
        let work: Vec<_> = (0..10u64).map(|i| pool.submit(move || i * i)).collect();
        let mut total = 0;
        for w in work {
            total += w.await.unwrap();
        }
        assert_eq!(total, 285);
    });
}

#[test]
fn result_blocks_a_plain_thread_with_a_timeout() {
    let pool = ThreadPool::new(1);
    let (open, wait) = gate();
    let mut work = pool.submit(move || {
        wait.lock().unwrap().recv().unwrap();
        "done"
    });
    assert!(work.result(Duration::from_millis(10)).is_none(), "the gate is shut");
    assert!(!work.is_finished());
    open.send(()).unwrap();
    assert_eq!(work.result(LONG).unwrap().unwrap(), "done");
    assert!(work.is_finished());
    assert_eq!(pool.submit(|| 5).wait().unwrap(), 5);
}

#[test]
fn blocking_on_a_runtime_thread_fails_with_a_clear_message() {
    let pool = ThreadPool::new(1);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        sprout::run(async {
            let work = pool.submit(|| 1);
            work.wait()
        })
    }));
    let message = panic_text(caught.unwrap_err());
    assert!(message.contains("WorkFuture::wait would block the sprout runtime thread"), "{message}");
    assert!(message.contains(".await"), "{message}");

    let caught = catch_unwind(AssertUnwindSafe(|| sprout::run(async { pool.shutdown(true) })));
    assert!(panic_text(caught.unwrap_err()).contains("ThreadPool::shutdown(true) would block"));
    let caught =
        catch_unwind(AssertUnwindSafe(|| sprout::run(async { pool.map(|x: u32| x, 0..3).into_iter().count() })));
    assert!(panic_text(caught.unwrap_err()).contains("would block"));
}

#[test]
fn done_callbacks_run_on_the_runtime_thread_before_the_awaiter_resumes() {
    let pool = ThreadPool::new(2);
    let main = thread::current().id();
    sprout::run(async {
        let log = Arc::new(Mutex::new(Vec::new()));
        let ok = pool.submit(|| 21 * 2);
        let bad = pool.submit(|| -> u32 { panic!("work failed") });
        for (name, work) in [("ok", &ok), ("bad", &bad)] {
            let log = log.clone();
            work.add_done_callback(move |r| {
                assert_eq!(thread::current().id(), main, "callback off the runtime thread");
                let entry = match r {
                    Ok(v) => format!("{name}: {v}"),
                    Err(e) => format!("{name}: {}", e.panic_message().unwrap()),
                };
                log.lock().unwrap().push(entry);
            });
        }
        assert_eq!(ok.await.unwrap(), 42);
        assert!(log.lock().unwrap().contains(&"ok: 42".to_string()));
        assert!(bad.await.unwrap_err().is_panic());
        assert!(log.lock().unwrap().contains(&"bad: work failed".to_string()));

        // Already done: the callback runs at once, right here.
        let done = pool.submit(|| 1);
        while !done.is_finished() {
            sprout::sleep(Duration::from_millis(1)).await;
        }
        let seen = Arc::new(AtomicUsize::new(0));
        let s = seen.clone();
        done.add_done_callback(move |r| s.store(*r.as_ref().unwrap(), Ordering::SeqCst));
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        assert_eq!(done.await.unwrap(), 1);
    });
}

#[test]
fn done_callbacks_of_plain_thread_work_run_on_the_worker() {
    let pool = ThreadPool::builder().threads(1).name("cb-worker").build();
    let (tx, rx) = mpsc::channel();
    // Held until the callback is in place, so the work finishes after it.
    let (open, wait) = gate();
    let work = pool.submit(move || {
        wait.lock().unwrap().recv().unwrap();
        "payload"
    });
    work.add_done_callback(move |r| {
        tx.send((thread::current().name().map(String::from), *r.as_ref().unwrap())).unwrap();
    });
    open.send(()).unwrap();
    let (thread_name, value) = rx.recv_timeout(LONG).unwrap();
    assert_eq!(thread_name.as_deref(), Some("cb-worker"));
    assert_eq!(value, "payload");
    assert_eq!(work.wait().unwrap(), "payload");

    // Done already and no home runtime: it runs right here.
    let work = pool.submit(|| 3);
    while !work.is_finished() {
        thread::yield_now();
    }
    let here = Arc::new(Mutex::new(None));
    let h = here.clone();
    work.add_done_callback(move |_| *h.lock().unwrap() = Some(thread::current().id()));
    assert_eq!(*here.lock().unwrap(), Some(thread::current().id()));
}

#[test]
fn cancel_works_only_while_the_work_is_pending() {
    let pool = ThreadPool::new(1);
    let (open, wait) = gate();
    let running = pool.submit(move || wait.lock().unwrap().recv().unwrap());
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let pending = pool.submit(move || r.fetch_add(1, Ordering::SeqCst));
    while !running.is_running() {
        thread::yield_now();
    }
    let called = Arc::new(AtomicUsize::new(0));
    let c = called.clone();
    pending.add_done_callback(move |r| {
        assert!(matches!(r, Err(JoinError::Killed)));
        c.fetch_add(1, Ordering::SeqCst);
    });
    assert!(pending.cancel());
    assert!(pending.cancel(), "cancelling twice still reports cancelled");
    assert!(pending.is_cancelled());
    assert_eq!(called.load(Ordering::SeqCst), 1, "cancel runs the callbacks");
    assert!(!running.cancel(), "running work cannot be cancelled");
    open.send(()).unwrap();
    running.wait().unwrap();
    assert!(matches!(pending.wait(), Err(JoinError::Killed)));
    // The worker skipped the cancelled job.
    pool.shutdown(true);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn shutdown_without_wait_drops_pending_work() {
    let pool = ThreadPool::new(1);
    let (open, wait) = gate();
    let running = pool.submit(move || {
        wait.lock().unwrap().recv().unwrap();
        "finished anyway"
    });
    while !running.is_running() {
        thread::yield_now();
    }
    let ran = Arc::new(AtomicUsize::new(0));
    let queued: Vec<_> = (0..3)
        .map(|_| {
            let ran = ran.clone();
            pool.submit(move || ran.fetch_add(1, Ordering::SeqCst))
        })
        .collect();
    assert_eq!(pool.queued(), 3);
    pool.shutdown(false);
    assert!(pool.is_closed());
    for q in queued {
        assert!(q.is_cancelled());
        assert!(matches!(q.wait(), Err(JoinError::Killed)));
    }
    open.send(()).unwrap();
    assert_eq!(running.wait().unwrap(), "finished anyway");
    assert!(matches!(pool.submit(|| 1).wait(), Err(JoinError::Killed)), "a closed pool refuses work");
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn shutdown_with_wait_finishes_pending_work_then_returns() {
    let pool = ThreadPool::new(2);
    let ran = Arc::new(AtomicUsize::new(0));
    let work: Vec<_> = (0..20)
        .map(|_| {
            let ran = ran.clone();
            pool.submit(move || {
                thread::sleep(Duration::from_millis(1));
                ran.fetch_add(1, Ordering::SeqCst)
            })
        })
        .collect();
    pool.shutdown(true);
    assert_eq!(ran.load(Ordering::SeqCst), 20, "shutdown(true) returned before the queue was done");
    for w in work {
        assert!(w.wait().is_ok());
    }
    // Idempotent, and join is ready.
    pool.shutdown(true);
    futures::executor::block_on(pool.join());
}

#[test]
fn a_panic_comes_back_as_an_error_and_the_worker_survives() {
    let pool = ThreadPool::new(1);
    let first = pool.submit(|| thread::current().id());
    let first_id = first.wait().unwrap();
    let boom = pool.submit(|| -> u8 { panic!("kaboom") });
    let err = boom.wait().unwrap_err();
    assert_eq!(err.panic_message(), Some("kaboom"));
    let after = pool.submit(|| thread::current().id()).wait().unwrap();
    assert_eq!(after, first_id, "the same worker thread carried on");
}

#[test]
fn the_initializer_runs_once_per_worker() {
    thread_local!(static READY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    let inits = Arc::new(AtomicUsize::new(0));
    let i = inits.clone();
    let pool = ThreadPool::builder()
        .threads(3)
        .initializer(move || {
            i.fetch_add(1, Ordering::SeqCst);
            READY.with(|r| r.set(true));
        })
        .build();
    let all_ready = pool.map(
        |_: u32| {
            thread::sleep(Duration::from_millis(1));
            READY.with(|r| r.get())
        },
        0..30,
    );
    assert!(all_ready.into_iter().all(|r| r.unwrap()));
    let n = inits.load(Ordering::SeqCst);
    assert!((1..=3).contains(&n), "{n} initializer runs for at most 3 threads");
    pool.shutdown(true);
}

#[test]
fn a_panicking_initializer_breaks_the_pool_with_a_clear_error() {
    let pool = ThreadPool::builder().threads(1).initializer(|| panic!("no database")).build();
    let err = pool.submit(|| 1).wait().unwrap_err();
    let message = err.panic_message().unwrap().to_string();
    assert!(message.contains("initializer panicked: no database"), "{message}");
    let err = pool.submit(|| 2).wait().unwrap_err();
    assert!(err.panic_message().unwrap().contains("no database"));
    assert!(pool.is_closed());
}

#[test]
fn map_keeps_input_order_from_tasks_and_from_threads() {
    let pool = ThreadPool::new(3);
    let expected: Vec<u64> = (0..50).map(|i| i * 3).collect();
    // Plain thread: iterate.
    let got: Vec<u64> = pool
        .map(
            |i: u64| {
                thread::sleep(Duration::from_micros((i * 37) % 500));
                i * 3
            },
            0..50,
        )
        .chunksize(4)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, expected);
    // Green task: a stream.
    sprout::run(async {
        let got: Vec<u64> = pool.map(|i: u64| i * 3, 0..50).map(Result::unwrap).collect().await;
        assert_eq!(got, expected);
        let mut unordered: Vec<u64> =
            pool.imap_unordered(|i: u64| i * 3, 0..50).chunksize(7).map(Result::unwrap).collect().await;
        unordered.sort_unstable();
        assert_eq!(unordered, expected);
    });
}

#[test]
fn a_panicking_map_item_fails_alone() {
    let pool = ThreadPool::new(2);
    let results: Vec<_> = pool
        .map(
            |i: u32| {
                if i == 3 {
                    panic!("bad item {i}");
                }
                i
            },
            0..8,
        )
        .chunksize(3)
        .into_iter()
        .collect();
    assert_eq!(results.len(), 8);
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(v) => assert_eq!(v as usize, i),
            Err(e) => assert_eq!((i, e.panic_message()), (3, Some("bad item 3"))),
        }
    }
}

#[test]
fn map_reads_a_long_iterator_lazily() {
    let pool = ThreadPool::new(2);
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let items = (0..10_000_000u64).inspect(move |_| {
        p.fetch_add(1, Ordering::SeqCst);
    });
    let firsts: Vec<u64> = pool.map(|i| i + 1, items).chunksize(10).into_iter().take(100).map(Result::unwrap).collect();
    assert_eq!(firsts, (1..=100).collect::<Vec<_>>());
    // At most two chunks per thread are in flight beyond what was consumed.
    let window = 2 * 2 * 10;
    assert!(pulled.load(Ordering::SeqCst) <= 100 + window, "read ahead: {}", pulled.load(Ordering::SeqCst));
}

#[test]
fn dropping_the_pool_closes_it_once_its_maps_are_done() {
    let pool = ThreadPool::new(2);
    let map = pool.map(|i: u32| i * 2, 0..100);
    let join = pool.join();
    drop(pool);
    // The map keeps the pool open and still gets every result.
    let all: Vec<u32> = map.into_iter().map(Result::unwrap).collect();
    assert_eq!(all.len(), 100);
    // With the map gone too, the pool closed and its threads left.
    futures::executor::block_on(join);
}

#[test]
fn a_plain_thread_gets_runtime_work_while_the_runtime_waits_for_it() {
    let pool = ThreadPool::new(1);
    sprout::run(async {
        // Submitted from the runtime, handed to a plain thread, and the
        // runtime thread then blocks joining that thread: the result must
        // not need the runtime to come through.
        let work = pool.submit(|| {
            thread::sleep(Duration::from_millis(5));
            "through"
        });
        let waiter = thread::spawn(move || work.wait());
        assert_eq!(waiter.join().unwrap().unwrap(), "through");
    });
}
