//! The runtime-core benchmark: sprout against tokio (current_thread) and
//! smol (LocalExecutor), in one run.
//!
//! ```text
//! taskset -c 0 cargo bench --bench core            # all workloads, medians of 3
//! taskset -c 0 cargo bench --bench core -- spawn   # workloads whose name contains "spawn"
//! taskset -c 0 cargo bench --bench core -- join    # spawn_join and scope_join, and their ratio
//! ```
//!
//! Each measurement runs in a fresh child process (this binary re-executed
//! with `--child`), so memory figures start from a clean heap and one
//! runtime's leftovers never flatter another's. The table shows medians and
//! each figure's ratio to tokio's.

mod support;

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

use support::{Measure, Peer, Workload, rss_bytes};

const IDLE_TASKS: usize = 100_000;
const SLEEP_TASKS: usize = 1_000_000;

fn main() {
    let workloads = [
        Workload { name: "spawn_join", unit: "ns/task", goal: "<= 100 ns, >= 3.5x tokio", run: spawn_join },
        Workload {
            name: "scope_join",
            unit: "ns/child",
            goal: "<= 1.2x sprout spawn_join, >= 3x tokio JoinSet",
            run: scope_join,
        },
        Workload { name: "yield_switch", unit: "ns/switch", goal: "<= 50 ns, >= 3.4x tokio", run: yield_switch },
        Workload { name: "idle_event_rss", unit: "B/task", goal: "<= 150 B", run: idle_on_event },
        Workload { name: "sleep_1m_rss", unit: "B/task", goal: "<= 160 B", run: sleep_many_rss },
        Workload { name: "sleep_1m_total", unit: "ms", goal: "<= 1150 ms", run: sleep_many_time },
    ];
    let rows = support::main("core", &workloads);
    let sprout_of = |name: &str| rows.iter().find(|r| r.name == name).map(|r| r.medians[0]);
    if let (Some(spawn), Some(scope)) = (sprout_of("spawn_join"), sprout_of("scope_join")) {
        println!("scope_join / spawn_join (sprout): {:.2}x (goal <= 1.2x)", scope / spawn);
    }
}

/// Spawns `ops()` trivial tasks, then joins them in order.
fn spawn_join(peer: Peer) -> Measure {
    let per_task = |start: Instant| Measure::Value(start.elapsed().as_nanos() as f64 / ops() as f64);
    match peer {
        Peer::Sprout => sprout_run(async {
            let start = Instant::now();
            let handles: Vec<_> = (0..ops()).map(|i| sprout::spawn(async move { i })).collect();
            for h in handles {
                std::hint::black_box(h.await.unwrap());
            }
            per_task(start)
        }),
        Peer::Tokio => tokio_rt().block_on(async {
            let start = Instant::now();
            let handles: Vec<_> = (0..ops()).map(|i| tokio::spawn(async move { i })).collect();
            for h in handles {
                std::hint::black_box(h.await.unwrap());
            }
            per_task(start)
        }),
        Peer::Smol => smol_run(|ex| async move {
            let start = Instant::now();
            let handles: Vec<_> = (0..ops()).map(|i| ex.spawn(async move { i })).collect();
            for h in handles {
                std::hint::black_box(h.await);
            }
            per_task(start)
        }),
    }
}

/// Spawns `ops()` trivial children into one scope, then awaits each
/// handle in order: sprout's `scope` against tokio's `JoinSet` (joined with
/// `join_next`) and, as smol has no task set, a `FuturesUnordered` polled
/// by one smol task (the usual way to run borrowing futures together).
fn scope_join(peer: Peer) -> Measure {
    let per_child = |start: Instant| Measure::Value(start.elapsed().as_nanos() as f64 / ops() as f64);
    match peer {
        Peer::Sprout => sprout_run(async {
            let start = Instant::now();
            sprout::scope(async |s| {
                let handles: Vec<_> =
                    (0..ops()).map(|i| s.spawn(async move { Ok::<_, std::convert::Infallible>(i) })).collect();
                for h in handles {
                    std::hint::black_box(h.await.unwrap().unwrap());
                }
            })
            .await
            .unwrap();
            per_child(start)
        }),
        Peer::Tokio => tokio_rt().block_on(async {
            let start = Instant::now();
            let mut set = tokio::task::JoinSet::new();
            for i in 0..ops() {
                set.spawn(async move { i });
            }
            while let Some(out) = set.join_next().await {
                std::hint::black_box(out.unwrap());
            }
            per_child(start)
        }),
        Peer::Smol => smol_run(|_| async {
            use futures::StreamExt;
            let start = Instant::now();
            let mut set: futures::stream::FuturesUnordered<_> = (0..ops()).map(|i| async move { i }).collect();
            while let Some(out) = set.next().await {
                std::hint::black_box(out);
            }
            per_child(start)
        }),
    }
}

/// Two tasks take turns through `yield_now`, `ops()` switches in all.
fn yield_switch(peer: Peer) -> Measure {
    let rounds = ops() / 2;
    let per_switch = |start: Instant| Measure::Value(start.elapsed().as_nanos() as f64 / ops() as f64);
    match peer {
        Peer::Sprout => sprout_run(async move {
            let start = Instant::now();
            let a = sprout::spawn(async move {
                for _ in 0..rounds {
                    sprout::yield_now().await;
                }
            });
            let b = sprout::spawn(async move {
                for _ in 0..rounds {
                    sprout::yield_now().await;
                }
            });
            a.await.unwrap();
            b.await.unwrap();
            per_switch(start)
        }),
        Peer::Tokio => tokio_rt().block_on(async move {
            let start = Instant::now();
            let a = tokio::spawn(async move {
                for _ in 0..rounds {
                    tokio::task::yield_now().await;
                }
            });
            let b = tokio::spawn(async move {
                for _ in 0..rounds {
                    tokio::task::yield_now().await;
                }
            });
            a.await.unwrap();
            b.await.unwrap();
            per_switch(start)
        }),
        Peer::Smol => smol_run(|ex| async move {
            let start = Instant::now();
            let a = ex.spawn(async move {
                for _ in 0..rounds {
                    smol::future::yield_now().await;
                }
            });
            let b = ex.spawn(async move {
                for _ in 0..rounds {
                    smol::future::yield_now().await;
                }
            });
            a.await;
            b.await;
            per_switch(start)
        }),
    }
}

/// RSS growth per task with `IDLE_TASKS` tasks blocked on one event.
fn idle_on_event(peer: Peer) -> Measure {
    let per_task = |before: usize| Measure::Value((rss_bytes() - before) as f64 / IDLE_TASKS as f64);
    match peer {
        Peer::Sprout => sprout_run(async {
            let before = rss_bytes();
            let event = Rc::new(sprout::sync::Event::new());
            let started = Rc::new(Cell::new(0));
            for _ in 0..IDLE_TASKS {
                let (event, started) = (event.clone(), started.clone());
                sprout::spawn(async move {
                    started.set(started.get() + 1);
                    event.wait().await;
                });
            }
            while started.get() < IDLE_TASKS {
                sprout::yield_now().await;
            }
            let m = per_task(before);
            event.set();
            sprout::wait().await;
            m
        }),
        Peer::Tokio => tokio_rt().block_on(async {
            let before = rss_bytes();
            let notify = std::sync::Arc::new(tokio::sync::Notify::new());
            let started = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            for _ in 0..IDLE_TASKS {
                let (notify, started) = (notify.clone(), started.clone());
                // Detached, like the others: the handles would add memory.
                drop(tokio::spawn(async move {
                    let notified = notify.notified();
                    started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    notified.await;
                }));
            }
            while started.load(std::sync::atomic::Ordering::Relaxed) < IDLE_TASKS {
                tokio::task::yield_now().await;
            }
            let m = per_task(before);
            notify.notify_waiters();
            m
        }),
        Peer::Smol => smol_run(|ex| async move {
            let before = rss_bytes();
            let event = Rc::new(event_listener::Event::new());
            let flag = Rc::new(Cell::new(false));
            let started = Rc::new(Cell::new(0));
            for _ in 0..IDLE_TASKS {
                let (event, started, flag) = (event.clone(), started.clone(), flag.clone());
                ex.spawn(async move {
                    started.set(started.get() + 1);
                    while !flag.get() {
                        let listener = event.listen();
                        if flag.get() {
                            break;
                        }
                        listener.await;
                    }
                })
                .detach();
            }
            while started.get() < IDLE_TASKS {
                smol::future::yield_now().await;
            }
            let m = per_task(before);
            flag.set(true);
            event.notify(usize::MAX);
            m
        }),
    }
}

/// A deterministic spread of sleeps over 0..1000 ms.
fn sleep_ms(i: usize) -> u64 {
    ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 1000
}

/// Spawns `SLEEP_TASKS` tasks that each sleep 0-1000 ms; `probe` is called
/// once all are asleep and once all are done.
fn sleep_many<R>(peer: Peer, probe: impl Fn(bool, Instant, usize) -> Option<R>) -> R {
    async fn drive<R, F: Future<Output = ()>>(
        spawned: Rc<Cell<usize>>,
        probe: &impl Fn(bool, Instant, usize) -> Option<R>,
        start: Instant,
        before: usize,
        yield_once: impl Fn() -> F,
        all_done: impl Future<Output = ()>,
    ) -> R {
        while spawned.get() < SLEEP_TASKS {
            yield_once().await;
        }
        if let Some(r) = probe(false, start, before) {
            return r;
        }
        all_done.await;
        probe(true, start, before).expect("probe answers at the end")
    }
    let started = Rc::new(Cell::new(0));
    match peer {
        Peer::Sprout => sprout_run(async {
            let before = rss_bytes();
            let start = Instant::now();
            for i in 0..SLEEP_TASKS {
                let started = started.clone();
                sprout::spawn(async move {
                    started.set(started.get() + 1);
                    sprout::sleep(Duration::from_millis(sleep_ms(i))).await;
                });
            }
            drive(started.clone(), &probe, start, before, sprout::yield_now, sprout::wait()).await
        }),
        Peer::Tokio => tokio_rt().block_on(async {
            let local = tokio::task::LocalSet::new();
            local
                .run_until(async {
                    let before = rss_bytes();
                    let start = Instant::now();
                    let done = Rc::new(Cell::new(0));
                    for i in 0..SLEEP_TASKS {
                        let (started, done) = (started.clone(), done.clone());
                        drop(tokio::task::spawn_local(async move {
                            started.set(started.get() + 1);
                            tokio::time::sleep(Duration::from_millis(sleep_ms(i))).await;
                            done.set(done.get() + 1);
                        }));
                    }
                    let all_done = async move {
                        while done.get() < SLEEP_TASKS {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    };
                    drive(started.clone(), &probe, start, before, tokio::task::yield_now, all_done).await
                })
                .await
        }),
        Peer::Smol => smol_run(|ex| async move {
            let before = rss_bytes();
            let start = Instant::now();
            let done = Rc::new(Cell::new(0));
            for i in 0..SLEEP_TASKS {
                let (started, done) = (started.clone(), done.clone());
                ex.spawn(async move {
                    started.set(started.get() + 1);
                    smol::Timer::after(Duration::from_millis(sleep_ms(i))).await;
                    done.set(done.get() + 1);
                })
                .detach();
            }
            let all_done = async move {
                while done.get() < SLEEP_TASKS {
                    smol::Timer::after(Duration::from_millis(1)).await;
                }
            };
            drive(started.clone(), &probe, start, before, smol::future::yield_now, all_done).await
        }),
    }
}

fn sleep_many_rss(peer: Peer) -> Measure {
    sleep_many(peer, |_, _, before| Some(Measure::Value((rss_bytes() - before) as f64 / SLEEP_TASKS as f64)))
}

fn sleep_many_time(peer: Peer) -> Measure {
    sleep_many(peer, |done, start, _| done.then(|| Measure::Value(start.elapsed().as_secs_f64() * 1e3)))
}

/// `sprout::run`, or with `SPROUT_BENCH_OBSERVE` set, a runtime that
/// observes: `records` (`Builder::observe(true)`, the debug-build default)
/// or `warn_blocking` (the blocking detector, 100 ms). For the
/// instruction counts of docs/benchmarks.md ("Observability"). With the
/// `tracing` feature, `SPROUT_BENCH_TRACING` installs a subscriber first
/// (docs/benchmarks.md, "tracing").
fn sprout_run<F: Future>(future: F) -> F::Output {
    #[cfg(feature = "tracing")]
    install_subscriber();
    let builder = match std::env::var("SPROUT_BENCH_OBSERVE").as_deref() {
        Err(_) => return sprout::run(future),
        Ok("records") => sprout::Runtime::builder().observe(true),
        Ok("warn_blocking") => sprout::Runtime::builder().warn_blocking(Duration::from_millis(100)),
        Ok(other) => panic!("SPROUT_BENCH_OBSERVE={other:?}: use records or warn_blocking"),
    };
    builder.build().unwrap().block_on(future)
}

/// With `SPROUT_BENCH_TRACING=fmt`, tracing-subscriber's fmt subscriber
/// at its default level, INFO (task spans, at TRACE, are not made; the
/// spawner's span, none here, is looked up), writing to a sink; with
/// `fmt-trace`, the same at TRACE: every task gets its span.
#[cfg(feature = "tracing")]
fn install_subscriber() {
    let level = match std::env::var("SPROUT_BENCH_TRACING").as_deref() {
        Err(_) => return,
        Ok("fmt") => tracing::Level::INFO,
        Ok("fmt-trace") => tracing::Level::TRACE,
        Ok(other) => panic!("SPROUT_BENCH_TRACING={other:?}: use fmt or fmt-trace"),
    };
    tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::sink).init();
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

/// The operation count of spawn_join, scope_join and yield_switch:
/// 1,000,000, or `SPROUT_BENCH_OPS`. Two callgrind runs of different
/// counts give the marginal instructions per operation, without the
/// process's fixed costs (docs/benchmarks.md, "Instructions").
fn ops() -> usize {
    std::env::var("SPROUT_BENCH_OPS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000)
}
