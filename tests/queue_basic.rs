//! The runtime-local queues on a real runtime: orders, bounds, time-outs,
//! close, task_done/join, streams, channels, cancellation by kill, and the
//! operation budget.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use sprout::queue::{Channel, Closed, GetError, LifoQueue, PriorityQueue, PutError, Queue};
use sprout::{joinall, run, sleep, spawn, yield_now};

async fn settle() {
    for _ in 0..4 {
        yield_now().await;
    }
}

#[test]
fn the_seed_orders() {
    // Python: Queue(3) FIFO, LifoQueue LIFO, PriorityQueue smallest first.
    let q = Queue::new(3);
    for x in ["1", "hyh", "[1,2,3,4]"] {
        q.put_nowait(x).unwrap();
    }
    assert!(q.full());
    assert!(q.put_nowait("more").unwrap_err().is_full());
    assert_eq!((0..3).map(|_| q.get_nowait().unwrap()).collect::<Vec<_>>(), ["1", "hyh", "[1,2,3,4]"]);
    assert_eq!(q.get_nowait(), Err(GetError::Empty));

    let lifo = LifoQueue::new(0);
    (1..=3).for_each(|x| lifo.put_nowait(x).unwrap());
    assert_eq!(lifo.peek(), Some(3));
    assert_eq!((0..3).map(|_| lifo.get_nowait().unwrap()).collect::<Vec<_>>(), [3, 2, 1]);

    let pq = PriorityQueue::new(0);
    for job in [(10, 'a'), (9, 'b'), (11, 'c')] {
        pq.put_nowait(job).unwrap();
    }
    assert_eq!(pq.qsize(), 3);
    assert_eq!((0..3).map(|_| pq.get_nowait().unwrap().1).collect::<String>(), "bac");
    assert!(pq.empty());
}

#[sprout::test]
async fn bounded_put_waits_and_times_out_handing_the_item_back() {
    let q = Rc::new(Queue::new(1));
    q.put(1).await.unwrap();
    let start = Instant::now();
    match q.put_timeout(2, Duration::from_millis(5)).await {
        Err(PutError::Full(item)) => assert_eq!(item, 2),
        other => panic!("expected Full, got {other:?}"),
    }
    assert!(start.elapsed() >= Duration::from_millis(5));
    assert_eq!(q.putters(), 0);
    // A waiting putter gets in as soon as a getter makes room.
    let putter = spawn({
        let q = q.clone();
        async move { q.put(3).await }
    });
    settle().await;
    assert_eq!(q.putters(), 1);
    assert_eq!(q.get().await, Ok(1));
    assert_eq!(q.qsize(), 1, "the putter's item moved in at once");
    putter.await.unwrap().unwrap();
    assert_eq!(q.get_timeout(Duration::from_millis(1)).await, Ok(3));
    assert_eq!(q.get_timeout(Duration::from_millis(1)).await, Err(GetError::Empty));
}

#[sprout::test]
async fn getters_are_served_in_arrival_order_and_put_hands_off() {
    let q = Rc::new(Queue::new(0));
    let getters: Vec<_> = (0..4)
        .map(|i| {
            let q = q.clone();
            spawn(async move { (i, q.get().await.unwrap()) })
        })
        .collect();
    settle().await;
    assert_eq!(q.getters(), 4);
    for x in 10..14 {
        q.put_nowait(x).unwrap();
    }
    // Handed straight to the waiters: nothing sits in the queue.
    assert_eq!(q.qsize(), 0);
    assert_eq!(q.get_nowait(), Err(GetError::Empty));
    let got: Vec<_> = joinall(getters).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(got, [(0, 10), (1, 11), (2, 12), (3, 13)]);
}

#[sprout::test]
async fn a_killed_getter_passes_its_item_on() {
    let q = Rc::new(Queue::new(0));
    let first = spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    let second = spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    settle().await;
    q.put_nowait("only").unwrap(); // handed to `first`...
    first.kill(); // ...which dies before it runs
    assert_eq!(second.await.unwrap(), Ok("only"));
    // With no other getter, the item goes back into the queue.
    let third = spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    settle().await;
    q.put_nowait("again").unwrap();
    third.kill();
    assert_eq!(q.get_nowait(), Ok("again"));
}

#[sprout::test]
async fn a_timed_out_getter_loses_nothing() {
    let q = Rc::new(Queue::new(0));
    let producer = spawn({
        let q = q.clone();
        async move {
            for i in 0..100 {
                q.put(i).await.unwrap();
                if i % 7 == 0 {
                    sleep(Duration::from_millis(1)).await;
                }
            }
            q.close();
        }
    });
    let mut got = Vec::new();
    loop {
        match q.get_timeout(Duration::from_micros(300)).await {
            Ok(x) => got.push(x),
            Err(GetError::Empty) => {}
            Err(GetError::Closed) => break,
        }
    }
    producer.await.unwrap();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

#[sprout::test]
async fn close_drains_then_reports_closed() {
    let q = Rc::new(Queue::new(2));
    q.put(1).await.unwrap();
    q.put(2).await.unwrap();
    let blocked = spawn({
        let q = q.clone();
        async move { q.put(3).await }
    });
    settle().await;
    q.close();
    assert_eq!(blocked.await.unwrap(), Err(Closed(3)), "the waiting putter gets its item back");
    assert_eq!(q.put_nowait(4), Err(PutError::Closed(4)));
    assert_eq!(q.get().await, Ok(1));
    assert_eq!(q.get().await, Ok(2));
    assert_eq!(q.get().await, Err(Closed(())));
    assert_eq!(q.get_nowait(), Err(GetError::Closed));
    // A getter waiting at close time is woken with Closed.
    let q2 = Rc::new(Queue::<u8>::new(0));
    let waiting = spawn({
        let q2 = q2.clone();
        async move { q2.get().await }
    });
    settle().await;
    q2.close();
    assert_eq!(waiting.await.unwrap(), Err(Closed(())));
}

#[sprout::test]
async fn task_done_and_join() {
    let q = Rc::new(Queue::new(0));
    q.join().await; // nothing put: returns at once
    assert!(q.task_done().is_err(), "more task_done than puts");
    for i in 0..5 {
        q.put(i).await.unwrap();
    }
    let done = Rc::new(Cell::new(0));
    let worker = spawn({
        let (q, done) = (q.clone(), done.clone());
        async move {
            while let Ok(_item) = q.get().await {
                sleep(Duration::from_millis(1)).await;
                done.set(done.get() + 1);
                q.task_done().unwrap();
            }
        }
    });
    assert_eq!(q.unfinished_tasks(), 5);
    q.join().await;
    assert_eq!(done.get(), 5, "join returned only after every task_done");
    q.close();
    worker.await.unwrap();
}

#[sprout::test]
async fn stream_ends_at_close() {
    let q = Rc::new(Queue::new(3));
    let producer = spawn({
        let q = q.clone();
        async move {
            for i in 0..10 {
                q.put(i).await.unwrap();
            }
            q.close();
        }
    });
    let items: Vec<u32> = q.stream().collect().await;
    assert_eq!(items, (0..10).collect::<Vec<_>>());
    producer.await.unwrap();
}

#[sprout::test]
async fn channel_is_a_rendezvous() {
    let ch = Rc::new(Channel::new());
    assert!(ch.full() && ch.empty());
    assert_eq!(ch.put_nowait("early"), Err(PutError::Full("early")));
    assert_eq!(ch.get_nowait(), Err(GetError::Empty));
    let putter = spawn({
        let ch = ch.clone();
        async move {
            let start = Instant::now();
            ch.put("hello").await.unwrap();
            start.elapsed()
        }
    });
    settle().await;
    assert_eq!(ch.putters(), 1);
    sleep(Duration::from_millis(3)).await;
    assert_eq!(ch.get().await, Ok("hello"));
    assert!(putter.await.unwrap() >= Duration::from_millis(3), "put waited for the get");
    // A put with a getter waiting completes at once.
    let getter = spawn({
        let ch = ch.clone();
        async move { ch.get().await }
    });
    settle().await;
    ch.put_nowait("now").unwrap();
    assert_eq!(getter.await.unwrap(), Ok("now"));
}

#[sprout::test]
async fn a_ready_queue_does_not_starve_the_loop() {
    let q = Rc::new(Queue::new(0));
    for i in 0..10_000 {
        q.put_nowait(i).unwrap();
    }
    let ticks = Rc::new(Cell::new(0u32));
    let ticker = spawn({
        let ticks = ticks.clone();
        async move {
            loop {
                ticks.set(ticks.get() + 1);
                // Back of the run queue at once (`yield_now` would wait
                // for the next I/O poll, after this whole batch).
                let mut again = false;
                std::future::poll_fn(|cx| {
                    if std::mem::replace(&mut again, true) {
                        return std::task::Poll::Ready(());
                    }
                    cx.waker().wake_by_ref();
                    std::task::Poll::Pending
                })
                .await;
            }
        }
    });
    let consumer = spawn({
        let (q, ticks) = (q.clone(), ticks.clone());
        async move {
            let mut seen_ticks_midway = 0;
            for n in 0..10_000 {
                q.get().await.unwrap();
                if n == 9_999 {
                    seen_ticks_midway = ticks.get();
                }
            }
            seen_ticks_midway
        }
    });
    // The consumer never waits, yet the ticker ran while it drained.
    assert!(consumer.await.unwrap() > 1);
    ticker.kill();
}

#[test]
fn dropped_items_are_dropped_once() {
    struct Counted(Rc<Cell<u32>>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    run(async {
        let drops = Rc::new(Cell::new(0));
        let q = Rc::new(Queue::new(1));
        q.put(Counted(drops.clone())).await.ok().unwrap();
        // A putter killed while waiting drops its item, once.
        let putter = spawn({
            let (q, drops) = (q.clone(), drops.clone());
            async move { q.put(Counted(drops)).await.is_ok() }
        });
        settle().await;
        putter.kill();
        assert_eq!(drops.get(), 1);
        drop(q.get().await.ok().unwrap());
        assert_eq!(drops.get(), 2);
        // Items still queued are dropped with the queue.
        q.put(Counted(drops.clone())).await.ok().unwrap();
        drop(q);
        assert_eq!(drops.get(), 3);
    });
}
