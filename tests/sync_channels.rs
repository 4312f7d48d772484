//! The `broadcast` and `watch` channels on a real runtime: every
//! subscriber sees every message, a slow one lags, the end when the
//! senders go, a receiver or a waiting future dropped at any point loses
//! nothing and holds nothing; the thread-safe ones between tasks and
//! threads.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use sprout::sync::broadcast::{self, RecvError, TryRecvError};
use sprout::sync::watch;
use sprout::{joinall, spawn, task, yield_now};

/// Lets every spawned task run until it blocks.
async fn settle() {
    for _ in 0..4 {
        yield_now().await;
    }
}

/// Collects what a receiver gets until the channel closes.
fn collector(mut rx: broadcast::Receiver<u32>) -> sprout::JoinHandle<Vec<Result<u32, RecvError>>> {
    spawn(async move {
        let mut got = Vec::new();
        loop {
            match rx.recv().await {
                Err(RecvError::Closed) => return got,
                other => got.push(other),
            }
        }
    })
}

#[sprout::test]
async fn every_subscriber_sees_every_message_then_the_end() {
    let (tx, rx) = broadcast::channel(4);
    let collectors: Vec<_> = std::iter::once(rx).chain((0..9).map(|_| tx.subscribe())).map(collector).collect();
    settle().await;
    for n in 0..100 {
        assert_eq!(tx.send(n), Ok(10));
        if n % 4 == 3 {
            settle().await; // the receivers keep up: nobody lags
        }
    }
    let other = tx.clone();
    drop(tx);
    other.send(100).unwrap(); // a clone keeps the channel open
    drop(other);
    for got in joinall(collectors).await {
        assert_eq!(got.unwrap(), (0..=100).map(Ok).collect::<Vec<_>>());
    }
}

#[sprout::test]
async fn a_slow_subscriber_is_told_how_many_it_missed() {
    let (tx, fast) = broadcast::channel(8);
    let mut slow = tx.subscribe();
    let fast = collector(fast);
    for n in 0..20 {
        tx.send(n).unwrap();
        settle().await;
    }
    assert_eq!(slow.len(), 20);
    assert_eq!(slow.recv().await, Err(RecvError::Lagged(12)));
    for n in 12..20 {
        assert_eq!(slow.recv().await, Ok(n), "then the oldest kept, in order");
    }
    drop(tx);
    assert_eq!(slow.recv().await, Err(RecvError::Closed));
    assert_eq!(fast.await.unwrap(), (0..20).map(Ok).collect::<Vec<_>>(), "the fast one missed nothing");
}

#[test]
#[should_panic(expected = "capacity must be at least 1")]
fn a_channel_of_capacity_zero_is_refused_clearly() {
    let _ = broadcast::channel::<u32>(0);
}

#[sprout::test]
async fn a_receiver_killed_with_unread_messages_lets_go_of_them() {
    let (tx, rx) = broadcast::channel(4);
    let message = Rc::new("big");
    let stuck = spawn(async move {
        let mut rx = rx;
        let first = rx.recv().await.unwrap();
        std::future::pending::<()>().await; // holds the receiver, reads no more
        drop(first);
    });
    tx.send(message.clone()).unwrap();
    settle().await;
    tx.send(message.clone()).unwrap();
    tx.send(message.clone()).unwrap();
    // The ring holds the two unread copies; the task holds the first.
    assert_eq!(Rc::strong_count(&message), 4);
    stuck.kill();
    assert!(stuck.await.unwrap_err().is_killed());
    assert_eq!(Rc::strong_count(&message), 1, "its unread messages went with it");
    assert!(tx.send(message.clone()).is_err(), "no receiver left");
}

#[sprout::test]
async fn a_recv_dropped_at_any_point_loses_no_message() {
    let (tx, mut rx) = broadcast::channel(4);
    for n in 0..3 {
        let mut recv = Box::pin(rx.recv());
        if n >= 1 {
            assert!(futures::poll!(recv.as_mut()).is_pending(), "waiting");
        }
        tx.send(n).unwrap();
        if n == 2 {
            settle().await; // woken, not polled again
        }
        drop(recv); // before its first poll, while waiting, after its wake
        assert_eq!(rx.try_recv(), Ok(n), "the message waits for the next recv");
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    // The same with a task killed while it waits: the receiver survives it.
    let rx = Rc::new(RefCell::new(rx));
    let waiter = spawn({
        let rx = rx.clone();
        // The only borrower while it waits; killed, it lets go at once.
        #[allow(clippy::await_holding_refcell_ref)]
        async move {
            rx.borrow_mut().recv().await
        }
    });
    settle().await;
    tx.send(7).unwrap();
    waiter.kill();
    assert!(waiter.await.unwrap_err().is_killed());
    assert_eq!(rx.borrow_mut().try_recv(), Ok(7));
}

#[test]
fn the_dump_shows_broadcast_and_watch_waits() {
    sprout::run(async {
        let (btx, mut brx) = broadcast::channel::<u8>(1);
        let (wtx, mut wrx) = watch::channel(0u8);
        let tasks = vec![
            task::Builder::new().name("listener").spawn(async move {
                let _ = brx.recv().await;
            }),
            task::Builder::new().name("watcher").spawn(async move {
                let _ = wrx.changed().await;
            }),
        ];
        settle().await;
        let dump = sprout::dump();
        for (name, what) in [("listener", "broadcast"), ("watcher", "watch")] {
            let t = dump.task_named(name).unwrap();
            assert_eq!(t.waits_on().unwrap().name(), what, "{dump}");
            assert_eq!(t.wait_at().unwrap().file(), file!());
        }
        drop((btx, wtx));
        joinall(tasks).await;
    });
}

#[sprout::test]
async fn watch_followers_see_the_latest_value_and_the_end() {
    let (tx, rx) = watch::channel(0);
    let followers: Vec<_> = (0..3)
        .map(|_| {
            let mut rx = rx.clone();
            spawn(async move {
                let mut seen = Vec::new();
                while rx.changed().await.is_ok() {
                    seen.push(*rx.borrow_and_update());
                }
                seen
            })
        })
        .collect();
    settle().await;
    tx.send(1).unwrap();
    tx.send(2).unwrap(); // before anyone ran: only the latest is seen
    settle().await;
    tx.send_modify(|v| *v += 1);
    settle().await;
    drop(tx);
    for seen in joinall(followers).await {
        assert_eq!(seen.unwrap(), [2, 3]);
    }
    assert!(rx.has_changed().is_ok(), "this receiver never looked: the last value is news");
}

#[sprout::test(paused)]
async fn watch_wait_for_and_a_dropped_changed() {
    let (tx, mut rx) = watch::channel(0);
    let setter = spawn(async move {
        for n in 1..=5 {
            sprout::sleep(Duration::from_millis(1)).await;
            tx.send(n).unwrap();
        }
        tx
    });
    assert_eq!(*rx.wait_for(|n| *n >= 3).await.unwrap(), 3);
    // Dropped while waiting: the next changed still sees the change.
    assert!(sprout::timeout(Duration::from_micros(10), rx.changed()).await.is_err());
    let tx = setter.await.unwrap();
    assert!(rx.changed().await.is_ok());
    assert_eq!(*rx.borrow_and_update(), 5);
    drop(tx);
    assert!(rx.wait_for(|n| *n > 5).await.is_err(), "the sender left first");
}

#[test]
fn thread_safe_channels_between_tasks_and_threads() {
    use sprout::sync::threadsafe::{broadcast, watch};
    let (tx, rx) = broadcast::channel(1024);
    let mut on_thread = tx.subscribe();
    let reader = std::thread::spawn(move || {
        let mut sum = 0;
        while let Ok(n) = on_thread.recv_blocking() {
            sum += n;
        }
        sum
    });
    let (wtx, mut wrx) = watch::channel(0u64);
    let writer = std::thread::spawn(move || {
        for n in 1..=100 {
            tx.send(n).unwrap();
        }
        wtx.send_replace(100);
    });
    let task_sum = sprout::run(async move {
        let mut rx = rx;
        let mut sum = 0;
        while let Ok(n) = rx.recv().await {
            sum += n;
        }
        while wrx.changed().await.is_ok() {}
        assert_eq!(*wrx.borrow(), 100);
        sum
    });
    writer.join().unwrap();
    assert_eq!((task_sum, reader.join().unwrap()), (5050, 5050));
}
