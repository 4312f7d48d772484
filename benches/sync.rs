//! The sync and queue benchmark: sprout's runtime-local queues, semaphore,
//! lock, event, broadcast, rwlock, notify, cancel token and `select!`
//! against tokio::sync, tokio-util's `CancellationToken` and
//! `tokio::select!` (on a current_thread runtime) and the smol family
//! (async-channel, async-lock, async-broadcast, event-listener and
//! `future::race` on smol's LocalExecutor), in one run.
//!
//! ```text
//! taskset -c 0 cargo bench --bench sync              # all workloads, medians of 3
//! taskset -c 0 cargo bench --bench sync -- ping      # workloads whose name contains "ping"
//! ```
//!
//! The "tokio" column is tokio::sync (`mpsc`, `Semaphore`, `Mutex`,
//! `Notify`, `broadcast`, `RwLock`); the "smol" column is `async-channel`
//! (queues), `async-lock` (`Semaphore`, `Mutex`, `RwLock`),
//! `async-broadcast` and `event-listener` (events). Each measurement runs
//! in a fresh child process; the table shows medians and ratios (peer time
//! / sprout time). The workloads of the tokio-shaped primitives are in
//! `sync/tokio_shaped.rs`.

mod support;
#[path = "sync/tokio_shaped.rs"]
mod tokio_shaped;

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::Instant;

use support::{Measure, Peer, Workload};

/// Items sent through the throughput workloads.
const ITEMS: usize = 1_000_000;
/// Round trips in the ping-pong (two hops each).
const ROUNDS: usize = 500_000;
/// Acquire/release pairs.
const OPS: usize = 1_000_000;
/// Capacity of the bounded throughput queue.
const BOUND: usize = 64;

fn main() {
    let workloads = [
        Workload { name: "queue_unbounded", unit: "ns/item", goal: "put/get throughput", run: queue_unbounded },
        Workload { name: "queue_bounded64", unit: "ns/item", goal: "put/get throughput", run: queue_bounded },
        Workload { name: "ping_pong", unit: "ns/hop", goal: "<= 65 ns, >= 2x tokio mpsc(1)", run: ping_pong },
        Workload { name: "semaphore", unit: "ns/op", goal: "acquire + release, uncontended", run: semaphore },
        Workload {
            name: "lock_ping_pong",
            unit: "ns/handoff",
            goal: "two tasks, lock held across a switch",
            run: lock,
        },
        Workload {
            name: "event_ping_pong",
            unit: "ns/hop",
            goal: "two tasks signal each other through two events",
            run: event,
        },
        Workload {
            name: "broadcast_10k",
            unit: "ns/delivery",
            goal: ">= 2x tokio broadcast (10,000 subscribers)",
            run: tokio_shaped::broadcast,
        },
        Workload {
            name: "rwlock_read",
            unit: "ns/op",
            goal: ">= 3x tokio, uncontended",
            run: tokio_shaped::rwlock_read,
        },
        Workload {
            name: "notify_round_trip",
            unit: "ns/round",
            goal: ">= 3x tokio Notify",
            run: tokio_shaped::notify_round_trip,
        },
        Workload {
            name: "cancel_round_trip",
            unit: "ns/round",
            goal: "a fresh token, a cancelled() wait, a cancel that wakes it",
            run: |peer| cancel(peer, false),
        },
        Workload {
            name: "cancel_round_trip_threadsafe",
            unit: "ns/round",
            goal: "the same, sprout's thread-safe token",
            run: |peer| cancel(peer, true),
        },
        Workload {
            name: "select_two_ready",
            unit: "ns/select",
            goal: "unbiased select of two ready futures",
            run: select,
        },
    ];
    support::main("sync", &workloads);
}

fn per(start: Instant, n: usize) -> Measure {
    Measure::Value(start.elapsed().as_nanos() as f64 / n as f64)
}

/// One producer task puts `ITEMS` items, one consumer task gets them.
fn throughput(peer: Peer, bound: Option<usize>) -> Measure {
    match peer {
        Peer::Sprout => sprout::run(async move {
            let q = Rc::new(sprout::queue::Queue::new(bound.unwrap_or(0)));
            let start = Instant::now();
            let producer = sprout::spawn({
                let q = q.clone();
                async move {
                    for i in 0..ITEMS {
                        q.put(i).await.unwrap();
                    }
                }
            });
            let consumer = sprout::spawn(async move {
                for _ in 0..ITEMS {
                    std::hint::black_box(q.get().await.unwrap());
                }
            });
            producer.await.unwrap();
            consumer.await.unwrap();
            per(start, ITEMS)
        }),
        Peer::Tokio => tokio_rt().block_on(async move {
            let start = Instant::now();
            let (producer, consumer) = match bound {
                Some(n) => {
                    let (tx, mut rx) = tokio::sync::mpsc::channel(n);
                    let p = tokio::spawn(async move {
                        for i in 0..ITEMS {
                            tx.send(i).await.unwrap();
                        }
                    });
                    let c = tokio::spawn(async move {
                        for _ in 0..ITEMS {
                            std::hint::black_box(rx.recv().await.unwrap());
                        }
                    });
                    (p, c)
                }
                None => {
                    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                    let p = tokio::spawn(async move {
                        for i in 0..ITEMS {
                            tx.send(i).unwrap();
                        }
                    });
                    let c = tokio::spawn(async move {
                        for _ in 0..ITEMS {
                            std::hint::black_box(rx.recv().await.unwrap());
                        }
                    });
                    (p, c)
                }
            };
            producer.await.unwrap();
            consumer.await.unwrap();
            per(start, ITEMS)
        }),
        Peer::Smol => smol_run(|ex| async move {
            let (tx, rx) = match bound {
                Some(n) => async_channel::bounded(n),
                None => async_channel::unbounded(),
            };
            let start = Instant::now();
            let producer = ex.spawn(async move {
                for i in 0..ITEMS {
                    tx.send(i).await.unwrap();
                }
            });
            let consumer = ex.spawn(async move {
                for _ in 0..ITEMS {
                    std::hint::black_box(rx.recv().await.unwrap());
                }
            });
            producer.await;
            consumer.await;
            per(start, ITEMS)
        }),
    }
}

fn queue_unbounded(peer: Peer) -> Measure {
    throughput(peer, None)
}

fn queue_bounded(peer: Peer) -> Measure {
    throughput(peer, Some(BOUND))
}

/// Two tasks bounce a number through two queues of capacity 1.
fn ping_pong(peer: Peer) -> Measure {
    let hops = 2 * ROUNDS;
    match peer {
        Peer::Sprout => sprout::run(async move {
            use sprout::queue::Queue;
            let (ping, pong) = (Rc::new(Queue::new(1)), Rc::new(Queue::new(1)));
            let start = Instant::now();
            let a = sprout::spawn({
                let (ping, pong) = (ping.clone(), pong.clone());
                async move {
                    for i in 0..ROUNDS {
                        ping.put(i).await.unwrap();
                        std::hint::black_box(pong.get().await.unwrap());
                    }
                }
            });
            let b = sprout::spawn(async move {
                for _ in 0..ROUNDS {
                    let v = ping.get().await.unwrap();
                    pong.put(v + 1).await.unwrap();
                }
            });
            a.await.unwrap();
            b.await.unwrap();
            per(start, hops)
        }),
        Peer::Tokio => tokio_rt().block_on(async move {
            let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel(1);
            let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel(1);
            let start = Instant::now();
            let a = tokio::spawn(async move {
                for i in 0..ROUNDS {
                    ping_tx.send(i).await.unwrap();
                    std::hint::black_box(pong_rx.recv().await.unwrap());
                }
            });
            let b = tokio::spawn(async move {
                for _ in 0..ROUNDS {
                    let v = ping_rx.recv().await.unwrap();
                    pong_tx.send(v + 1).await.unwrap();
                }
            });
            a.await.unwrap();
            b.await.unwrap();
            per(start, hops)
        }),
        Peer::Smol => smol_run(|ex| async move {
            let (ping_tx, ping_rx) = async_channel::bounded(1);
            let (pong_tx, pong_rx) = async_channel::bounded(1);
            let start = Instant::now();
            let a = ex.spawn(async move {
                for i in 0..ROUNDS {
                    ping_tx.send(i).await.unwrap();
                    std::hint::black_box(pong_rx.recv().await.unwrap());
                }
            });
            let b = ex.spawn(async move {
                for _ in 0..ROUNDS {
                    let v = ping_rx.recv().await.unwrap();
                    pong_tx.send(v + 1).await.unwrap();
                }
            });
            a.await;
            b.await;
            per(start, hops)
        }),
    }
}

/// One task takes and gives back a permit `OPS` times.
fn semaphore(peer: Peer) -> Measure {
    match peer {
        Peer::Sprout => sprout::run(async {
            let sem = Rc::new(sprout::sync::Semaphore::new(4));
            let task = sprout::spawn(async move {
                let start = Instant::now();
                for _ in 0..OPS {
                    drop(std::hint::black_box(sem.acquire().await.unwrap()));
                }
                per(start, OPS)
            });
            task.await.unwrap()
        }),
        Peer::Tokio => tokio_rt().block_on(async {
            let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(4));
            let task = tokio::spawn(async move {
                let start = Instant::now();
                for _ in 0..OPS {
                    drop(std::hint::black_box(sem.acquire().await.unwrap()));
                }
                per(start, OPS)
            });
            task.await.unwrap()
        }),
        Peer::Smol => smol_run(|ex| async move {
            let sem = Rc::new(async_lock::Semaphore::new(4));
            let task = ex.spawn(async move {
                let start = Instant::now();
                for _ in 0..OPS {
                    drop(std::hint::black_box(sem.acquire().await));
                }
                per(start, OPS)
            });
            task.await
        }),
    }
}

/// Goes to the back of the run queue once: wakes itself and returns
/// `Pending`. Unlike each runtime's `yield_now` (which waits for the next
/// I/O poll in sprout and tokio), it costs the same everywhere: one
/// requeue and one poll.
fn bounce() -> impl Future<Output = ()> {
    let mut bounced = false;
    std::future::poll_fn(move |cx| {
        if std::mem::replace(&mut bounced, true) {
            return std::task::Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
}

/// Two tasks take a lock in turn, each holding it across a `bounce`, so
/// that every acquisition waits for the other task's release (all three
/// mutexes are fair enough for that: each hand-off is a switch).
fn lock(peer: Peer) -> Measure {
    let rounds = OPS / 2;
    match peer {
        Peer::Sprout => sprout::run(async move {
            let lock = Rc::new(sprout::sync::Lock::new(0u64));
            let start = Instant::now();
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let lock = lock.clone();
                    sprout::spawn(async move {
                        for _ in 0..rounds {
                            let mut n = lock.lock().await;
                            *n += 1;
                            bounce().await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(*lock.lock().await, OPS as u64);
            per(start, OPS)
        }),
        Peer::Tokio => tokio_rt().block_on(async move {
            let lock = std::sync::Arc::new(tokio::sync::Mutex::new(0u64));
            let start = Instant::now();
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let lock = lock.clone();
                    tokio::spawn(async move {
                        for _ in 0..rounds {
                            let mut n = lock.lock().await;
                            *n += 1;
                            bounce().await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(*lock.lock().await, OPS as u64);
            per(start, OPS)
        }),
        Peer::Smol => smol_run(|ex| async move {
            let lock = Rc::new(async_lock::Mutex::new(0u64));
            let start = Instant::now();
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let lock = lock.clone();
                    ex.spawn(async move {
                        for _ in 0..rounds {
                            let mut n = lock.lock().await;
                            *n += 1;
                            bounce().await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await;
            }
            assert_eq!(*lock.lock().await, OPS as u64);
            per(start, OPS)
        }),
    }
}

/// Two tasks signal each other through two events, `ROUNDS` round trips:
/// each hop is a `set` that wakes the other task's `wait`, then a `clear`.
/// tokio's peer is `Notify` (`notify_one` stores a permit), the smol
/// family's an `event_listener::Event` over a flag, its documented pattern.
fn event(peer: Peer) -> Measure {
    let hops = ROUNDS * 2;
    match peer {
        Peer::Sprout => sprout::run(async move {
            let (ping, pong) = (Rc::new(sprout::sync::Event::new()), Rc::new(sprout::sync::Event::new()));
            let start = Instant::now();
            let a = sprout::spawn({
                let (ping, pong) = (ping.clone(), pong.clone());
                async move {
                    for _ in 0..ROUNDS {
                        ping.set();
                        pong.wait().await;
                        pong.clear();
                    }
                }
            });
            let b = sprout::spawn(async move {
                for _ in 0..ROUNDS {
                    ping.wait().await;
                    ping.clear();
                    pong.set();
                }
            });
            a.await.unwrap();
            b.await.unwrap();
            per(start, hops)
        }),
        Peer::Tokio => tokio_rt().block_on(async move {
            use std::sync::Arc;
            let (ping, pong) = (Arc::new(tokio::sync::Notify::new()), Arc::new(tokio::sync::Notify::new()));
            let start = Instant::now();
            let a = tokio::spawn({
                let (ping, pong) = (ping.clone(), pong.clone());
                async move {
                    for _ in 0..ROUNDS {
                        ping.notify_one();
                        pong.notified().await;
                    }
                }
            });
            let b = tokio::spawn(async move {
                for _ in 0..ROUNDS {
                    ping.notified().await;
                    pong.notify_one();
                }
            });
            a.await.unwrap();
            b.await.unwrap();
            per(start, hops)
        }),
        Peer::Smol => smol_run(|ex| async move {
            let (ping, pong) = (Rc::new(FlagEvent::default()), Rc::new(FlagEvent::default()));
            let start = Instant::now();
            let a = ex.spawn({
                let (ping, pong) = (ping.clone(), pong.clone());
                async move {
                    for _ in 0..ROUNDS {
                        ping.set();
                        pong.wait_and_clear().await;
                    }
                }
            });
            let b = ex.spawn(async move {
                for _ in 0..ROUNDS {
                    ping.wait_and_clear().await;
                    pong.set();
                }
            });
            a.await;
            b.await;
            per(start, hops)
        }),
    }
}

/// Cancel-token round trips: each round one task makes a fresh token,
/// hands a clone to a canceller task and waits on `cancelled()`; the
/// canceller (which yields while it has nothing to cancel) cancels it,
/// waking the first. Per round: a token made and dropped, a wait
/// registered, a cancel and its wake, a yield, two switches. Both are
/// spawned tasks on every peer, so no executor's special treatment of its
/// main future counts. tokio's peer is tokio-util's `CancellationToken` (on
/// a `LocalSet`, so the hand-over cell is an `Rc` on every side); smol has
/// no token, so its peer is the family's flag-and-`event_listener::Event`
/// pattern. `threadsafe` runs sprout's thread-safe token instead of the
/// runtime-local one.
fn cancel(peer: Peer, threadsafe: bool) -> Measure {
    match peer {
        Peer::Sprout if threadsafe => sprout::run(cancel_rounds(
            sprout::sync::threadsafe::CancelToken::new,
            |t: &sprout::sync::threadsafe::CancelToken| t.cancel(),
            |t| async move { t.cancelled().await },
            |f| {
                let task = sprout::spawn(f);
                Box::pin(async move { task.await.unwrap() })
            },
            sprout::yield_now,
        )),
        Peer::Sprout => sprout::run(cancel_rounds(
            sprout::CancelToken::new,
            |t: &sprout::CancelToken| t.cancel(),
            |t| async move { t.cancelled().await },
            |f| {
                let task = sprout::spawn(f);
                Box::pin(async move { task.await.unwrap() })
            },
            sprout::yield_now,
        )),
        Peer::Tokio => {
            let local = tokio::task::LocalSet::new();
            tokio_rt().block_on(local.run_until(cancel_rounds(
                tokio_util::sync::CancellationToken::new,
                |t: &tokio_util::sync::CancellationToken| t.cancel(),
                |t| async move { t.cancelled().await },
                |f| {
                    let task = tokio::task::spawn_local(f);
                    Box::pin(async move { task.await.unwrap() })
                },
                tokio::task::yield_now,
            )))
        }
        Peer::Smol => smol_run(|ex| {
            cancel_rounds(
                || Rc::new(FlagEvent::default()),
                |t: &Rc<FlagEvent>| t.set(),
                |t| async move { t.wait_and_clear().await },
                |f| Box::pin(ex.spawn(f)),
                smol::future::yield_now,
            )
        }),
    }
}

/// A boxed task body, or the future of its output.
type Boxed<'a> = std::pin::Pin<Box<dyn Future<Output = f64> + 'a>>;

/// The body of [`cancel`], over one peer's token, spawn (which starts the
/// task at once and returns the future of its output) and yield.
async fn cancel_rounds<'a, T, W, Y>(
    new: impl Fn() -> T + 'static,
    cancel: impl Fn(&T) + 'static,
    wait: impl Fn(T) -> W + 'static,
    spawn: impl Fn(Boxed<'static>) -> Boxed<'a>,
    yield_now: impl Fn() -> Y + 'static,
) -> Measure
where
    T: Clone + 'static,
    W: Future<Output = ()>,
    Y: Future<Output = ()>,
{
    let slot: Rc<RefCell<Option<T>>> = Rc::default();
    let canceller = spawn(Box::pin({
        let slot = slot.clone();
        async move {
            for _ in 0..ROUNDS {
                loop {
                    let token = slot.borrow_mut().take();
                    match token {
                        Some(token) => break cancel(&token),
                        None => yield_now().await,
                    }
                }
            }
            0.0
        }
    }));
    let waiter = spawn(Box::pin(async move {
        let start = Instant::now();
        for _ in 0..ROUNDS {
            let token = new();
            *slot.borrow_mut() = Some(token.clone());
            wait(token).await;
        }
        start.elapsed().as_nanos() as f64 / ROUNDS as f64
    }));
    let per_round = waiter.await;
    canceller.await;
    Measure::Value(per_round)
}

/// An unbiased select of two futures that are ready at once, `OPS`
/// times: what the macro and its pseudo-random start cost. tokio's peer is
/// `tokio::select!` (unbiased by default), smol's `future::race` (which
/// picks at random too).
fn select(peer: Peer) -> Measure {
    use std::future::ready;
    use std::hint::black_box;
    match peer {
        Peer::Sprout => sprout::run(async {
            let start = Instant::now();
            let mut sum = 0usize;
            for i in 0..OPS {
                sum += sprout::select! {
                    a = ready(black_box(i)) => a,
                    b = ready(black_box(i ^ 1)) => b,
                };
            }
            black_box(sum);
            per(start, OPS)
        }),
        Peer::Tokio => tokio_rt().block_on(async {
            let start = Instant::now();
            let mut sum = 0usize;
            for i in 0..OPS {
                sum += tokio::select! {
                    a = ready(black_box(i)) => a,
                    b = ready(black_box(i ^ 1)) => b,
                };
            }
            black_box(sum);
            per(start, OPS)
        }),
        Peer::Smol => smol_run(|_| async {
            let start = Instant::now();
            let mut sum = 0usize;
            for i in 0..OPS {
                sum += smol::future::race(ready(black_box(i)), ready(black_box(i ^ 1))).await;
            }
            black_box(sum);
            per(start, OPS)
        }),
    }
}

/// A flag with an `event_listener::Event`: the smol family's event.
#[derive(Default)]
struct FlagEvent {
    flag: std::cell::Cell<bool>,
    event: event_listener::Event,
}

impl FlagEvent {
    fn set(&self) {
        self.flag.set(true);
        self.event.notify(usize::MAX);
    }

    async fn wait_and_clear(&self) {
        loop {
            if self.flag.replace(false) {
                return;
            }
            let listener = self.event.listen();
            if self.flag.replace(false) {
                return;
            }
            listener.await;
        }
    }
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn smol_run<'a, F, Fut>(f: F) -> Fut::Output
where
    F: FnOnce(&'a smol::LocalExecutor<'a>) -> Fut,
    Fut: Future + 'a,
{
    let ex: &'a smol::LocalExecutor<'a> = Box::leak(Box::new(smol::LocalExecutor::new()));
    smol::block_on(ex.run(f(ex)))
}
