//! The cross-core benchmark: what a message between two runtimes on two
//! threads costs. sprout's `cores::channel` and `Cores::handle(i).spawn`
//! against tokio (`mpsc::channel` and `Handle::spawn` between two
//! current_thread runtimes) and smol (`async-channel` and an `Executor`
//! driven by the other thread), in one run.
//!
//! ```text
//! cargo bench --bench cores                  # all workloads, medians of 3
//! cargo bench --bench cores -- channel       # workloads whose name contains "channel"
//! ```
//!
//! `channel_rtt`: one task on each thread; the first sends a number over a
//! bounded(1) channel, the second sends it back over another; one round
//! trip is two cross-thread hand-offs, each waking a task that sleeps in
//! its runtime's `epoll_wait` (or futex, for smol) on the other thread.
//! `spawn_rtt`: the first thread spawns a tiny task on the second and
//! awaits its result. The threads are not pinned: on a 2-core machine
//! shared with other work, expect noise (the table shows medians).

mod support;

use std::time::Instant;

use support::{Measure, Peer, Workload};

/// Round trips per measurement.
const ROUNDS: usize = 20_000;

fn main() {
    let workloads = [
        Workload { name: "channel_rtt", unit: "ns/rtt", goal: "cross-core ping-pong, bounded(1)", run: channel_rtt },
        Workload { name: "spawn_rtt", unit: "ns/rtt", goal: "spawn on the other core, await", run: spawn_rtt },
    ];
    support::main("cores", &workloads);
}

fn per(start: Instant, n: usize) -> Measure {
    Measure::Value(start.elapsed().as_nanos() as f64 / n as f64)
}

fn channel_rtt(peer: Peer) -> Measure {
    match peer {
        Peer::Sprout => {
            let (ping_tx, ping_rx) = sprout::cores::channel::<usize>(1);
            let (pong_tx, pong_rx) = sprout::cores::channel::<usize>(1);
            let out = sprout::cores::run(2, move |core| {
                let (ping_tx, ping_rx, pong_tx, pong_rx) =
                    (ping_tx.clone(), ping_rx.clone(), pong_tx.clone(), pong_rx.clone());
                async move {
                    if core.id() == 0 {
                        let start = Instant::now();
                        for i in 0..ROUNDS {
                            ping_tx.send(i).await.unwrap();
                            assert_eq!(pong_rx.recv().await, Some(i));
                        }
                        Ok::<_, ()>(start.elapsed().as_nanos() as f64 / ROUNDS as f64)
                    } else {
                        for _ in 0..ROUNDS {
                            let i = ping_rx.recv().await.unwrap();
                            pong_tx.send(i).await.unwrap();
                        }
                        Ok(0.0)
                    }
                }
            });
            Measure::Value(out.unwrap()[0])
        }
        Peer::Tokio => {
            let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<usize>(1);
            let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<usize>(1);
            let echo = std::thread::spawn(move || {
                tokio_rt().block_on(async move {
                    while let Some(i) = ping_rx.recv().await {
                        pong_tx.send(i).await.unwrap();
                    }
                })
            });
            let m = tokio_rt().block_on(async move {
                let start = Instant::now();
                for i in 0..ROUNDS {
                    ping_tx.send(i).await.unwrap();
                    assert_eq!(pong_rx.recv().await, Some(i));
                }
                per(start, ROUNDS)
            });
            echo.join().unwrap();
            m
        }
        Peer::Smol => {
            let (ping_tx, ping_rx) = async_channel::bounded::<usize>(1);
            let (pong_tx, pong_rx) = async_channel::bounded::<usize>(1);
            let echo = std::thread::spawn(move || {
                smol::block_on(async move {
                    while let Ok(i) = ping_rx.recv().await {
                        pong_tx.send(i).await.unwrap();
                    }
                })
            });
            let m = smol::block_on(async move {
                let start = Instant::now();
                for i in 0..ROUNDS {
                    ping_tx.send(i).await.unwrap();
                    assert_eq!(pong_rx.recv().await, Ok(i));
                }
                per(start, ROUNDS)
            });
            echo.join().unwrap();
            m
        }
    }
}

fn spawn_rtt(peer: Peer) -> Measure {
    match peer {
        Peer::Sprout => {
            let out = sprout::cores::run(2, |core| async move {
                if core.id() == 1 {
                    return Ok::<_, ()>(0.0);
                }
                let other = core.handle(1);
                let start = Instant::now();
                for i in 0..ROUNDS {
                    assert_eq!(other.spawn(async move { i }).await.unwrap(), i);
                }
                Ok(start.elapsed().as_nanos() as f64 / ROUNDS as f64)
            });
            Measure::Value(out.unwrap()[0])
        }
        Peer::Tokio => {
            let (handle_tx, handle_rx) = std::sync::mpsc::channel();
            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
            let other = std::thread::spawn(move || {
                let rt = tokio_rt();
                handle_tx.send(rt.handle().clone()).unwrap();
                rt.block_on(async move {
                    let _ = stop_rx.await;
                })
            });
            let handle = handle_rx.recv().unwrap();
            let m = tokio_rt().block_on(async move {
                let start = Instant::now();
                for i in 0..ROUNDS {
                    assert_eq!(handle.spawn(async move { i }).await.unwrap(), i);
                }
                per(start, ROUNDS)
            });
            stop_tx.send(()).unwrap();
            other.join().unwrap();
            m
        }
        Peer::Smol => {
            let ex = std::sync::Arc::new(smol::Executor::new());
            let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
            let other = std::thread::spawn({
                let ex = ex.clone();
                move || smol::block_on(ex.run(async move { stop_rx.recv().await }))
            });
            let m = smol::block_on(async move {
                let start = Instant::now();
                for i in 0..ROUNDS {
                    assert_eq!(ex.spawn(async move { i }).await, i);
                }
                per(start, ROUNDS)
            });
            stop_tx.send_blocking(()).unwrap();
            let _ = other.join().unwrap();
            m
        }
    }
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}
