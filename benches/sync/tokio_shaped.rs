//! The workloads of the tokio-shaped primitives: a broadcast to
//! ten thousand subscribers, an uncontended `RwLock` read, a `Notify`
//! round trip. Peers: tokio::sync on a current_thread runtime;
//! `async-broadcast`, `async-lock` and `event-listener` on smol's
//! `LocalExecutor`.

use std::rc::Rc;
use std::time::Instant;

use super::support::Measure;
use super::{OPS, Peer, ROUNDS, bounce, per, smol_run, tokio_rt};

/// Subscribers of the broadcast workload.
const SUBSCRIBERS: usize = 10_000;
/// Messages sent to them.
const MESSAGES: usize = 256;
/// Messages sent between two turns of the subscribers: every receiver
/// drains a burst before the next, so nobody lags.
const BURST: usize = 16;
/// The channel's capacity: room for two bursts.
const CAPACITY: usize = 2 * BURST;

/// One sender, `SUBSCRIBERS` receiver tasks, `MESSAGES` messages sent in
/// bursts of `BURST` (the sender `bounce`s behind the receivers it woke);
/// time per delivery (one message to one receiver) until every receiver
/// has seen the end.
pub(crate) fn broadcast(peer: Peer) -> Measure {
    let deliveries = SUBSCRIBERS * MESSAGES;
    match peer {
        Peer::Sprout => sprout::run(async move {
            let (tx, rx) = sprout::sync::broadcast::channel(CAPACITY);
            let receivers: Vec<_> = (0..SUBSCRIBERS)
                .map(|i| {
                    let mut rx = if i == 0 { rx.resubscribe() } else { tx.subscribe() };
                    sprout::spawn(async move {
                        let mut n = 0;
                        while let Ok(m) = rx.recv().await {
                            n += std::hint::black_box(m);
                        }
                        n
                    })
                })
                .collect();
            drop(rx);
            // A task, not the main future: a woken main future runs again
            // after a batch of tasks, before all ten thousand receivers.
            let sender = sprout::spawn(async move {
                bounce().await; // every receiver waits
                let start = Instant::now();
                for m in 0..MESSAGES {
                    tx.send(m).unwrap();
                    if m % BURST == BURST - 1 {
                        bounce().await;
                    }
                }
                start
            });
            let start = sender.await.unwrap();
            for r in receivers {
                assert_eq!(r.await.unwrap(), MESSAGES * (MESSAGES - 1) / 2, "a receiver lagged");
            }
            per(start, deliveries)
        }),
        Peer::Tokio => tokio_rt().block_on(async move {
            let (tx, rx) = tokio::sync::broadcast::channel(CAPACITY);
            let receivers: Vec<_> = (0..SUBSCRIBERS)
                .map(|i| {
                    let mut rx = if i == 0 { rx.resubscribe() } else { tx.subscribe() };
                    tokio::spawn(async move {
                        let mut n = 0;
                        while let Ok(m) = rx.recv().await {
                            n += std::hint::black_box(m);
                        }
                        n
                    })
                })
                .collect();
            drop(rx);
            let sender = tokio::spawn(async move {
                bounce().await;
                let start = Instant::now();
                for m in 0..MESSAGES {
                    tx.send(m).unwrap();
                    if m % BURST == BURST - 1 {
                        bounce().await;
                    }
                }
                start
            });
            let start = sender.await.unwrap();
            for r in receivers {
                assert_eq!(r.await.unwrap(), MESSAGES * (MESSAGES - 1) / 2, "a receiver lagged");
            }
            per(start, deliveries)
        }),
        Peer::Smol => smol_run(|ex| async move {
            let (mut tx, rx) = async_broadcast::broadcast(CAPACITY);
            tx.set_overflow(true);
            let receivers: Vec<_> = (0..SUBSCRIBERS)
                .map(|_| {
                    let mut rx = rx.clone();
                    ex.spawn(async move {
                        let mut n = 0;
                        while let Ok(m) = rx.recv().await {
                            n += std::hint::black_box(m);
                        }
                        n
                    })
                })
                .collect();
            drop(rx);
            let sender = ex.spawn(async move {
                bounce().await;
                let start = Instant::now();
                for m in 0..MESSAGES {
                    tx.try_broadcast(m).unwrap();
                    if m % BURST == BURST - 1 {
                        bounce().await;
                    }
                }
                start
            });
            let start = sender.await;
            for r in receivers {
                assert_eq!(r.await, MESSAGES * (MESSAGES - 1) / 2, "a receiver lagged");
            }
            per(start, deliveries)
        }),
    }
}

/// One task takes and drops a read guard `OPS` times, nobody else around.
pub(crate) fn rwlock_read(peer: Peer) -> Measure {
    match peer {
        Peer::Sprout => sprout::run(async {
            let lock = Rc::new(sprout::sync::RwLock::new(0u64));
            sprout::spawn(async move {
                let start = Instant::now();
                for _ in 0..OPS {
                    std::hint::black_box(*lock.read().await);
                }
                per(start, OPS)
            })
            .await
            .unwrap()
        }),
        Peer::Tokio => tokio_rt().block_on(async {
            let lock = std::sync::Arc::new(tokio::sync::RwLock::new(0u64));
            tokio::spawn(async move {
                let start = Instant::now();
                for _ in 0..OPS {
                    std::hint::black_box(*lock.read().await);
                }
                per(start, OPS)
            })
            .await
            .unwrap()
        }),
        Peer::Smol => smol_run(|ex| async move {
            let lock = Rc::new(async_lock::RwLock::new(0u64));
            ex.spawn(async move {
                let start = Instant::now();
                for _ in 0..OPS {
                    std::hint::black_box(*lock.read().await);
                }
                per(start, OPS)
            })
            .await
        }),
    }
}

/// Two tasks notify each other through two `Notify`s, `ROUNDS` round
/// trips: `notify_one` wakes the other's `notified().await`. The peers are
/// `event_ping_pong`'s (tokio's `Notify`; for the smol family, which has no
/// stored permit, an `event_listener::Event` over a flag), counted per
/// round trip: two of its hops.
pub(crate) fn notify_round_trip(peer: Peer) -> Measure {
    if peer != Peer::Sprout {
        let Measure::Value(per_hop) = super::event(peer);
        return Measure::Value(2.0 * per_hop);
    }
    sprout::run(async move {
        use sprout::sync::Notify;
        let (ping, pong) = (Rc::new(Notify::new()), Rc::new(Notify::new()));
        let start = Instant::now();
        let a = sprout::spawn({
            let (ping, pong) = (ping.clone(), pong.clone());
            async move {
                for _ in 0..ROUNDS {
                    ping.notify_one();
                    pong.notified().await;
                }
            }
        });
        let b = sprout::spawn(async move {
            for _ in 0..ROUNDS {
                ping.notified().await;
                pong.notify_one();
            }
        });
        a.await.unwrap();
        b.await.unwrap();
        per(start, ROUNDS)
    })
}
