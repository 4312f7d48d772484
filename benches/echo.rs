//! The echo benchmark: sprout's echo server against the same server on
//! tokio (current_thread), on smol (`LocalExecutor`), and a hand-written
//! mio loop with no tasks at all (the floor a task runtime adds overhead
//! to); and, when they are installed, in Go (`GOMAXPROCS=1`) and on
//! gevent's `StreamServer` (the Python library sprout is modelled on).
//!
//! ```text
//! cargo bench --bench echo                       # every load point, medians of 3 (about 3 minutes)
//! cargo bench --bench echo -- --runs 1 --secs 1  # a quick look
//! cargo bench --bench echo -- --conns 50 --size 64
//! cargo bench --bench echo -- --syscalls         # strace -c: syscalls per request at 50 x 64 B
//! ```
//!
//! Each server runs alone on core 0 (`taskset -c 0`); one load client, the
//! same for all, runs on core 1 (`taskset -c 1`). The client is a mio
//! state machine too, so it costs as little as a client can: at 50
//! connections and more it still saturates its core before the servers do,
//! which is why the server's CPU time per request (from `/proc/PID/stat`,
//! over the measured window) is the fair figure there.
//!
//! The client keeps every connection busy with one message at a time (a
//! closed loop): send `size` bytes, wait for all of them to come back,
//! record the round trip, send again. A warm-up precedes the measured
//! window. Load points run in turn, servers interleaved within each run.
//!
//! The table goes to stdout; progress lines go to stderr, and the figures
//! of every run to `target/bench-json/echo.json` (see
//! `benches/support/report.rs` for the place and the format).
//!
//! The mio, tokio and smol servers read into an 8 KiB buffer of their own, and
//! sprout with `read_lent` (a 16 KiB buffer lent for each read, none held
//! while idle), as `examples/echo_server.rs` does; all write back what they
//! read; none sets `TCP_NODELAY` (one
//! write per reply, so Nagle never holds anything back).

#[path = "support/echo_load.rs"]
mod echo_load;
#[path = "support/echo_servers.rs"]
mod echo_servers;
#[path = "support/strace.rs"]
mod strace;
mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use echo_load::Figures;
use echo_servers::{BUFFER, serve_mio, serve_sprout, serve_tokio};
use support::report::{self, Better, Metric, Report};
use support::server_process::{announce, read_address};

/// The servers in Rust, this binary's own (`--server NAME`).
const SERVERS: [&str; 4] = ["mio", "tokio", "sprout", "smol"];

/// The servers in other languages, when their toolchains are installed
/// (`benches/support/foreign_echo.rs`): Go's binary, and the command that
/// runs the gevent script. Found once, by the orchestrator.
static FOREIGN: OnceLock<(Option<PathBuf>, Option<Vec<String>>)> = OnceLock::new();

fn foreign() -> &'static (Option<PathBuf>, Option<Vec<String>>) {
    FOREIGN.get_or_init(|| (support::foreign_echo::go_echo(), support::foreign_echo::gevent_echo()))
}
const POINTS: [(usize, usize); 6] = [(1, 64), (50, 64), (1000, 64), (1, 4096), (50, 4096), (1000, 4096)];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    if let Some(server) = flag("--server") {
        return serve(&server);
    }
    if let Some(addr) = flag("--client") {
        return echo_load::child_main(&addr, flag);
    }
    let runs = flag("--runs").and_then(|s| s.parse().ok()).unwrap_or(3usize).max(1);
    let secs: f64 = flag("--secs").and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let conns: Option<usize> = flag("--conns").and_then(|s| s.parse().ok());
    let size: Option<usize> = flag("--size").and_then(|s| s.parse().ok());
    if args.iter().any(|a| a == "--syscalls") {
        return syscalls(conns.unwrap_or(50), size.unwrap_or(64));
    }
    if args.iter().any(|a| a == "--instructions") {
        return instructions(conns.unwrap_or(50), size.unwrap_or(64));
    }
    let points: Vec<(usize, usize)> = POINTS
        .into_iter()
        .filter(|&(c, s)| conns.is_none_or(|want| want == c) && size.is_none_or(|want| want == s))
        .collect();
    orchestrate(&points, runs, secs);
}

// ---------------------------------------------------------------------------
// The orchestrator: one process per server and per client, pinned.

fn orchestrate(points: &[(usize, usize)], runs: usize, secs: f64) {
    let mut report = Report::new("echo");
    let mut servers: Vec<&str> = SERVERS.to_vec();
    match foreign() {
        (Some(_), _) => servers.push("go"),
        _ => println!("(go not installed: no Go row; apt-get install -y golang)"),
    }
    match foreign() {
        (_, Some(_)) => servers.push("gevent"),
        _ => println!("(no Python with gevent: no gevent row; pip install gevent, or set SPROUT_BENCH_PYTHON)"),
    }
    println!("echo benchmark: servers on core 0, one client on core 1; medians of {runs} run(s) of {secs} s");
    println!(
        "{:<16} {:<7} {:>10} {:>8} {:>8} {:>11} {:>9} {:>9}",
        "load", "server", "req/s", "p50 us", "p99 us", "cpu us/req", "cpu/mio", "cpu/tokio"
    );
    for &(conns, size) in points {
        let mut all: Vec<Vec<Figures>> = servers.iter().map(|_| Vec::new()).collect();
        let load = format!("{conns} x {size} B");
        for run in 1..=runs {
            for (i, server) in servers.iter().enumerate() {
                report::progress("echo", &format!("{conns} conns x {size} B"), server, run, runs);
                all[i].push(measure(server, conns, size, secs));
            }
        }
        let metrics: [Metric<Figures>; 4] = [
            ("rps", "req/s", Better::Higher, |f| f.rps),
            ("p50", "µs", Better::Lower, |f| f.p50_us),
            ("p99", "µs", Better::Lower, |f| f.p99_us),
            ("cpu", "µs/req", Better::Lower, |f| f.cpu_us_per_req),
        ];
        let params = [("conns", conns.into()), ("size", size.into()), ("secs", secs.into())];
        report.add_metrics(&load, &params, "sprout", &metrics, &servers, &all);
        let med = |i: usize, f: fn(&Figures) -> f64| median(all[i].iter().map(f).collect());
        let cpu: Vec<f64> = (0..servers.len()).map(|i| med(i, |f| f.cpu_us_per_req)).collect();
        for (i, server) in servers.iter().enumerate() {
            let load = if i == 0 { format!("{conns} x {size} B") } else { String::new() };
            println!(
                "{:<16} {:<7} {:>10.0} {:>8.0} {:>8.0} {:>11.2} {:>8.3}x {:>8.3}x",
                load,
                server,
                med(i, |f| f.rps),
                med(i, |f| f.p50_us),
                med(i, |f| f.p99_us),
                cpu[i],
                cpu[i] / cpu[0],
                cpu[i] / cpu[1],
            );
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Starts `server` under the command `prefix` (by default `taskset -c 0`)
/// and reads the address it prints.
fn start_server(prefix: &[&str], server: &str) -> (Child, SocketAddr) {
    let exe = std::env::current_exe().expect("own path");
    let own = [exe.display().to_string(), "--server".into(), server.into()];
    let program: &[String] = match (server, foreign()) {
        ("go", (Some(go), _)) => &[go.display().to_string()],
        ("gevent", (_, Some(gevent))) => gevent,
        _ => &own,
    };
    let prefix = if prefix.is_empty() { &["taskset", "-c", "0"][..] } else { prefix };
    let mut child = Command::new(prefix[0])
        .args(&prefix[1..])
        .args(program)
        .env("GOMAXPROCS", "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server (are taskset, strace and valgrind installed?)");
    let addr = read_address(&mut child, server);
    (child, addr)
}

fn measure(server: &str, conns: usize, size: usize, secs: f64) -> Figures {
    let (mut child, addr) = start_server(&[], server);
    let figures = echo_load::run_in_child(addr, conns, size, (secs / 4.0).max(0.25), secs, child.id());
    child.kill().ok();
    child.wait().ok();
    figures
}

/// Runs each server under `strace -c -f` for a short load and prints the
/// syscalls it made per request.
fn syscalls(conns: usize, size: usize) {
    println!("syscalls per request, {conns} connections x {size} B, under strace -c -f (slow: counts only)");
    for server in SERVERS {
        let (requests, rows) = strace::count(
            server,
            |prefix| start_server(prefix, server),
            |addr, pid| echo_load::run_in_child(addr, conns, size, 0.2, 1.0, pid).total_requests,
        );
        println!("{server:<7} {requests:.0} requests: {}", strace::describe(&rows));
    }
}

/// Runs each server under callgrind twice, for a short and a longer load,
/// and prints the user-space instructions per request: the difference of
/// the two totals over the difference of the requests served, so start-up
/// and connection set-up cancel out. Deterministic, unlike CPU time on a
/// shared machine; kernel work (the syscalls) is not counted.
fn instructions(conns: usize, size: usize) {
    println!("user-space instructions per request, {conns} connections x {size} B, under callgrind");
    let mut per_request = Vec::new();
    for server in SERVERS {
        let mut points: Vec<(f64, f64)> = Vec::new();
        // The longer run must serve clearly more requests than the short one
        // (a busy machine can starve it); retry it a couple of times if not.
        for secs in [1.0, 3.0, 5.0, 8.0] {
            if points.len() == 2 {
                let (r1, r2) = (points[0].0, points[1].0);
                if r2 > 1.5 * r1 {
                    break;
                }
                points.pop();
            }
            let out = std::env::temp_dir().join(format!("sprout-echo-callgrind-{server}-{}", std::process::id()));
            let out_arg = format!("--callgrind-out-file={}", out.display());
            let (mut child, addr) =
                start_server(&["taskset", "-c", "0", "valgrind", "--tool=callgrind", "--quiet", &out_arg], server);
            let figures = echo_load::run_in_child(addr, conns, size, 0.5, secs, child.id());
            // SAFETY: kill(2) on the server process we started; callgrind
            // writes its totals as the process ends.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            child.wait().ok();
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            let _ = std::fs::remove_file(&out);
            let total: f64 = text
                .lines()
                .find_map(|l| l.strip_prefix("summary:").or_else(|| l.strip_prefix("totals:")))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .expect("callgrind's totals (is valgrind installed?)");
            points.push((figures.total_requests, total));
        }
        let ((r1, i1), (r2, i2)) = (points[0], points[1]);
        let per = (i2 - i1) / (r2 - r1);
        per_request.push(per);
        println!("{server:<7} {per:>8.0} instructions/request  ({r1:.0} and {r2:.0} requests)");
    }
    println!(
        "sprout/mio {:.3}x, sprout/tokio {:.3}x",
        per_request[2] / per_request[0],
        per_request[2] / per_request[1]
    );
}

// ---------------------------------------------------------------------------
// The servers.

fn serve(server: &str) {
    let _ = sprout::net::raise_fd_limit();
    match server {
        "sprout" => serve_sprout(),
        "tokio" => serve_tokio(),
        "smol" => serve_smol(),
        "mio" => serve_mio().expect("the mio server"),
        other => panic!("unknown server {other}"),
    }
}

/// smol: the same loop, a task per connection on a `LocalExecutor` driven
/// by `smol::block_on` (which runs the async-io reactor on this thread).
fn serve_smol() {
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    let ex = smol::LocalExecutor::new();
    smol::block_on(ex.run(async {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        announce(listener.local_addr().unwrap());
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            ex.spawn(async move {
                let mut buf = vec![0; BUFFER];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            })
            .detach();
        }
    }));
}
