//! The pools benchmark: `spawn_blocking` round trips against tokio's, and
//! `Pool::map` / `imap` per-item overhead against `futures`'
//! `buffer_unordered` / `buffered` on the same sprout runtime and on
//! tokio's current_thread runtime.
//!
//! ```text
//! taskset -c 0 cargo bench --bench pools            # every workload, medians of 3
//! taskset -c 0 cargo bench --bench pools -- map     # workloads whose name contains "map"
//! cargo bench --bench pools -- blocking             # unpinned: workers get their own core
//! ```
//!
//! Each measurement runs in a fresh child process (this binary re-executed
//! with `--child`); each round runs every peer once, so load changes on a
//! shared machine hit all peers alike. The table shows each peer's median
//! and its ratio to the first peer (sprout's own API): above 1.00x means
//! the peer is slower.
//!
//! Under `taskset -c 0` the blocking pool's worker threads share core 0
//! with the runtime thread, so a round trip includes two context switches
//! on one core; unpinned, it includes a cross-core wake-up instead.

mod support;

use std::process::Command;
use std::time::Instant;

use futures::StreamExt;
use support::report::{self, Report, Series};
use support::rss_bytes;

/// Round trips per `spawn_blocking` measurement.
const ROUND_TRIPS: usize = 20_000;
/// Items per map measurement.
const ITEMS: u64 = 1_000_000;
/// Pool size / stream concurrency for the map measurements.
const WIDTH: usize = 64;
/// Items fed through `imap` for the flat-memory figure.
const LONG_ITEMS: u64 = 10_000_000;

type Run = fn() -> f64;

struct Bench {
    name: &'static str,
    unit: &'static str,
    goal: &'static str,
    peers: &'static [(&'static str, Run)],
}

const BENCHES: &[Bench] = &[
    Bench {
        name: "spawn_blocking",
        unit: "ns/trip",
        goal: "<= tokio",
        peers: &[("sprout", blocking_sprout), ("tokio", blocking_tokio)],
    },
    Bench {
        name: "map_ready",
        unit: "ns/item",
        goal: "<= buffer_unordered",
        peers: &[
            ("Pool::map", map_ready_pool),
            ("sprout+buffer_unordered", map_ready_buffer_sprout),
            ("tokio+buffer_unordered", map_ready_buffer_tokio),
        ],
    },
    Bench {
        name: "map_yield",
        unit: "ns/item",
        goal: "<= buffer_unordered",
        peers: &[
            ("Pool::map", map_yield_pool),
            ("sprout+buffer_unordered", map_yield_buffer_sprout),
            ("tokio+buffer_unordered", map_yield_buffer_tokio),
        ],
    },
    Bench {
        name: "imap_yield",
        unit: "ns/item",
        goal: "<= buffered",
        peers: &[
            ("Pool::imap", imap_yield_pool),
            ("sprout+buffered", imap_yield_buffered_sprout),
            ("tokio+buffered", imap_yield_buffered_tokio),
        ],
    },
    Bench {
        name: "imap_10m_rss",
        unit: "KiB",
        goal: "flat (< 1 MiB)",
        peers: &[("Pool::imap", imap_long_rss), ("sprout+buffered", buffered_long_rss)],
    },
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        let bench = BENCHES.iter().find(|b| b.name == args[pos + 1]).expect("unknown bench");
        let (_, run) = bench.peers.iter().find(|(p, _)| *p == args[pos + 2]).expect("unknown peer");
        println!("{}", run());
        return;
    }
    let runs: usize =
        args.iter().position(|a| a == "--runs").and_then(|p| args.get(p + 1)).and_then(|s| s.parse().ok()).unwrap_or(3);
    let filters: Vec<&String> =
        args.iter().skip(1).filter(|a| !a.starts_with("--") && a.parse::<usize>().is_err()).collect();
    let exe = std::env::current_exe().expect("own path");
    let mut report = Report::new("pools");
    println!("{:<15} {:>8}  {:<26} {:>12} {:>9}   goal", "workload", "unit", "peer", "median", "ratio");
    for bench in BENCHES {
        if !filters.is_empty() && !filters.iter().any(|f| bench.name.contains(f.as_str())) {
            continue;
        }
        // Rounds interleave the peers, so that a change in the machine's
        // load (other builds on a shared VM) hits every peer alike.
        let mut values: Vec<Vec<f64>> = vec![Vec::new(); bench.peers.len()];
        for run in 1..=runs {
            for (k, (peer, _)) in bench.peers.iter().enumerate() {
                report::progress("pools", bench.name, peer, run, runs);
                let out = Command::new(&exe).args(["--child", bench.name, *peer]).output().expect("run child");
                assert!(
                    out.status.success(),
                    "{} / {peer} failed: {}",
                    bench.name,
                    String::from_utf8_lossy(&out.stderr)
                );
                values[k].push(String::from_utf8_lossy(&out.stdout).trim().parse().expect("a number"));
            }
        }
        let mut series = Series::new(bench.name, bench.unit).goal(bench.goal);
        for ((peer, _), runs) in bench.peers.iter().zip(&values) {
            series = series.peer(peer, runs.clone());
        }
        report.add(series);
        let mut base = None;
        for (k, ((peer, _), mut values)) in bench.peers.iter().zip(values).enumerate() {
            values.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let median = values[values.len() / 2];
            let base = *base.get_or_insert(median);
            println!(
                "{:<15} {:>8}  {:<26} {:>12.1} {:>8.2}x   {}",
                bench.name,
                bench.unit,
                peer,
                median,
                median / base,
                if k == 0 { bench.goal } else { "" }
            );
        }
    }
}

fn per(start: Instant, n: u64) -> f64 {
    start.elapsed().as_nanos() as f64 / n as f64
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

// ------------------------------------------------------- spawn_blocking

fn blocking_sprout() -> f64 {
    sprout::run(async {
        // Warm the pool: the first call starts its thread.
        sprout::spawn_blocking(|| ()).await.unwrap();
        let start = Instant::now();
        for i in 0..ROUND_TRIPS {
            std::hint::black_box(sprout::spawn_blocking(move || i).await.unwrap());
        }
        per(start, ROUND_TRIPS as u64)
    })
}

fn blocking_tokio() -> f64 {
    tokio_rt().block_on(async {
        tokio::task::spawn_blocking(|| ()).await.unwrap();
        let start = Instant::now();
        for i in 0..ROUND_TRIPS {
            std::hint::black_box(tokio::task::spawn_blocking(move || i).await.unwrap());
        }
        per(start, ROUND_TRIPS as u64)
    })
}

// ------------------------------------------------------------ map, ready

fn map_ready_pool() -> f64 {
    sprout::run(async {
        let pool = sprout::pool::Pool::new(WIDTH);
        let start = Instant::now();
        let out = pool.map(|i: u64| async move { i * 2 }, 0..ITEMS).await;
        let t = per(start, ITEMS);
        assert_eq!(out.len() as u64, ITEMS);
        t
    })
}

fn map_ready_buffer_sprout() -> f64 {
    sprout::run(async {
        let start = Instant::now();
        let out: Vec<u64> =
            futures::stream::iter(0..ITEMS).map(|i| async move { i * 2 }).buffer_unordered(WIDTH).collect().await;
        let t = per(start, ITEMS);
        assert_eq!(out.len() as u64, ITEMS);
        t
    })
}

fn map_ready_buffer_tokio() -> f64 {
    tokio_rt().block_on(async {
        let start = Instant::now();
        let out: Vec<u64> =
            futures::stream::iter(0..ITEMS).map(|i| async move { i * 2 }).buffer_unordered(WIDTH).collect().await;
        let t = per(start, ITEMS);
        assert_eq!(out.len() as u64, ITEMS);
        t
    })
}

// ------------------------------------------------ map, one switch per item

fn map_yield_pool() -> f64 {
    sprout::run(async {
        let pool = sprout::pool::Pool::new(WIDTH);
        let start = Instant::now();
        let out = pool
            .map(
                |i: u64| async move {
                    sprout::yield_now().await;
                    i * 2
                },
                0..ITEMS,
            )
            .await;
        let t = per(start, ITEMS);
        assert_eq!(out.len() as u64, ITEMS);
        t
    })
}

fn map_yield_buffer_sprout() -> f64 {
    sprout::run(async {
        let start = Instant::now();
        let out: Vec<u64> = futures::stream::iter(0..ITEMS)
            .map(|i| async move {
                sprout::yield_now().await;
                i * 2
            })
            .buffer_unordered(WIDTH)
            .collect()
            .await;
        let t = per(start, ITEMS);
        assert_eq!(out.len() as u64, ITEMS);
        t
    })
}

fn map_yield_buffer_tokio() -> f64 {
    tokio_rt().block_on(async {
        let start = Instant::now();
        let out: Vec<u64> = futures::stream::iter(0..ITEMS)
            .map(|i| async move {
                tokio::task::yield_now().await;
                i * 2
            })
            .buffer_unordered(WIDTH)
            .collect()
            .await;
        let t = per(start, ITEMS);
        assert_eq!(out.len() as u64, ITEMS);
        t
    })
}

// ----------------------------------------------- imap (ordered), one switch

fn imap_yield_pool() -> f64 {
    sprout::run(async {
        let pool = sprout::pool::Pool::new(WIDTH);
        let start = Instant::now();
        let n = pool
            .imap(
                |i: u64| async move {
                    sprout::yield_now().await;
                    i * 2
                },
                0..ITEMS,
            )
            .fold(0u64, |n, r| async move { n + u64::from(r.is_ok()) })
            .await;
        let t = per(start, ITEMS);
        assert_eq!(n, ITEMS);
        t
    })
}

fn imap_yield_buffered_sprout() -> f64 {
    sprout::run(async {
        let start = Instant::now();
        let n = futures::stream::iter(0..ITEMS)
            .map(|i| async move {
                sprout::yield_now().await;
                i * 2
            })
            .buffered(WIDTH)
            .fold(0u64, |n, _| async move { n + 1 })
            .await;
        let t = per(start, ITEMS);
        assert_eq!(n, ITEMS);
        t
    })
}

fn imap_yield_buffered_tokio() -> f64 {
    tokio_rt().block_on(async {
        let start = Instant::now();
        let n = futures::stream::iter(0..ITEMS)
            .map(|i| async move {
                tokio::task::yield_now().await;
                i * 2
            })
            .buffered(WIDTH)
            .fold(0u64, |n, _| async move { n + 1 })
            .await;
        let t = per(start, ITEMS);
        assert_eq!(n, ITEMS);
        t
    })
}

// ------------------------------------------- ten million items, flat memory

/// RSS growth (KiB) while `imap` streams `LONG_ITEMS` lazily produced items.
fn imap_long_rss() -> f64 {
    sprout::run(async {
        let pool = sprout::pool::Pool::new(WIDTH);
        let before = rss_bytes();
        let mut peak = before;
        let mut stream = pool.imap(|i: u64| async move { i ^ 0x5a }, 0..LONG_ITEMS);
        let mut n = 0u64;
        while let Some(r) = stream.next().await {
            std::hint::black_box(r.unwrap());
            n += 1;
            if n.is_multiple_of(1_000_000) {
                peak = peak.max(rss_bytes());
            }
        }
        assert_eq!(n, LONG_ITEMS);
        peak.saturating_sub(before) as f64 / 1024.0
    })
}

fn buffered_long_rss() -> f64 {
    sprout::run(async {
        let before = rss_bytes();
        let mut peak = before;
        let mut stream = futures::stream::iter(0..LONG_ITEMS).map(|i| async move { i ^ 0x5a }).buffered(WIDTH);
        let mut n = 0u64;
        while let Some(r) = stream.next().await {
            std::hint::black_box(r);
            n += 1;
            if n.is_multiple_of(1_000_000) {
                peak = peak.max(rss_bytes());
            }
        }
        assert_eq!(n, LONG_ITEMS);
        peak.saturating_sub(before) as f64 / 1024.0
    })
}
