//! The io_uring spike: can io_uring beat the epoll floor on
//! this machine? An echo server built the way the io_uring authors
//! recommend (`benches/support/uring_server.rs`), measured in one run
//! against the epoll floor (the echo bench's hand-written mio loop),
//! sprout's `examples/echo_server.rs`, tokio current_thread, and monoio
//! with its io_uring and its epoll driver. Linux only, behind the
//! `uring-spike` feature.
//!
//! ```text
//! cargo bench --bench uring_echo --features uring-spike                       # 6 load points, medians of 5 (about 13 minutes)
//! cargo bench --bench uring_echo --features uring-spike -- --conns 50 --size 64 --runs 3
//! cargo bench --bench uring_echo --features uring-spike -- --servers mio,uring,uring-sqpoll
//! cargo bench --bench uring_echo --features uring-spike -- --probe     # what the kernel supports
//! cargo bench --bench uring_echo --features uring-spike -- --syscalls  # strace -c -f, per request
//! cargo bench --bench uring_echo --features uring-spike -- --perf      # kernel events per request (perf stat)
//! cargo bench --bench uring_echo --features uring-spike -- --profile   # where the CPU goes (perf record)
//! ```
//!
//! The setting is the echo bench's (`benches/echo.rs`): each server alone
//! on core 0 (`taskset -c 0`), its mio load client on core 1, a closed
//! loop of one message in flight per connection, a warm-up, then the
//! measured window; the server's CPU time per request comes from
//! `/proc/PID/stat` over the window. Servers alternate within each run, so
//! a drift of the shared machine hits all alike; the table shows medians,
//! and for CPU per request also the median and the range of the per-run
//! ratios to the floor (each server against the floor's figure of the same
//! run). "user" and "system" split the server's CPU time per request
//! (over the whole client run, in 10 ms ticks); "wake/req" is its
//! voluntary context switches (all its threads, from
//! `/proc/PID/task/*/status`) per request: how often it slept. The
//! spike's decision read the `cpu/mio` column of the `uring` variants
//! at 50 and 1,000 connections against the bar of 0.85: see
//! `docs/benchmarks.md`, "io_uring: the spike of issue 22".
//!
//! Server names: `mio`, `sprout`, `tokio`, `monoio` (io_uring driver),
//! `monoio-legacy` (epoll driver), and the spike `uring` (`DEFER_TASKRUN`)
//! with any of `-coop` (`COOP_TASKRUN` instead), `-sqpoll` (a polling
//! kernel thread on core 1, which is the client's: there is no spare core
//! here), `-fixed` (registered files), `-zc` (zero-copy sends).
//! `SPROUT_URING_BUFFERS` and `SPROUT_URING_BUFFER_SIZE` size the spike's
//! buffer ring (2048 x 4 KiB); `SPROUT_URING_STATS=1` has it print how
//! often its unusual paths ran (`ENOBUFS`, short sends, restarts).

// Elsewhere than Linux, `main` only says so: the rest is unused there.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

#[path = "support/echo_load.rs"]
mod echo_load;
#[path = "support/echo_servers.rs"]
mod echo_servers;
#[cfg(target_os = "linux")]
#[path = "support/kernel_time.rs"]
mod kernel_time;
#[cfg(target_os = "linux")]
#[path = "support/monoio_echo.rs"]
mod monoio_echo;
#[path = "support/strace.rs"]
mod strace;
mod support;
#[cfg(target_os = "linux")]
#[path = "support/uring_probe.rs"]
mod uring_probe;
#[cfg(target_os = "linux")]
#[path = "support/uring_server.rs"]
mod uring_server;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use echo_load::Figures;
use support::report::{self, Better, Metric, Report};
use support::server_process::{cpu_times, read_address};

const SERVERS: [&str; 8] = ["mio", "uring", "uring-coop", "uring-fixed", "sprout", "tokio", "monoio", "monoio-legacy"];
const POINTS: [(usize, usize); 6] = [(1, 64), (50, 64), (1000, 64), (1, 4096), (50, 4096), (1000, 4096)];
/// The decision's bar: the spike's CPU per request over the floor's.
const BAR: f64 = 0.85;

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("uring_echo: io_uring is Linux only; nothing to measure here");
}

#[cfg(target_os = "linux")]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let has = |name: &str| args.iter().any(|a| a == name);
    if let Some(server) = flag("--server") {
        return serve(&server);
    }
    if let Some(addr) = flag("--client") {
        return echo_load::child_main(&addr, flag);
    }
    if has("--probe") {
        return uring_probe::report();
    }
    let runs = flag("--runs").and_then(|s| s.parse().ok()).unwrap_or(5usize).max(1);
    let secs: f64 = flag("--secs").and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let conns: Option<usize> = flag("--conns").and_then(|s| s.parse().ok());
    let size: Option<usize> = flag("--size").and_then(|s| s.parse().ok());
    let servers: Vec<String> = match flag("--servers") {
        Some(list) => list.split(',').map(str::to_string).collect(),
        None => SERVERS.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(
        servers.first().map(String::as_str),
        Some("mio"),
        "the floor, mio, comes first: the ratios divide by it"
    );
    let points: Vec<(usize, usize)> = POINTS
        .into_iter()
        .filter(|&(c, s)| conns.is_none_or(|want| want == c) && size.is_none_or(|want| want == s))
        .collect();
    if has("--syscalls") {
        return kernel_time::syscalls(&servers, &points);
    }
    if has("--perf") {
        return kernel_time::perf_events(&servers, &points);
    }
    if has("--profile") {
        return kernel_time::profile(&servers, &points);
    }
    orchestrate(&servers, &points, runs, secs);
}

// ---------------------------------------------------------------------------
// The child processes.

#[cfg(target_os = "linux")]
fn serve(server: &str) {
    let _ = sprout::net::raise_fd_limit();
    match server {
        "mio" => echo_servers::serve_mio().expect("the mio server"),
        "sprout" => echo_servers::serve_sprout(),
        "tokio" => echo_servers::serve_tokio(),
        "monoio" => monoio_echo::serve(false),
        "monoio-legacy" => monoio_echo::serve(true),
        other => {
            let config = uring_server::Config::parse(other).unwrap_or_else(|| panic!("unknown server {other}"));
            uring_server::serve(config).expect("the io_uring spike")
        }
    }
}

/// Starts `server` under `prefix` (a command such as `taskset -c 0`) and
/// reads the address it prints.
fn start_server(prefix: &[&str], server: &str) -> (Child, SocketAddr) {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(prefix[0])
        .args(&prefix[1..])
        .arg(exe)
        .args(["--server", server])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server (are taskset, strace and perf installed?)");
    let addr = read_address(&mut child, server);
    (child, addr)
}

/// Voluntary context switches of every thread of `pid`: how often it slept.
fn voluntary_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .filter_map(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .sum()
}

/// What one run of one server measured. The CPU per request of `figures`
/// covers the measured window; the split into user and system time, and
/// the wake-ups, cover the whole client run (connections and warm-up too,
/// over all the requests it made), so they are whole ticks of 10 ms.
struct Run {
    figures: Figures,
    user_us_per_req: f64,
    system_us_per_req: f64,
    wakeups_per_req: f64,
}

fn measure(server: &str, conns: usize, size: usize, secs: f64) -> Run {
    let (mut child, addr) = start_server(&["taskset", "-c", "0"], server);
    let pid = child.id();
    let (switches, (user, system)) = (voluntary_switches(pid), cpu_times(pid));
    let figures = echo_load::run_in_child(addr, conns, size, (secs / 4.0).max(0.25), secs, pid);
    let per_req = |v: f64| v / figures.total_requests;
    let (user_after, system_after) = cpu_times(pid);
    let run = Run {
        user_us_per_req: per_req((user_after - user) * 1e6),
        system_us_per_req: per_req((system_after - system) * 1e6),
        wakeups_per_req: per_req((voluntary_switches(pid) - switches) as f64),
        figures,
    };
    child.kill().ok();
    child.wait().ok();
    run
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------
// The table.

fn orchestrate(servers: &[String], points: &[(usize, usize)], runs: usize, secs: f64) {
    let mut report = Report::new("uring_echo");
    println!("io_uring spike: servers on core 0, one mio client on core 1; medians of {runs} run(s) of {secs} s");
    println!(
        "cpu/mio: median of the per-run ratios to the floor [their range]; the bar is {BAR} at 50 and 1,000 connections"
    );
    println!(
        "{:<13} {:<13} {:>9} {:>7} {:>7} {:>8} {:>17} {:>8} {:>7} {:>7} {:>9}",
        "load",
        "server",
        "req/s",
        "p50 us",
        "p99 us",
        "cpu us",
        "cpu/mio [range]",
        "rps/mio",
        "user",
        "system",
        "wake/req"
    );
    for &(conns, size) in points {
        let load = format!("{conns} x {size} B");
        let load_before = load_average();
        let mut all: Vec<Vec<Run>> = servers.iter().map(|_| Vec::new()).collect();
        for run in 1..=runs {
            for (i, server) in servers.iter().enumerate() {
                report::progress("uring_echo", &load, server, run, runs);
                all[i].push(measure(server, conns, size, secs));
            }
        }
        let metrics: [Metric<Run>; 7] = [
            ("rps", "req/s", Better::Higher, |r| r.figures.rps),
            ("p50", "µs", Better::Lower, |r| r.figures.p50_us),
            ("p99", "µs", Better::Lower, |r| r.figures.p99_us),
            ("cpu", "µs/req", Better::Lower, |r| r.figures.cpu_us_per_req),
            ("user", "µs/req", Better::Lower, |r| r.user_us_per_req),
            ("system", "µs/req", Better::Lower, |r| r.system_us_per_req),
            ("wakeups", "switches/req", Better::Lower, |r| r.wakeups_per_req),
        ];
        let params = [("conns", conns.into()), ("size", size.into()), ("secs", secs.into())];
        report.add_metrics(&load, &params, "mio", &metrics, servers, &all);
        let med = |i: usize, f: fn(&Run) -> f64| report::median(&all[i].iter().map(f).collect::<Vec<_>>());
        for (i, server) in servers.iter().enumerate() {
            // Each run's ratio to the floor's figure of the same run.
            let ratios: Vec<f64> =
                (0..runs).map(|r| all[i][r].figures.cpu_us_per_req / all[0][r].figures.cpu_us_per_req).collect();
            let (lo, hi) = ratios.iter().fold((f64::INFINITY, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
            println!(
                "{:<13} {:<13} {:>9.0} {:>7.0} {:>7.0} {:>8.2} {:>6.3} [{:.2}-{:.2}] {:>7.3}x {:>7.2} {:>7.2} {:>9.3}",
                if i == 0 { load.as_str() } else { "" },
                server,
                med(i, |r| r.figures.rps),
                med(i, |r| r.figures.p50_us),
                med(i, |r| r.figures.p99_us),
                med(i, |r| r.figures.cpu_us_per_req),
                report::median(&ratios),
                lo,
                hi,
                med(i, |r| r.figures.rps) / med(0, |r| r.figures.rps),
                med(i, |r| r.user_us_per_req),
                med(i, |r| r.system_us_per_req),
                med(i, |r| r.wakeups_per_req),
            );
        }
        println!("{:<13} (load average {load_before} before, {} after)", "", load_average());
    }
}
