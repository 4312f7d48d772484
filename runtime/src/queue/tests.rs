//! The queue driven by hand, no runtime needed: these also run under
//! Miri (`cargo +nightly miri test -p sprout-runtime --lib queue`), which
//! checks the wait list's and `CompactWaker`'s unsafe code.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::counting_waker::counting_waker;
use crate::queue::{Channel, Closed, GetError, Queue};

fn poll<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

#[test]
fn put_hands_off_and_cancel_reoffers() {
    let q: Queue<String> = Queue::new(1);
    let (c1, w1) = counting_waker();
    let (c2, w2) = counting_waker();
    let mut g1 = q.get();
    let mut g2 = q.get();
    assert!(poll(&mut g1, &w1).is_pending());
    assert!(poll(&mut g2, &w2).is_pending());
    q.put_nowait("a".to_string()).unwrap();
    assert_eq!(c1.get(), 1);
    assert_eq!(q.qsize(), 0, "handed to the first getter");
    drop(g1); // handed, but gone: the item goes to the second getter
    assert_eq!(c2.get(), 1);
    assert_eq!(poll(&mut g2, &w2), Poll::Ready(Ok("a".to_string())));
    // No getter left: a cancelled getter's item goes back to the front.
    let mut g3 = q.get();
    assert!(poll(&mut g3, &w1).is_pending());
    q.put_nowait("b".to_string()).unwrap();
    q.put_nowait("c".to_string()).unwrap();
    drop(g3);
    assert_eq!(q.get_nowait().as_deref(), Ok("b"));
    assert_eq!(q.get_nowait().as_deref(), Ok("c"));
}

#[test]
fn parked_putter_items_move_in_or_come_back() {
    let q: Queue<Box<u32>> = Queue::new(1);
    let (c, w) = counting_waker();
    q.put_nowait(Box::new(1)).unwrap();
    let mut p1 = q.put(Box::new(2));
    let mut p2 = q.put(Box::new(3));
    assert!(poll(&mut p1, &w).is_pending());
    assert!(poll(&mut p2, &w).is_pending());
    assert_eq!(q.get_nowait().map(|b| *b), Ok(1));
    assert_eq!(c.get(), 1, "the first putter's item moved in");
    assert_eq!(poll(&mut p1, &w), Poll::Ready(Ok(())));
    assert_eq!(p2.take_back().map(|b| *b), Some(3), "a waiting putter gets its item back");
    drop(p2);
    assert_eq!(q.get_nowait().map(|b| *b), Ok(2));
    // Close wakes a parked putter with its item.
    q.put_nowait(Box::new(4)).unwrap();
    let mut p3 = q.put(Box::new(5));
    assert!(poll(&mut p3, &w).is_pending());
    q.close();
    assert_eq!(poll(&mut p3, &w).map(|r| r.map_err(|Closed(b)| *b)), Poll::Ready(Err(5)));
    assert_eq!(q.get_nowait().map(|b| *b), Ok(4));
    assert_eq!(q.get_nowait(), Err(GetError::Closed));
}

#[test]
fn channel_and_semaphore_by_hand() {
    let ch: Channel<Vec<u8>> = Channel::new();
    let (_, w) = counting_waker();
    let mut put = ch.put(vec![1, 2]);
    assert!(poll(&mut put, &w).is_pending());
    assert_eq!(ch.get_nowait(), Ok(vec![1, 2]));
    assert_eq!(poll(&mut put, &w), Poll::Ready(Ok(())));

    let sem = crate::sync::Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut a = sem.acquire();
    let mut b = sem.acquire();
    assert!(poll(&mut a, &w).is_pending());
    assert!(poll(&mut b, &w).is_pending());
    drop(held); // handed to `a`...
    drop(a); // ...which passes it to `b`
    assert!(matches!(poll(&mut b, &w), Poll::Ready(Ok(_))));
    assert_eq!(sem.available_permits(), 1);
}
