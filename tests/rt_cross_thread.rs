//! Wakers and handles used from other OS threads.

use std::future::poll_fn;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;

use sprout::{Handle, JoinError, Runtime, run, sleep, spawn};

/// A one-shot slot filled by another thread.
#[derive(Default)]
struct Slot {
    value: Option<u32>,
    waker: Option<Waker>,
}

#[sprout::test]
async fn a_task_woken_from_another_thread() {
    let slot = Arc::new(Mutex::new(Slot::default()));
    let task = spawn({
        let slot = slot.clone();
        async move {
            poll_fn(|cx| {
                let mut s = slot.lock().unwrap();
                match s.value.take() {
                    Some(v) => Poll::Ready(v),
                    None => {
                        s.waker = Some(cx.waker().clone());
                        Poll::Pending
                    }
                }
            })
            .await
        }
    });
    sleep(Duration::from_millis(1)).await; // the task parks and stores its waker
    let filler = thread::spawn({
        let slot = slot.clone();
        move || {
            let waker = {
                let mut s = slot.lock().unwrap();
                s.value = Some(77);
                s.waker.take().unwrap()
            };
            // Clone and drop on this thread too: both must be safe.
            let extra = waker.clone();
            waker.wake_by_ref();
            drop(extra);
            waker.wake();
        }
    });
    // The runtime blocks in epoll_wait; the foreign wake rouses it.
    assert_eq!(task.await.unwrap(), 77);
    filler.join().unwrap();
}

#[sprout::test]
async fn wakers_dropped_on_other_threads_free_the_task() {
    let stash: Arc<Mutex<Vec<Waker>>> = Arc::default();
    let task = spawn({
        let stash = stash.clone();
        async move {
            let mut first = true;
            poll_fn(|cx| {
                if first {
                    first = false;
                    stash.lock().unwrap().push(cx.waker().clone());
                    cx.waker().wake_by_ref();
                    Poll::Pending
                } else {
                    Poll::Ready(5)
                }
            })
            .await
        }
    });
    assert_eq!(task.await.unwrap(), 5);
    let wakers = std::mem::take(&mut *stash.lock().unwrap());
    thread::spawn(move || {
        for w in &wakers {
            drop(w.clone());
        }
        drop(wakers);
    })
    .join()
    .unwrap();
    // The release messages are processed by later turns.
    sleep(Duration::from_millis(1)).await;
}

#[sprout::test]
async fn handle_spawn_from_another_thread() {
    let handle = Handle::current();
    let remote = thread::spawn(move || {
        let a = handle.spawn(async {
            sleep(Duration::from_millis(2)).await;
            6
        });
        // The future built on the runtime thread need not be Send.
        let b = handle.spawn_with(|| {
            let local = Rc::new(7);
            async move { *local }
        });
        (a, b)
    })
    .join()
    .unwrap();
    assert_eq!(remote.0.await.unwrap() * remote.1.await.unwrap(), 42);
}

#[test]
fn remote_handles_are_joined_and_killed_from_threads() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let worker = thread::spawn(move || {
        let slow = handle.spawn(async {
            sleep(Duration::from_secs(3600)).await;
            1
        });
        let fast = handle.spawn(async { 2 });
        let panicky = handle.spawn(async { panic!("remote boom") });
        assert_eq!(fast.join_blocking().unwrap(), 2);
        assert_eq!(panicky.join_blocking().unwrap_err().panic_message(), Some("remote boom"));
        slow.kill();
        assert!(slow.join_blocking().unwrap_err().is_killed());
        handle.call(|| ()).unwrap();
    });
    rt.block_on(async {
        while !worker.is_finished() {
            sleep(Duration::from_millis(1)).await;
        }
    });
    worker.join().unwrap();
}

#[test]
fn a_dropped_runtime_refuses_work() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    drop(rt);
    assert!(handle.is_closed());
    assert!(handle.call(|| ()).is_err());
    let h = handle.spawn(async { 1 });
    assert!(matches!(h.join_blocking(), Err(JoinError::Killed)));
}

#[test]
fn handle_is_send_and_clone() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Handle>();
    fn send<T: Send>() {}
    send::<sprout::RemoteJoinHandle<u8>>();
    send::<sprout::Sleep>();
}

/// Waits for a remote join from a helper thread, failing instead of hanging.
fn join_within<T: Send + 'static>(remote: sprout::RemoteJoinHandle<T>, secs: u64) -> Result<T, JoinError> {
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(remote.join_blocking());
    });
    rx.recv_timeout(Duration::from_secs(secs)).expect("the remote joiner hung")
}

/// Counts drops across threads.
struct DropFlag(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Issue 8, bug 3: a `Handle::spawn` still queued when the runtime is
/// dropped is killed with the rest: its joiner gets `Killed` and its future
/// is dropped.
#[test]
fn a_spawn_queued_at_shutdown_is_killed() {
    for _ in 0..3 {
        let rt = Runtime::new().unwrap();
        let drops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let flag = DropFlag(drops.clone());
        let remote = rt.handle().spawn(async move {
            let _flag = flag;
            std::future::pending::<u8>().await
        });
        drop(rt);
        assert!(matches!(join_within(remote, 10), Err(JoinError::Killed)));
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 1, "the future was dropped once");
    }
}

/// Issue 8, bug 3, racing: spawns posted while the runtime shuts down all
/// resolve, each to a value or to `Killed`.
#[test]
fn spawns_racing_the_shutdown_all_resolve() {
    let rounds = if cfg!(miri) { 3 } else { 200 };
    for _ in 0..rounds {
        let rt = Runtime::new().unwrap();
        let handle = rt.handle();
        let poster = thread::spawn(move || (0..4).map(|i| handle.spawn(async move { i })).collect::<Vec<_>>());
        rt.block_on(sprout::yield_now());
        drop(rt);
        for (i, remote) in poster.join().unwrap().into_iter().enumerate() {
            match join_within(remote, 10) {
                Ok(v) => assert_eq!(v, i),
                Err(e) => assert!(e.is_killed()),
            }
        }
    }
}

/// Issue 8, bug 9: a `spawn_with` closure that panics is the task's panic:
/// the remote joiner sees it, and the runtime does not also report it as
/// unjoined (which `Propagate` would re-raise from `block_on`).
#[test]
fn a_panicking_spawn_with_closure_reaches_the_remote_joiner() {
    let rt = Runtime::builder().on_unjoined_panic(sprout::PanicPolicy::Propagate).build().unwrap();
    let remote = rt.handle().spawn_with(|| -> std::future::Ready<u8> { panic!("no future for you") });
    let result = rt.block_on(async {
        let result = remote.await;
        // A few turns, for an unjoined-panic report to surface if there were one.
        for _ in 0..3 {
            sprout::yield_now().await;
        }
        result
    });
    assert_eq!(result.unwrap_err().panic_message(), Some("no future for you"));
}

/// Issue 8, bug 4: `run` returns, and frees the runtime's remote queue, as
/// soon as a foreign thread's wake-up is read; the waking thread must not
/// touch the queue (or its eventfd) after that. Miri with many seeds finds
/// the race (`.ci/run`).
#[test]
fn run_returns_right_after_a_foreign_wake() {
    let rounds = 30;
    for _ in 0..rounds {
        let event = Arc::new(sprout::sync::threadsafe::Event::new());
        let setter = run(async {
            // A busy loop turns without blocking, so it reads the message
            // the moment the flag says there is one.
            spawn(async {
                loop {
                    sprout::yield_now().await;
                }
            });
            let e = event.clone();
            let setter = thread::spawn(move || e.set());
            event.wait().await;
            setter
        });
        setter.join().unwrap();
    }
}
