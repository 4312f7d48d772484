//! Conservation under real time-outs and kills: producers retrying
//! `put_timeout`, consumers using `get_timeout`, some of them killed while
//! they wait, on a real runtime (and, for the thread-safe queue, with OS
//! threads on one side). Every item accepted by the queue is received
//! exactly once or is still in the queue at the end.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use sprout::queue::{GetError, PutError, Queue};
use sprout::{joinall, run, spawn};

/// Back of the run queue at once (`yield_now` would wait for an I/O poll).
async fn bounce() {
    let mut again = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut again, true) {
            return std::task::Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await
}

#[derive(Clone, Debug)]
struct Plan {
    cap: usize,
    producers: Vec<Vec<u16>>, // per put: a time-out in microseconds (0: put_nowait)
    consumers: Vec<Vec<u16>>, // per get: a time-out in microseconds
    kill: Vec<Option<u8>>,    // per consumer: killed after that many switches of the main task
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        0..3usize,
        prop::collection::vec(prop::collection::vec(0..1500u16, 1..16), 1..4),
        prop::collection::vec(prop::collection::vec(0..1500u16, 1..16), 2..6),
    )
        .prop_flat_map(|(cap, producers, consumers)| {
            let n = consumers.len();
            (Just(cap), Just(producers), Just(consumers), prop::collection::vec(prop::option::of(0..40u8), n))
        })
        .prop_map(|(cap, producers, consumers, kill)| Plan { cap, producers, consumers, kill })
}

fn run_plan(plan: Plan) {
    run(async move {
        let q = Rc::new(Queue::new(plan.cap));
        let accepted = Rc::new(RefCell::new(Vec::new()));
        let received = Rc::new(RefCell::new(Vec::new()));
        let producers: Vec<_> = plan
            .producers
            .iter()
            .enumerate()
            .map(|(p, puts)| {
                let (q, accepted, puts) = (q.clone(), accepted.clone(), puts.clone());
                spawn(async move {
                    for (i, t) in puts.into_iter().enumerate() {
                        let item = (p, i);
                        let result = if t == 0 {
                            q.put_nowait(item)
                        } else {
                            q.put_timeout(item, Duration::from_micros(u64::from(t))).await
                        };
                        match result {
                            Ok(()) => accepted.borrow_mut().push(item),
                            // A failed put hands the item back intact.
                            Err(PutError::Full(back)) => assert_eq!(back, item),
                            Err(PutError::Closed(_)) => unreachable!("never closed here"),
                        }
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = plan
            .consumers
            .iter()
            .map(|gets| {
                let (q, received, gets) = (q.clone(), received.clone(), gets.clone());
                spawn(async move {
                    for t in gets {
                        match q.get_timeout(Duration::from_micros(u64::from(t))).await {
                            Ok(item) => received.borrow_mut().push(item),
                            Err(GetError::Empty) => {}
                            Err(GetError::Closed) => unreachable!(),
                        }
                    }
                })
            })
            .collect();
        // A killer task, in the run queue with the others, kills consumers at
        // scattered points, so that some die between being handed an item
        // and running.
        let (mut doomed, spared): (Vec<_>, Vec<_>) =
            consumers.into_iter().zip(plan.kill.iter().copied()).partition(|(_, k)| k.is_some());
        doomed.sort_by_key(|(_, k)| *k);
        let killer = spawn(async move {
            let mut switches = 0;
            for (c, at) in &doomed {
                while switches < at.unwrap() {
                    bounce().await;
                    switches += 1;
                }
                c.kill();
            }
            joinall(doomed.into_iter().map(|(c, _)| c)).await;
        });
        joinall(producers).await;
        joinall(spared.into_iter().map(|(c, _)| c)).await;
        killer.await.unwrap();
        let mut left = Vec::new();
        while let Ok(item) = q.get_nowait() {
            left.push(item);
        }
        let accepted = accepted.borrow();
        let mut out: Vec<_> = received.borrow().iter().chain(&left).copied().collect();
        assert_eq!(out.len(), out.iter().collect::<HashSet<_>>().len(), "an item came out twice");
        out.sort();
        let mut accepted_sorted = accepted.clone();
        accepted_sorted.sort();
        assert_eq!(out, accepted_sorted, "accepted items and delivered items differ");
        assert_eq!(q.unfinished_tasks(), accepted.len());
        assert_eq!(sprout_runtime::probe::live_tasks(), 0);
    });
}

proptest! {
    // Real timers: keep the case count low (each case takes a few ms).
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn nothing_lost_or_doubled_under_timeouts_and_kills(plan in plan()) {
        run_plan(plan);
    }
}

/// OS threads put with time-outs while green tasks get with time-outs.
#[test]
fn threads_and_tasks_with_timeouts_conserve_items() {
    use sprout::queue::threadsafe::Queue;
    let q = Arc::new(Queue::new(2));
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..3u32)
        .map(|t| {
            let (q, accepted) = (q.clone(), accepted.clone());
            std::thread::spawn(move || {
                for i in 0..300u32 {
                    let timeout = Duration::from_micros(u64::from((i * 37 + t * 11) % 400));
                    if q.put_blocking_timeout((t, i), timeout).is_ok() {
                        accepted.lock().unwrap().push((t, i));
                    }
                }
            })
        })
        .collect();
    let received = run(async {
        let received = Rc::new(RefCell::new(Vec::new()));
        let done = Rc::new(std::cell::Cell::new(false));
        let consumers: Vec<_> = (0..3u64)
            .map(|c| {
                let (q, received, done) = (q.clone(), received.clone(), done.clone());
                spawn(async move {
                    let mut n = 0u64;
                    while !done.get() {
                        n += 1;
                        let timeout = Duration::from_micros((n * 53 + c * 7) % 500);
                        if let Ok(item) = q.get_timeout(timeout).await {
                            received.borrow_mut().push(item);
                        }
                    }
                })
            })
            .collect();
        sprout::spawn_blocking(move || threads.into_iter().for_each(|t| t.join().unwrap())).await.unwrap();
        done.set(true);
        joinall(consumers).await;
        received.take()
    });
    let mut out = received;
    while let Ok(item) = q.get_nowait() {
        out.push(item);
    }
    let mut accepted = accepted.lock().unwrap().clone();
    out.sort();
    accepted.sort();
    assert_eq!(out, accepted);
}
