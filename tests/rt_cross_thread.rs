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

#[test]
fn a_task_woken_from_another_thread() {
    run(async {
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
    });
}

#[test]
fn wakers_dropped_on_other_threads_free_the_task() {
    run(async {
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
    });
}

#[test]
fn handle_spawn_from_another_thread() {
    run(async {
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
    });
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
