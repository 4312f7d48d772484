//! Loom models of the thread-safe queues' hand-offs: the real `State`,
//! `api` and `threadsafe` code on loom's `Mutex` (see
//! `sync/threadsafe/loom_models.rs` for how threads, tasks and deadlines
//! are modelled, and `docs/testing.md` for the command).
//!
//! The property is conservation: every item put is taken exactly once or
//! is still in the queue, whichever getter timed out or was dropped.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use ::loom::sync::Arc;
use ::loom::thread;

use super::error::{GetError, PutError};
use super::threadsafe::{Channel, Queue};

/// One poll with a no-op waker, as a runtime polls a task's future.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

/// An item put while one getter is dropped (a cancelled task) and another
/// times out is taken exactly once, or is still in the queue.
#[test]
fn item_survives_a_dropped_getter_and_a_getter_timeout() {
    ::loom::model(|| {
        let q = Arc::new(Queue::<u32>::unbounded());
        let dropped = thread::spawn({
            let q = q.clone();
            move || {
                let mut get = q.get();
                let got = match poll_once(&mut get) {
                    Poll::Ready(item) => Some(item.unwrap()),
                    Poll::Pending => None,
                };
                drop(get); // cancelled: an item handed over meanwhile goes on
                got
            }
        });
        let timed = thread::spawn({
            let q = q.clone();
            move || match q.get_blocking_timeout(Duration::from_secs(1)) {
                Ok(item) => Some(item),
                Err(e) => {
                    assert_eq!(e, GetError::Empty);
                    None
                }
            }
        });
        q.put_nowait(7).unwrap();
        let mut seen: Vec<u32> = [dropped.join().unwrap(), timed.join().unwrap()].into_iter().flatten().collect();
        seen.extend(q.get_nowait().ok());
        assert_eq!(seen, [7], "taken once or still queued");
        assert_eq!((q.getters(), q.qsize()), (0, 0));
        assert_eq!(q.unfinished_tasks(), 1);
    });
}

/// A channel put with a deadline against a get with a deadline: the put
/// succeeds exactly when the get receives the item; otherwise the item
/// comes back to the putter.
#[test]
fn channel_put_and_get_deadlines_agree() {
    ::loom::model(|| {
        let ch = Arc::new(Channel::<u32>::new());
        let getter = thread::spawn({
            let ch = ch.clone();
            move || ch.get_blocking_timeout(Duration::from_secs(1)).ok()
        });
        let put = ch.put_blocking_timeout(5, Duration::from_secs(1));
        let got = getter.join().unwrap();
        match put {
            Ok(()) => assert_eq!(got, Some(5)),
            Err(e) => {
                assert_eq!(e, PutError::Full(5));
                assert_eq!(got, None);
            }
        }
        assert_eq!((ch.getters(), ch.putters(), ch.qsize()), (0, 0, 0));
    });
}

/// A full queue: a blocking putter waits, a blocking getter makes room
/// (moving the putter's item in), and a task's get is dropped meanwhile.
/// Both items are accounted for, in order.
#[test]
fn waiting_putter_moves_in_while_a_getter_is_dropped() {
    ::loom::model(|| {
        let q = Arc::new(Queue::<u32>::new(1));
        q.put_nowait(0).unwrap();
        let putter = thread::spawn({
            let q = q.clone();
            move || q.put_blocking(1).unwrap()
        });
        let getter = thread::spawn({
            let q = q.clone();
            move || q.get_blocking().unwrap()
        });
        let mut get = q.get();
        let task = match poll_once(&mut get) {
            Poll::Ready(item) => Some(item.unwrap()),
            Poll::Pending => None,
        };
        drop(get);
        putter.join().unwrap();
        let mut seen = vec![getter.join().unwrap()];
        seen.extend(task);
        seen.extend(q.get_nowait().ok());
        seen.sort();
        assert_eq!(seen, [0, 1], "each item taken once or still queued");
        assert_eq!((q.getters(), q.putters(), q.qsize()), (0, 0, 0));
    });
}
