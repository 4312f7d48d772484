//! `sprout::wait()` returns once nothing is left that could wake a task,
//! and everything that registers with a runtime (timers, sockets, waiters)
//! can be dropped anywhere without keeping it waiting. Issue 8, bug 5.

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::io::Read;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use mio::net::UnixStream;
use sprout::io::IoSource;
use sprout::{Runtime, sleep, spawn, timeout, wait, yield_now};
use sprout_runtime::__net::{Direction, SourceRegistration};
use sprout_runtime::probe;

/// Fails the test instead of hanging if `wait()` does not return.
async fn wait_within(secs: u64) {
    if timeout(Duration::from_secs(secs), wait()).await.is_err() {
        panic!("sprout::wait() hung for {secs} s");
    }
}

/// Polls `fut` once with a waker that does nothing; returns whether it is pending.
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> bool {
    fut.poll(&mut Context::from_waker(Waker::noop())).is_pending()
}

fn pair() -> (IoSource<UnixStream>, IoSource<UnixStream>) {
    let (a, b) = UnixStream::pair().unwrap();
    (IoSource::new(a).unwrap(), IoSource::new(b).unwrap())
}

/// Case 1: a read cancelled by `timeout` used to leave its waker in the
/// socket's reader list, so `wait()` hung while the socket stayed open.
#[sprout::test]
async fn a_read_cancelled_by_timeout_does_not_keep_wait_waiting() {
    let (a, b) = pair();
    let mut buf = [0u8; 8];
    let read = b.read_with(|mut s| s.read(&mut buf));
    assert!(timeout(Duration::from_millis(2), read).await.is_err());
    assert!(timeout(Duration::from_millis(2), b.readable()).await.is_err());
    wait_within(5).await;
    drop((a, b));
}

/// Case 1 with sprout-net's own streams, the example.
#[sprout::test]
#[cfg_attr(miri, ignore = "sprout-net's stream setup makes socket calls Miri does not emulate")]
async fn a_cancelled_stream_read_does_not_keep_wait_waiting() {
    let (a, b) = sprout::net::UnixStream::pair().unwrap();
    let mut buf = [0u8; 8];
    assert!(timeout(Duration::from_millis(2), b.read(&mut buf)).await.is_err());
    assert!(timeout(Duration::from_millis(2), b.read_exact(&mut buf)).await.is_err());
    wait_within(5).await;
    // The socket still works, and a read still waits for data.
    let reader = spawn(async move {
        let mut buf = [0u8; 2];
        b.read_exact(&mut buf).await.unwrap();
        buf
    });
    sleep(Duration::from_millis(1)).await;
    a.write_all(b"ok").await.unwrap();
    assert_eq!(&reader.await.unwrap(), b"ok");
}

/// Case 2: `timeout(d, wait())` counted its own timer as pending work, so
/// it always timed out. gevent's `wait(timeout)` returns at once on an
/// idle hub; so does this.
#[sprout::test]
async fn timeout_around_wait_returns_at_once_when_idle() {
    // `Ok`: it returned before its 3 s timer fired.
    assert_eq!(timeout(Duration::from_secs(3), wait()).await, Ok(()));
    // Other tasks' timers still count: it returns when they are done...
    spawn(sleep(Duration::from_millis(20)));
    let start = Instant::now();
    assert_eq!(timeout(Duration::from_secs(3), wait()).await, Ok(()));
    assert!(start.elapsed() >= Duration::from_millis(20));
    // ...or times out first.
    spawn(sleep(Duration::from_secs(3600)));
    assert!(timeout(Duration::from_millis(5), wait()).await.is_err());
}

/// A `wait()` dropped before the loop went idle leaves the runtime's idle
/// waiters: the idle turn wakes only the futures still waiting (it used to
/// wake the dropped one's task too, a poll for nothing).
#[sprout::test]
async fn a_dropped_wait_is_not_woken_at_the_idle_turn() {
    let gate = Rc::new(sprout::sync::Event::new());
    let polls = Rc::new(Cell::new(0));
    let worker = spawn({
        let (gate, polls) = (gate.clone(), polls.clone());
        async move {
            let mut early = Box::pin(wait());
            assert!(poll_fn(|cx| Poll::Ready(early.as_mut().poll(cx).is_pending())).await);
            drop(early);
            let mut gated = std::pin::pin!(gate.wait());
            poll_fn(|cx| {
                polls.set(polls.get() + 1);
                gated.as_mut().poll(cx)
            })
            .await;
        }
    });
    wait_within(5).await; // the worker waits on the gate: the loop goes idle
    yield_now().await; // a woken worker would be polled now
    gate.set();
    worker.await.unwrap();
    assert_eq!(polls.get(), 2, "polled to wait, then when the gate opened");
}

/// Case 3: a `Sleep` polled in a runtime and dropped outside `block_on`
/// used to leave its timer in the wheel until its deadline.
#[test]
fn a_sleep_dropped_outside_block_on_unregisters() {
    let rt = Runtime::new().unwrap();
    let mut long = Box::pin(sleep(Duration::from_secs(3600)));
    rt.block_on(async { assert!(poll_once(long.as_mut())) });
    drop(long);
    rt.block_on(async {
        wait_within(5).await;
        assert_eq!(probe::pending_timers(), 0);
    });
}

/// Case 3, on another thread, and after the runtime is gone.
#[test]
fn a_sleep_dropped_on_another_thread_or_after_the_runtime_unregisters() {
    let rt = Runtime::new().unwrap();
    let mut long = Box::pin(sleep(Duration::from_secs(3600)));
    let mut later = Box::pin(sleep(Duration::from_secs(3600)));
    rt.block_on(async {
        assert!(poll_once(long.as_mut()));
        assert!(poll_once(later.as_mut()));
    });
    thread::spawn(move || drop(long)).join().unwrap();
    rt.block_on(async {
        // One left: `later`'s.
        sleep(Duration::from_millis(1)).await;
        assert_eq!(probe::pending_timers(), 1);
    });
    drop(rt);
    drop(later);
}

/// Case 3 for a Sleep that moves to another runtime: its entry in the
/// first one is removed, not left until its deadline.
#[test]
fn a_sleep_moved_to_another_runtime_leaves_nothing_behind() {
    let first = Runtime::new().unwrap();
    let second = Runtime::new().unwrap();
    let mut long = Box::pin(sleep(Duration::from_secs(3600)));
    first.block_on(async { assert!(poll_once(long.as_mut())) });
    second.block_on(async { assert!(poll_once(long.as_mut())) });
    first.block_on(async {
        wait_within(5).await;
        assert_eq!(probe::pending_timers(), 0);
    });
    drop(long);
    second.block_on(wait_within(5));
}

/// Case 3: a socket registered in a runtime, with a waiter, and dropped
/// outside `block_on` (here: on another thread) used to leak its reactor
/// slot forever, and `wait()` hung on the waiter in it.
#[test]
fn a_socket_dropped_outside_block_on_releases_its_slot() {
    let rt = Runtime::new().unwrap();
    let (a, b) = rt.block_on(async {
        let (a, b) = pair();
        // A poll-style wait leaves the task's waker in the reader list.
        poll_fn(|cx| {
            assert!(b.registration().poll_ready(cx, Direction::Read).is_pending());
            Poll::Ready(())
        })
        .await;
        (a, b)
    });
    drop(a);
    thread::spawn(move || drop(b)).join().unwrap();
    rt.block_on(async {
        wait_within(5).await;
        assert_eq!(probe::io_sources(), 0);
    });
}
