//! The HTTP server on two cores: `sprout::http::Server` with 1 and 2
//! workers (`sprout-2`: `Balance::LeastConnections`, the default;
//! `sprout-2k`: `Balance::Kernel`) against hyper on tokio's multi_thread
//! runtime with 2 workers and Go's `net/http` with `GOMAXPROCS=2` (`go-2`,
//! only if `go` is installed), all answering `GET /` with `Hello, World!` (keep-alive, `TCP_NODELAY`).
//!
//! ```text
//! cargo bench --bench scale_http --features http                   # 50 and 1,000 connections, medians of 3
//! cargo bench --bench scale_http --features http -- --runs 5 --secs 5 --wrk-threads 2
//! ```
//!
//! The load client is `wrk` (`apt-get install -y wrk`), `--wrk-threads`
//! threads (default 1). Nothing is pinned: the servers and wrk share the
//! machine's cores. Servers interleave within each run; the table shows
//! medians, the server's CPU time per request (`/proc/PID/stat`) and
//! "scaling", 2 workers' requests/s over 1 worker's.

#[path = "support/hyper_hello.rs"]
mod hyper_hello;
mod support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use hyper_hello::HELLO;
use sprout::net::server::Balance;
use support::report::{self, Better, Metric, Report, Series};
use support::server_process::{announce, cpu_seconds, read_address};
use support::wrk;

const SERVERS: [&str; 4] = ["sprout-1", "sprout-2", "sprout-2k", "hyper-mt2"];
const POINTS: [usize; 2] = [50, 1000];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    if let Some(server) = flag("--server") {
        return serve(&server);
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("benches/scale_http: wrk is not installed (apt-get install -y wrk); nothing measured");
        return;
    }
    let runs = flag("--runs").and_then(|s| s.parse().ok()).unwrap_or(3usize).max(1);
    let secs = flag("--secs").and_then(|s| s.parse().ok()).unwrap_or(3u32);
    let threads = flag("--wrk-threads").and_then(|s| s.parse().ok()).unwrap_or(1usize);
    let go = support::foreign_echo::go_http();
    if go.is_none() {
        println!("(go not installed: no Go column; apt-get install -y golang-go)");
    }
    let mut report = Report::new("scale_http");
    println!("HTTP hello on 2 cores, wrk -t{threads} sharing the cores; medians of {runs} run(s) of {secs} s");
    println!("{:<12} {:<10} {:>10} {:>8} {:>11} {:>10}", "load", "server", "req/s", "p99 ms", "cpu us/req", "vs hyper");
    for conns in POINTS {
        let servers: Vec<&str> = SERVERS.iter().copied().chain(go.as_ref().map(|_| "go-2")).collect();
        let mut all: Vec<Vec<(f64, f64, f64)>> = servers.iter().map(|_| Vec::new()).collect();
        for run in 1..=runs {
            for (i, server) in servers.iter().enumerate() {
                report::progress("scale_http", &format!("{conns} conns"), server, run, runs);
                let (mut child, addr) = start_server(server, go.as_ref());
                all[i].push(measure(addr, child.id(), conns, secs, threads));
                child.kill().ok();
                child.wait().ok();
            }
        }
        let metrics: [Metric<(f64, f64, f64)>; 3] = [
            ("rps", "req/s", Better::Higher, |f| f.0),
            ("p99", "ms", Better::Lower, |f| f.1),
            ("cpu", "µs/req", Better::Lower, |f| f.2),
        ];
        for (metric, unit, better, figure) in metrics {
            let mut series = Series::new(format!("{conns} conns"), unit)
                .metric(metric)
                .better(better)
                .param("conns", conns)
                .param("secs", secs)
                .param("wrk_threads", threads)
                .base("hyper-mt2");
            for (server, figures) in servers.iter().zip(&all) {
                series = series.peer(server, figures.iter().map(figure).collect());
            }
            report.add(series);
        }
        let med = |i: usize, f: fn(&(f64, f64, f64)) -> f64| median(all[i].iter().map(f).collect());
        let hyper = med(SERVERS.len() - 1, |f| f.0);
        for (i, server) in servers.iter().enumerate() {
            let load = if i == 0 { format!("{conns} conns") } else { String::new() };
            println!(
                "{:<12} {:<10} {:>10.0} {:>8.2} {:>11.2} {:>9.2}x",
                load,
                server,
                med(i, |f| f.0),
                med(i, |f| f.1),
                med(i, |f| f.2),
                med(i, |f| f.0) / hyper
            );
        }
        println!("{:<12} scaling sprout-2 / sprout-1: {:.2}x", "", med(1, |f| f.0) / med(0, |f| f.0));
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn start_server(server: &str, go: Option<&std::path::PathBuf>) -> (Child, SocketAddr) {
    let mut command = match (server, go) {
        ("go-2", Some(go)) => {
            let mut c = Command::new(go);
            c.env("GOMAXPROCS", "2");
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

/// One wrk run: requests/s, p99 in ms, server CPU µs per request.
fn measure(addr: SocketAddr, pid: u32, conns: usize, secs: u32, threads: usize) -> (f64, f64, f64) {
    let cpu_before = cpu_seconds(pid);
    let out = Command::new("wrk")
        .args(["-t", &threads.to_string(), "--latency", "-c", &conns.to_string()])
        .args(["-d", &format!("{secs}s"), "--timeout", "5s"])
        .arg(format!("http://{addr}/"))
        .output()
        .expect("run wrk");
    let cpu = cpu_seconds(pid) - cpu_before;
    let out = String::from_utf8_lossy(&out.stdout);
    let wrk::WrkReport { requests, rps, p99_ms: p99 } = wrk::parse(&out);
    (rps, p99, cpu * 1e6 / requests)
}

fn serve(server: &str) {
    let _ = sprout::net::raise_fd_limit();
    match server {
        "sprout-1" => serve_sprout(1, Balance::default()),
        "sprout-2" => serve_sprout(2, Balance::LeastConnections),
        "sprout-2k" => serve_sprout(2, Balance::Kernel),
        "hyper-mt2" => hyper_hello::serve(
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap(),
            announce,
        ),
        other => panic!("unknown server {other}"),
    }
}

/// `examples/http_server.rs`'s hello route, on `workers` cores placed by `balance`.
fn serve_sprout(workers: usize, balance: Balance) {
    use sprout::http::{Body, Response, Server};
    sprout::run(async move {
        let server = Server::bind("127.0.0.1:0", |_req| async { Response::new(Body::from(HELLO)) })
            .await
            .unwrap()
            .workers(workers)
            .balance(balance);
        announce(server.local_addr().unwrap());
        server.serve_forever().await;
    });
}
