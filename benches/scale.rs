//! The scaling benchmark: the echo server on every core, and what an idle
//! connection costs.
//!
//! ```text
//! cargo bench --bench scale                          # both parts, medians of 3 runs
//! cargo bench --bench scale -- --echo --runs 5 --secs 3
//! cargo bench --bench scale -- --echo --client-threads 2
//! cargo bench --bench scale -- --idle                # memory per idle connection only
//! ```
//!
//! **Echo on two cores.** `sprout-1` and `sprout-2` are
//! `examples/echo_server.rs`'s handler on a `StreamServer` with 1 and 2
//! workers (`sprout-2`: `Balance::LeastConnections`, the default;
//! `sprout-2k`: `Balance::Kernel`, a `SO_REUSEPORT` listener per worker);
//! `tokio-mt2` is the same loop (a task per connection, a 4 KiB
//! buffer) on tokio's multi_thread runtime with 2 workers; `go-2` the same
//! in Go with `GOMAXPROCS=2` (only if `go` is installed: `apt-get install
//! -y golang`). Nothing is pinned: the servers and the load client (the
//! echo bench's mio client, `--client-threads` threads, default 1) share
//! the machine's cores, as they would on a real 2-core box. Load points
//! 50 and 1,000 connections x 64 B; servers interleaved within each run;
//! medians. "scaling" is `sprout-2`'s requests/s over `sprout-1`'s.
//!
//! **Idle memory.** Each server, alone, gets 1,000 connections that echo
//! 64 bytes once and stay open (the warm-up), then 14,000 more: the figure
//! is the growth of the server's resident memory (`VmRSS`) over those
//! 14,000, per connection. `sprout` reads with `read_lent` (no buffer while
//! idle), `sprout-owned` with an 8 KiB buffer in the task (the echo server
//! before `read_lent`), `tokio` with a 4 KiB buffer in the task
//! (current_thread), `go` with a 4 KiB buffer in the goroutine. The
//! clients run in their own process (the descriptors: 20,000 per process
//! here).

#[path = "support/echo_load.rs"]
mod echo_load;
mod support;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sprout::net::server::Balance;
use support::report::{self, Better, Metric, Report, Series};
use support::server_process::{announce, read_address};

const POINTS: [usize; 2] = [50, 1000];
const SIZE: usize = 64;
/// The warm-up and measured connections of the idle part.
const WARM: usize = 1_000;
const IDLE: usize = 14_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let has = |name: &str| args.iter().any(|a| a == name);
    if let Some(server) = flag("--server") {
        return serve(&server);
    }
    if let Some(addr) = flag("--idle-client") {
        return idle_client(addr.parse().expect("an address"));
    }
    let runs = flag("--runs").and_then(|s| s.parse().ok()).unwrap_or(3usize).max(1);
    let secs: f64 = flag("--secs").and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let threads: usize = flag("--client-threads").and_then(|s| s.parse().ok()).unwrap_or(1);
    let go = support::foreign_echo::go_echo();
    let (echo, idle) = (has("--echo"), has("--idle"));
    let mut report = Report::new("scale");
    if echo || !idle {
        echo_part(&mut report, runs, secs, threads, go.as_ref());
    }
    if idle || !echo {
        idle_part(&mut report, go.as_ref());
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

// ---------------------------------------------------------------------------
// The echo part.

fn echo_part(report: &mut Report, runs: usize, secs: f64, threads: usize, go: Option<&PathBuf>) {
    let mut servers = vec!["sprout-1", "sprout-2", "sprout-2k", "tokio-mt2"];
    if go.is_some() {
        servers.push("go-2");
    } else {
        println!("(go not installed: no Go column; apt-get install -y golang)");
    }
    println!(
        "echo on 2 cores, {SIZE} B, client: {threads} thread(s) sharing the cores; medians of {runs} run(s) of {secs} s"
    );
    println!(
        "{:<12} {:<10} {:>10} {:>8} {:>8} {:>11} {:>10}",
        "load", "server", "req/s", "p50 us", "p99 us", "cpu us/req", "vs tokio"
    );
    for conns in POINTS {
        let mut all: Vec<Vec<echo_load::Figures>> = servers.iter().map(|_| Vec::new()).collect();
        for run in 1..=runs {
            for (i, server) in servers.iter().enumerate() {
                report::progress("scale", &format!("{conns} conns x {SIZE} B"), server, run, runs);
                let (mut child, addr) = start_server(server, go);
                let warmup = Duration::from_secs_f64((secs / 4.0).max(0.25));
                let secs = Duration::from_secs_f64(secs);
                all[i].push(echo_load::client(addr, conns, SIZE, warmup, secs, child.id(), threads));
                child.kill().ok();
                child.wait().ok();
            }
        }
        let metrics: [Metric<echo_load::Figures>; 4] = [
            ("rps", "req/s", Better::Higher, |f| f.rps),
            ("p50", "µs", Better::Lower, |f| f.p50_us),
            ("p99", "µs", Better::Lower, |f| f.p99_us),
            ("cpu", "µs/req", Better::Lower, |f| f.cpu_us_per_req),
        ];
        for (metric, unit, better, figure) in metrics {
            let mut series = Series::new(format!("{conns} x {SIZE} B"), unit)
                .metric(metric)
                .better(better)
                .param("conns", conns)
                .param("size", SIZE)
                .param("secs", secs)
                .param("client_threads", threads)
                .base("tokio-mt2");
            for (server, figures) in servers.iter().zip(&all) {
                series = series.peer(server, figures.iter().map(figure).collect());
            }
            report.add(series);
        }
        let rps: Vec<f64> = all.iter().map(|f| median(f.iter().map(|f| f.rps).collect())).collect();
        let tokio = servers.iter().position(|s| *s == "tokio-mt2").unwrap();
        for (i, server) in servers.iter().enumerate() {
            let med = |f: fn(&echo_load::Figures) -> f64| median(all[i].iter().map(f).collect());
            let load = if i == 0 { format!("{conns} conns") } else { String::new() };
            println!(
                "{:<12} {:<10} {:>10.0} {:>8.0} {:>8.0} {:>11.2} {:>9.2}x",
                load,
                server,
                rps[i],
                med(|f| f.p50_us),
                med(|f| f.p99_us),
                med(|f| f.cpu_us_per_req),
                rps[i] / rps[tokio],
            );
        }
        println!("{:<12} scaling sprout-2 / sprout-1: {:.2}x", "", rps[1] / rps[0]);
    }
}

// ---------------------------------------------------------------------------
// The idle part.

fn idle_part(report: &mut Report, go: Option<&PathBuf>) {
    let mut servers = vec!["sprout", "sprout-owned", "tokio"];
    if go.is_some() {
        servers.push("go");
    }
    println!("idle connections: server RSS growth over {IDLE} connections (after {WARM}), each echoed 64 B once");
    println!("{:<14} {:>12} {:>12} {:>10}", "server", "bytes/conn", "MiB total", "vs tokio");
    let mut per = Vec::new();
    let mut total = Vec::new();
    // The kernel's side: slab growth per connection, both ends (loopback).
    let mut slab = Vec::new();
    for server in &servers {
        report::progress("scale", "idle connections", server, 1, 1);
        let (mut child, addr) = start_server(server, go);
        let pid = child.id();
        let exe = std::env::current_exe().expect("own path");
        let mut client = Command::new(exe)
            .args(["--idle-client", &addr.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the idle client");
        let mut lines = BufReader::new(client.stdout.take().unwrap()).lines();
        let mut stdin = client.stdin.take().unwrap();
        let mut wait_for = |what: &str| {
            for line in lines.by_ref() {
                if line.expect("the client's output") == what {
                    return;
                }
            }
            panic!("the idle client ended before {what:?}");
        };
        wait_for("warm");
        std::thread::sleep(Duration::from_millis(200));
        let (before, slab_before) = (rss_bytes(pid), slab_bytes());
        writeln!(stdin, "go").unwrap();
        wait_for("full");
        std::thread::sleep(Duration::from_millis(500));
        let (after, slab_after) = (rss_bytes(pid), slab_bytes());
        slab.push(slab_after.saturating_sub(slab_before) as f64 / IDLE as f64);
        drop(stdin);
        client.wait().ok();
        child.kill().ok();
        child.wait().ok();
        per.push(after.saturating_sub(before) as f64 / IDLE as f64);
        total.push(after as f64 / (1 << 20) as f64);
    }
    let mut series = Series::new("idle connections", "B/conn").metric("rss").param("conns", IDLE).base("tokio");
    for (server, per) in servers.iter().zip(&per) {
        series = series.peer(server, vec![*per]);
    }
    report.add(series);
    let tokio = per[servers.iter().position(|s| *s == "tokio").unwrap()];
    for (i, server) in servers.iter().enumerate() {
        println!("{:<14} {:>12.0} {:>12.1} {:>9.2}x", server, per[i], total[i], per[i] / tokio);
    }
    let sprout = per[0];
    println!("sprout vs tokio: {:.1}x less memory per idle connection", tokio / sprout);
    let kernel = median(slab) / 2.0;
    println!(
        "kernel slab per idle connection, one end: {kernel:.0} B (half the growth for both loopback ends; noisy: \
         the machine is shared)"
    );
    println!(
        "a million idle connections: {:.2} GiB for sprout, {:.2} GiB in the server's kernel",
        sprout * 1e6 / (1u64 << 30) as f64,
        kernel * 1e6 / (1u64 << 30) as f64
    );
}

/// The kernel's slab memory (`Slab:` in `/proc/meminfo`), in bytes.
fn slab_bytes() -> usize {
    let meminfo = std::fs::read_to_string("/proc/meminfo").expect("/proc/meminfo");
    let kb: usize = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("Slab:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("Slab");
    kb * 1024
}

/// VmRSS of `pid`, in bytes.
fn rss_bytes(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the server's status");
    let kb: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    kb * 1024
}

/// The idle client, a child of the orchestrator: `WARM` connections, a
/// line "warm", wait for a line on stdin, `IDLE` more, a line "full", then
/// hold them until stdin closes.
fn idle_client(addr: SocketAddr) {
    let _ = sprout::net::raise_fd_limit();
    let mut open = Vec::with_capacity(WARM + IDLE);
    let connect = |open: &mut Vec<std::net::TcpStream>, n: usize| {
        for _ in 0..n / 250 {
            let batch: Vec<std::net::TcpStream> =
                (0..250).map(|_| std::net::TcpStream::connect(addr).expect("connect")).collect();
            for mut s in &batch {
                s.write_all(&[b'x'; SIZE]).unwrap();
            }
            for mut s in &batch {
                let mut back = [0; SIZE];
                s.read_exact(&mut back).unwrap();
            }
            open.extend(batch);
        }
    };
    connect(&mut open, WARM);
    println!("warm");
    io::stdout().flush().unwrap();
    let mut line = String::new();
    io::stdin().read_line(&mut line).unwrap();
    connect(&mut open, IDLE);
    println!("full");
    io::stdout().flush().unwrap();
    let _ = io::stdin().read_line(&mut line);
}

// ---------------------------------------------------------------------------
// The servers, each in its own process.

/// Starts `server` and reads the address it prints.
fn start_server(server: &str, go: Option<&PathBuf>) -> (Child, SocketAddr) {
    let mut command = match (server, go) {
        ("go-2", Some(go)) => {
            let mut c = Command::new(go);
            c.env("GOMAXPROCS", "2");
            c
        }
        ("go", Some(go)) => {
            let mut c = Command::new(go);
            c.env("GOMAXPROCS", "1");
            c
        }
        _ => {
            let mut c = Command::new(std::env::current_exe().expect("own path"));
            c.args(["--server", server]);
            c
        }
    };
    let mut child = command.stdout(Stdio::piped()).spawn().expect("start the server");
    let addr = read_address(&mut child, server);
    (child, addr)
}

fn serve(server: &str) {
    let _ = sprout::net::raise_fd_limit();
    match server {
        "sprout" | "sprout-1" => serve_sprout(1, Balance::default()),
        "sprout-2" => serve_sprout(2, Balance::LeastConnections),
        "sprout-2k" => serve_sprout(2, Balance::Kernel),
        "sprout-owned" => serve_sprout_owned(),
        "tokio" => serve_tokio(tokio::runtime::Builder::new_current_thread()),
        "tokio-mt2" => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(2);
            serve_tokio(builder)
        }
        other => panic!("unknown server {other}"),
    }
}

/// `examples/echo_server.rs`: `read_lent`, on `workers` cores placed by `balance`.
fn serve_sprout(workers: usize, balance: Balance) {
    async fn echo(stream: sprout::net::TcpStream) -> io::Result<()> {
        loop {
            let data = stream.read_lent().await?;
            if data.is_empty() {
                return Ok(());
            }
            stream.write_all(&data).await?;
        }
    }
    sprout::run(async move {
        let server = sprout::net::StreamServer::bind("127.0.0.1:0", |s, _| echo(s))
            .await
            .unwrap()
            .workers(workers)
            .balance(balance);
        announce(server.local_addr().unwrap());
        server.serve_forever().await;
    });
}

/// The echo server before `read_lent`: an 8 KiB buffer in every task.
fn serve_sprout_owned() {
    async fn echo(stream: sprout::net::TcpStream) -> io::Result<()> {
        let mut buf = vec![0; 8 * 1024];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            stream.write_all(&buf[..n]).await?;
        }
    }
    sprout::run(async {
        let server = sprout::net::StreamServer::bind("127.0.0.1:0", |s, _| echo(s)).await.unwrap();
        announce(server.local_addr().unwrap());
        server.serve_forever().await;
    });
}

/// tokio: a task per connection, a 4 KiB buffer in the task.
fn serve_tokio(mut builder: tokio::runtime::Builder) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = builder.enable_io().build().unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        announce(listener.local_addr().unwrap());
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            tokio::spawn(async move {
                let mut buf = vec![0; 4096];
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
            });
        }
    });
}
