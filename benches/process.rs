//! The process benchmark: spawn-and-wait of `/bin/true`, 1,000 children
//! with 50 at a time, on sprout (`sprout::process`) and on tokio's
//! current_thread runtime (`tokio::process`); plus `output()` of
//! `/bin/echo hello`, stdout and stderr piped and read to the end. (stdin is
//! set to null explicitly there: std's and sprout's `output` default, which
//! tokio's leaves inherited, and which costs an `open` of `/dev/null`.)
//!
//! ```text
//! taskset -c 0 cargo bench --bench process                 # medians of 5 rounds
//! taskset -c 0 cargo bench --bench process -- --runs 9
//! cargo bench --bench process -- output                    # workloads whose name contains "output"
//! ```
//!
//! Each measurement runs in a fresh process (this binary re-executed with
//! `--child`), and each round runs every peer once, so a change in the
//! machine's load (other builds on a shared VM) hits every peer alike. The
//! table shows each peer's median wall-clock time per child and its ratio
//! to sprout's (above 1.00x: slower than sprout); the median CPU time the
//! parent process spent per child (`getrusage(RUSAGE_SELF)`: the runtime's
//! own cost, without the children's, and steadier than wall-clock time on
//! a busy machine) and its ratio; and the most threads the measuring
//! process had (`/proc/self/status`): 1 means no helper thread at all.

mod support;

use std::process::Stdio;
use std::time::Instant;

use support::report::{self, Report, Series};

/// Children per measurement.
const CHILDREN: usize = 1_000;
/// Children alive at once: that many workers, each spawning in turn.
const WIDTH: usize = 50;
/// Children spawned before the clock starts (page cache, allocator).
const WARMUP: usize = 20;

/// A measurement: wall-clock and parent-CPU microseconds per child, and
/// the most threads seen.
type Run = fn() -> (f64, f64, usize);

struct Bench {
    name: &'static str,
    goal: &'static str,
    peers: &'static [(&'static str, Run)],
}

const BENCHES: &[Bench] = &[
    Bench { name: "spawn_wait_true", goal: "<= tokio", peers: &[("sprout", true_sprout), ("tokio", true_tokio)] },
    Bench { name: "output_echo", goal: "<= tokio", peers: &[("sprout", echo_sprout), ("tokio", echo_tokio)] },
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        let bench = BENCHES.iter().find(|b| b.name == args[pos + 1]).expect("unknown bench");
        let (_, run) = bench.peers.iter().find(|(p, _)| *p == args[pos + 2]).expect("unknown peer");
        let (wall, cpu, threads) = run();
        println!("{wall} {cpu} {threads}");
        return;
    }
    let runs: usize =
        args.iter().position(|a| a == "--runs").and_then(|p| args.get(p + 1)).and_then(|s| s.parse().ok()).unwrap_or(5);
    let filters: Vec<&String> =
        args.iter().skip(1).filter(|a| !a.starts_with("--") && a.parse::<usize>().is_err()).collect();
    let exe = std::env::current_exe().expect("own path");
    let mut report = Report::new("process");
    println!(
        "{CHILDREN} children, {WIDTH} at a time, {runs} rounds; medians, microseconds per child\n\
         {:<16} {:<8} {:>10} {:>8} {:>12} {:>8} {:>8}   goal",
        "workload", "peer", "wall", "ratio", "parent CPU", "ratio", "threads"
    );
    for bench in BENCHES {
        if !filters.is_empty() && !filters.iter().any(|f| bench.name.contains(f.as_str())) {
            continue;
        }
        let mut values: Vec<Vec<f64>> = vec![Vec::new(); bench.peers.len()];
        let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); bench.peers.len()];
        let mut threads = vec![0usize; bench.peers.len()];
        for run in 1..=runs {
            for (k, (peer, _)) in bench.peers.iter().enumerate() {
                report::progress("process", bench.name, peer, run, runs);
                let out =
                    std::process::Command::new(&exe).args(["--child", bench.name, *peer]).output().expect("run child");
                assert!(
                    out.status.success(),
                    "{} / {peer} failed: {}",
                    bench.name,
                    String::from_utf8_lossy(&out.stderr)
                );
                let text = String::from_utf8_lossy(&out.stdout);
                let mut fields = text.split_whitespace();
                values[k].push(fields.next().and_then(|s| s.parse().ok()).expect("a time"));
                cpu[k].push(fields.next().and_then(|s| s.parse().ok()).expect("a CPU time"));
                let t: usize = fields.next().and_then(|s| s.parse().ok()).expect("a thread count");
                threads[k] = threads[k].max(t);
            }
        }
        for (metric, unit, figures) in [("wall", "µs/child", &values), ("parent_cpu", "µs/child", &cpu)] {
            let mut series = Series::new(bench.name, unit).metric(metric).goal(bench.goal).param("children", CHILDREN);
            for ((peer, _), runs) in bench.peers.iter().zip(figures) {
                series = series.peer(peer, runs.clone());
            }
            report.add(series);
        }
        let mut threads_series = Series::new(bench.name, "threads").metric("threads");
        for ((peer, _), t) in bench.peers.iter().zip(&threads) {
            threads_series = threads_series.peer(peer, vec![*t as f64]);
        }
        report.add(threads_series);
        let (mut base, mut cpu_base) = (None, None);
        for (k, ((peer, _), (values, cpu))) in bench.peers.iter().zip(values.into_iter().zip(cpu)).enumerate() {
            let (median, cpu) = (median(values), median(cpu));
            let base = *base.get_or_insert(median);
            let cpu_base = *cpu_base.get_or_insert(cpu);
            println!(
                "{:<16} {:<8} {:>10.1} {:>7.2}x {:>12.1} {:>7.2}x {:>8}   {}",
                bench.name,
                peer,
                median,
                median / base,
                cpu,
                cpu / cpu_base,
                threads[k],
                if k == 0 { bench.goal } else { "" }
            );
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// User plus system CPU time of this process (all its threads, not its
/// children), in microseconds.
fn cpu_us() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the rusage it is given; RUSAGE_SELF is valid.
    let usage = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()), 0);
        usage.assume_init()
    };
    let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    us(usage.ru_utime) + us(usage.ru_stime)
}

/// Threads of this process right now.
fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

// ------------------------------------------------------------ sprout

/// One of the WIDTH workers: its share of the children, one at a time;
/// returns the most threads it saw.
async fn worker<F: Future<Output = ()>>(one: fn() -> F) -> usize {
    let mut most = 0;
    for i in 0..CHILDREN / WIDTH {
        one().await;
        // Once per worker, mid-run: /proc costs as much as a spawn.
        if i == CHILDREN / WIDTH / 2 {
            most = threads();
        }
    }
    most
}

/// Microseconds of wall time and of CPU per child since `start` / `cpu`,
/// and the most threads seen (the workers' and now).
fn per_child(start: Instant, cpu: f64, most: usize) -> (f64, f64, usize) {
    let n = CHILDREN as f64;
    (start.elapsed().as_secs_f64() * 1e6 / n, (cpu_us() - cpu) / n, most.max(threads()))
}

/// Runs `one` CHILDREN times, WIDTH at a time, on sprout; returns the
/// microseconds per child and the most threads seen.
fn sprout_bench<F: Future<Output = ()> + 'static>(one: fn() -> F) -> (f64, f64, usize) {
    sprout::run(async move {
        for _ in 0..WARMUP {
            one().await;
        }
        let (start, cpu) = (Instant::now(), cpu_us());
        let workers: Vec<_> = (0..WIDTH).map(|_| sprout::spawn(worker(one))).collect();
        let mut most = 0;
        for worker in workers {
            most = most.max(worker.await.unwrap());
        }
        per_child(start, cpu, most)
    })
}

async fn true_sprout_one() {
    let status = sprout::process::Command::new("/bin/true").status().await.unwrap();
    assert!(status.success());
}

fn true_sprout() -> (f64, f64, usize) {
    sprout_bench(true_sprout_one)
}

async fn echo_sprout_one() {
    let out = sprout::process::Command::new("/bin/echo").arg("hello").stdin(Stdio::null()).output().await.unwrap();
    assert_eq!(out.stdout, b"hello\n");
}

fn echo_sprout() -> (f64, f64, usize) {
    sprout_bench(echo_sprout_one)
}

// ------------------------------------------------------------- tokio

fn tokio_bench<F: Future<Output = ()> + 'static>(one: fn() -> F) -> (f64, f64, usize) {
    let rt = tokio_rt();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        for _ in 0..WARMUP {
            one().await;
        }
        let (start, cpu) = (Instant::now(), cpu_us());
        let workers: Vec<_> = (0..WIDTH).map(|_| tokio::task::spawn_local(worker(one))).collect();
        let mut most = 0;
        for worker in workers {
            most = most.max(worker.await.unwrap());
        }
        per_child(start, cpu, most)
    })
}

async fn true_tokio_one() {
    let status = tokio::process::Command::new("/bin/true").status().await.unwrap();
    assert!(status.success());
}

fn true_tokio() -> (f64, f64, usize) {
    tokio_bench(true_tokio_one)
}

async fn echo_tokio_one() {
    let out = tokio::process::Command::new("/bin/echo").arg("hello").stdin(Stdio::null()).output().await.unwrap();
    assert_eq!(out.stdout, b"hello\n");
}

fn echo_tokio() -> (f64, f64, usize) {
    tokio_bench(echo_tokio_one)
}
