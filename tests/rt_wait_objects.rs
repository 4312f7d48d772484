//! `wait_any`, `wait_objects`, `iwait_objects` (issue 20, item 5): every
//! kind of `Waitable` (join handles, events, async results, tokens, queue
//! readiness, socket readiness, any future), counts, time limits and
//! deadlines, and cancellation: a dropped wait leaves no waker behind.

mod support;

use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt;
use sprout::net::UdpSocket;
use sprout::queue::{Channel, Queue};
use sprout::sync::{AsyncResult, CancelToken, Event, threadsafe};
use sprout::{Waitable, deadline_after, iwait_objects, sleep, spawn, time, wait_any, wait_objects, yield_now};
use support::{FlagWaker, pair, within};

/// Polls `fut` once with `waker` from inside the runtime (the registration
/// must happen on the runtime thread), then drops it; whether it was
/// pending. (The first poll of many objects may wake `waker` itself: a
/// `FuturesUnordered` yields after polling each of them once.)
async fn poll_once_then_drop<F: Future>(fut: F, waker: &FlagWaker) -> bool {
    let mut fut = pin!(fut);
    fut.as_mut().poll(&mut Context::from_waker(&waker.waker())).is_pending()
}

#[sprout::test]
async fn each_kind_reports_ready_and_keeps_what_it_holds() {
    // A task: finished, and its result still in the handle.
    let mut task = spawn(async {
        yield_now().await;
        7
    });
    let never = Event::new();
    assert_eq!(wait_any(&[&never as &dyn Waitable, &task]).await, 1);
    assert_eq!(task.try_join().unwrap().unwrap(), 7);

    // An event, an async result (the result stays), tokens of both flavours.
    let event = Rc::new(Event::new());
    let result: Rc<AsyncResult<u8, ()>> = Rc::new(AsyncResult::new());
    let local = CancelToken::new();
    let shared = threadsafe::CancelToken::new();
    let objects: [&dyn Waitable; 4] = [&*event, &*result, &local, &shared];
    spawn({
        let (event, result) = (event.clone(), result.clone());
        async move {
            result.set(Ok(3));
            yield_now().await;
            event.set();
        }
    });
    let canceller = std::thread::spawn({
        let shared = shared.clone();
        move || shared.cancel()
    });
    local.cancel();
    let mut ready = wait_objects(&objects, None, None).await;
    ready.sort();
    assert_eq!(ready, [0, 1, 2, 3]);
    assert_eq!(result.get().await, Ok(3), "the result is still there");
    canceller.join().unwrap();
}

/// Paused, under `within`: a lost wake fails at once (20 virtual seconds)
/// instead of hanging (the waits are not all ones the deadlock check sees).
#[sprout::test(paused)]
async fn queue_readiness_takes_nothing_and_wakes_every_watcher() {
    within(queue_readiness()).await;
}

async fn queue_readiness() {
    let q: Rc<Queue<u8>> = Rc::new(Queue::new(1));
    // Three tasks watch for an item; one put wakes them all (it stays put).
    let watchers: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            spawn(async move { wait_any(&[&|| q.readable()]).await })
        })
        .collect();
    yield_now().await;
    q.put_nowait(5).unwrap();
    for w in watchers {
        assert_eq!(w.await.unwrap(), 0);
    }
    assert_eq!(q.qsize(), 1, "readiness took nothing");
    // Full: writable only once a get makes room.
    let writer = spawn({
        let q = q.clone();
        async move { q.writable().await }
    });
    yield_now().await;
    assert!(!writer.is_finished());
    assert_eq!(q.get_nowait().unwrap(), 5);
    writer.await.unwrap();

    // A watcher woken for an item another task took first waits again.
    let watcher = spawn({
        let q = q.clone();
        async move { q.readable().await }
    });
    yield_now().await;
    q.put_nowait(1).unwrap();
    assert_eq!(q.get_nowait().unwrap(), 1); // taken before the watcher runs
    yield_now().await;
    assert!(!watcher.is_finished(), "nothing to read: still waiting");
    q.put_nowait(2).unwrap();
    watcher.await.unwrap();

    // A channel: readable when a putter waits, writable when a getter does.
    let ch: Rc<Channel<u8>> = Rc::new(Channel::new());
    let putter = spawn({
        let ch = ch.clone();
        async move { ch.put(9).await }
    });
    ch.readable().await;
    assert_eq!(ch.get_nowait().unwrap(), 9);
    putter.await.unwrap().unwrap();
    let getter = spawn({
        let ch = ch.clone();
        async move { ch.get().await }
    });
    ch.writable().await;
    ch.put_nowait(4).unwrap();
    assert_eq!(getter.await.unwrap().unwrap(), 4);
    // Closed: both sides ready (a get or a put would not block).
    let q: Queue<u8> = Queue::new(1);
    q.put_nowait(0).unwrap();
    q.close();
    q.writable().await;
    let empty: Queue<u8> = Queue::new(0);
    empty.close();
    empty.readable().await;
}

#[test]
fn thread_safe_queue_readiness_from_another_thread() {
    let q = std::sync::Arc::new(sprout::queue::threadsafe::Queue::<u8>::new(0));
    sprout::run(async {
        let putter = std::thread::spawn({
            let q = q.clone();
            move || q.put_blocking(1).unwrap()
        });
        let objects: [&dyn Waitable; 1] = [&|| q.readable()];
        assert_eq!(wait_objects(&objects, None, None).await, [0]);
        assert_eq!(q.get_nowait().unwrap(), 1);
        putter.join().unwrap();
    });
}

#[sprout::test]
async fn socket_readiness_and_any_future() {
    let (client, server) = pair().await;
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // Writable at once; readable once data comes.
    let objects: [&dyn Waitable; 3] = [&|| server.readable(), &|| client.writable(), &|| udp.readable()];
    assert_eq!(wait_any(&objects).await, 1);
    sender.send_to(b"ping", udp.local_addr().unwrap()).await.unwrap();
    let objects: [&dyn Waitable; 2] = [&|| server.readable(), &|| udp.readable()];
    assert_eq!(wait_any(&objects).await, 1);
    let mut buf = [0; 4];
    assert_eq!(udp.recv(&mut buf).await.unwrap(), 4, "readiness read nothing");
    client.write_all(b"hi").await.unwrap();
    let objects: [&dyn Waitable; 2] = [&|| server.readable(), &|| sleep(Duration::from_secs(60))];
    assert_eq!(wait_any(&objects).await, 0);
}

#[sprout::test(paused)]
async fn counts_time_limits_order_and_deadlines() {
    let tasks: Vec<_> = [3u64, 1, 2].iter().map(|&s| spawn(sleep(Duration::from_secs(s)))).collect();
    let never = Event::new();
    let objects: [&dyn Waitable; 4] = [&tasks[0], &tasks[1], &tasks[2], &never];
    // The order they became ready; a count above the length is the length.
    let start = time::now();
    assert_eq!(wait_objects(&objects[..3], Some(10), None).await, [1, 2, 0]);
    assert_eq!(time::now() - start, Duration::from_secs(3));
    // Count: the first two ready (all three are by now).
    assert_eq!(wait_objects(&objects, Some(2), None).await.len(), 2);
    // A time limit: the ready ones, then stop.
    let start = time::now();
    let ready = wait_objects(&objects, None, Some(Duration::from_secs(5))).await;
    assert_eq!((ready.len(), time::now() - start), (3, Duration::from_secs(5)));
    // A current deadline ends it like a time limit.
    let start = time::now();
    let ready = deadline_after(Duration::from_secs(2), wait_objects(&objects[3..], None, None)).await.unwrap();
    assert_eq!((ready, time::now() - start), (vec![], Duration::from_secs(2)));
    // iwait_objects: one at a time, in order; ends after the time limit.
    let later: Vec<_> = [2u64, 1].iter().map(|&s| spawn(sleep(Duration::from_secs(s)))).collect();
    let objects: [&dyn Waitable; 3] = [&later[0], &later[1], &never];
    let mut stream = iwait_objects(&objects, Some(Duration::from_secs(10)));
    assert_eq!(stream.remaining(), 3);
    assert_eq!(stream.next().await, Some(1));
    assert_eq!(stream.next().await, Some(0));
    assert_eq!(stream.next().await, None);
    assert_eq!(stream.remaining(), 0);
}

#[test]
#[should_panic(expected = "wait_any: no objects to wait on")]
fn wait_any_on_nothing_panics() {
    sprout::run(async {
        wait_any(&[]).await;
    });
}

/// A wait dropped before it ends leaves no waker that fires later, for
/// every kind (a socket's may fire once, at the next event, then is gone:
/// see `io::Waiter`).
#[sprout::test]
async fn a_dropped_wait_leaves_nothing_behind() {
    let event = Event::new();
    let q: Queue<u8> = Queue::new(1);
    let token = CancelToken::new();
    let task = spawn(async {
        yield_now().await;
        yield_now().await;
    });
    let w = FlagWaker::new();
    q.put_nowait(0).unwrap(); // full: not writable
    let objects: [&dyn Waitable; 4] = [&event, &|| q.writable(), &token, &task];
    // Each object's own wait, polled with `w` and dropped...
    for object in objects {
        assert!(poll_once_then_drop(object.ready(), &w).await);
    }
    // ...and all of them under one `wait_objects`.
    assert!(poll_once_then_drop(wait_objects(&objects, None, None), &w).await);
    let after_drop = w.wakes();
    assert_eq!(event.waiters(), 0);
    event.set();
    token.cancel();
    q.get_nowait().unwrap(); // room: would wake a writer
    task.await.unwrap(); // finished: would wake a watcher of the task
    assert_eq!(w.wakes(), after_drop, "no waker of a dropped wait fired");

    // Two waits on one handle with one waker: dropping one keeps the other's wake.
    let task = spawn(async {
        yield_now().await;
    });
    let first = FlagWaker::new();
    let mut kept = task.ready();
    let mut dropped = task.ready();
    let waker = first.waker();
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut kept).poll(&mut cx).is_pending());
    assert!(Pin::new(&mut dropped).poll(&mut cx).is_pending());
    drop(dropped);
    while !task.is_finished() {
        yield_now().await;
    }
    assert_eq!(first.wakes(), 1, "the remaining wait was woken");
    assert_eq!(Pin::new(&mut kept).poll(&mut cx), Poll::Ready(()));
}
