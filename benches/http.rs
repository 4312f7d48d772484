//! The HTTP benchmark: `wrk` against sprout's HTTP server (the hello route
//! of `examples/http_server.rs`) and against hyper on tokio's
//! `current_thread` runtime, then sprout's `Client` against hyper-util's
//! pooled client on tokio, fetching from the same server.
//!
//! ```text
//! apt-get install -y wrk                                          # once (Debian's package)
//! cargo bench --bench http --features hyper-util                  # 50 and 1,000 connections, 5 rounds
//! cargo bench --bench http --features hyper-util -- --rounds 1 --secs 2   # a quick look
//! cargo bench --bench http --features hyper-util -- --server sprout       # a server alone (prints its address)
//! cargo bench --bench http --features hyper-util -- --loop 30000          # for callgrind: see below
//! ```
//!
//! `--loop N` needs no wrk: one process, one thread, sprout's server and a
//! raw keep-alive client on one runtime, N requests one after another, each
//! with wrk's 57-byte head (`--head browser`: a browser's, 529 bytes).
//! Under callgrind, the instructions of two runs (10,000 and 30,000
//! requests) differ by the cost of 20,000 requests, client included and
//! start-up cancelled out: a steady figure to compare two versions of the
//! server (docs/benchmarks-http.md).
//!
//! Each server runs in its own process pinned to core 0 (`taskset -c 0`);
//! `wrk -t1`, and each client, run pinned to core 1. Both servers answer
//! `GET /` with `Hello, World!` (13 bytes from a static), keep-alive,
//! `TCP_NODELAY`, and a header-read timeout (sprout's own clock; hyper's
//! 30 s `header_read_timeout` on tokio's timer). At each connection count
//! the servers alternate, run after run (`--rounds`, default 5), each run
//! a 1 s warm-up then `--secs` (default 5) measured; the figures are the
//! medians. Server CPU per request comes from `/proc/PID/stat`
//! (utime + stime) over the measured run.
//!
//! The client figures: 50 green tasks (tokio tasks) share one client and
//! fetch `--pages` pages (default 200,000) from the sprout server, after
//! 10,000 pages of warm-up.

#[path = "support/hyper_hello.rs"]
mod hyper_hello;
mod support;

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::time::Instant;

use hyper_hello::HELLO;
use support::report::{self, Better, Metric, Report, Series};
use support::server_process::{announce, cpu_times, run_pinned, start_pinned};
use support::wrk;

const SERVERS: [&str; 2] = ["sprout", "tokio"];
const CLIENTS: [&str; 2] = ["sprout", "hyper-util"];
const CONNS: [usize; 2] = [50, 1000];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    if let Some(server) = value("--server") {
        return serve(&server);
    }
    if let Some(n) = value("--loop") {
        let head = if value("--head").as_deref() == Some("browser") { BROWSER_HEAD } else { WRK_HEAD };
        return request_loop(n.parse().expect("--loop N"), head);
    }
    if let Some(client) = value("--client") {
        let url = value("--url").expect("--url");
        let pages = value("--pages").and_then(|p| p.parse().ok()).unwrap_or(200_000);
        return run_client(&client, &url, pages);
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("benches/http: wrk is not installed (apt-get install -y wrk); nothing measured");
        return;
    }
    let rounds = value("--rounds").and_then(|r| r.parse().ok()).unwrap_or(5);
    let secs = value("--secs").and_then(|s| s.parse().ok()).unwrap_or(5u32);
    let pages = value("--pages").and_then(|p| p.parse().ok()).unwrap_or(200_000usize);
    orchestrate(rounds, secs, pages);
}

/// One wrk run's figures.
#[derive(Clone, Copy, Debug)]
struct Figures {
    rps: f64,
    p99_ms: f64,
    cpu_us_per_req: f64,
    /// The user-space part of `cpu_us_per_req` (the rest is the kernel's).
    user_us_per_req: f64,
}

fn orchestrate(rounds: usize, secs: u32, pages: usize) {
    let _ = sprout::net::raise_fd_limit();
    let mut servers: Vec<(Child, SocketAddr)> = SERVERS.iter().map(|s| start_pinned(0, s)).collect();
    let mut report = Report::new("http");
    println!("HTTP hello world, server on core 0, wrk -t1 on core 1, {rounds} rounds of {secs} s, medians\n");
    println!("| server | conns | req/s | µs CPU / req | of which user | p99 ms |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let mut medians = Vec::new();
    for conns in CONNS {
        let mut runs: Vec<Vec<Figures>> = vec![Vec::new(); SERVERS.len()];
        for round in 0..rounds {
            // Alternate who goes first.
            let order: Vec<usize> = if round % 2 == 0 { vec![0, 1] } else { vec![1, 0] };
            for i in order {
                report::progress("http", &format!("{conns} conns"), SERVERS[i], round + 1, rounds);
                let (child, addr) = &servers[i];
                wrk(*addr, conns, 1); // warm-up
                runs[i].push(measure(*addr, child.id(), conns, secs));
            }
        }
        let metrics: [Metric<Figures>; 4] = [
            ("rps", "req/s", Better::Higher, |f| f.rps),
            ("cpu", "µs/req", Better::Lower, |f| f.cpu_us_per_req),
            ("user", "µs/req", Better::Lower, |f| f.user_us_per_req),
            ("p99", "ms", Better::Lower, |f| f.p99_ms),
        ];
        for (metric, unit, better, figure) in metrics {
            let mut series = Series::new(format!("{conns} conns"), unit)
                .metric(metric)
                .better(better)
                .param("conns", conns)
                .param("secs", secs);
            for (server, figures) in SERVERS.iter().zip(&runs) {
                series = series.peer(server, figures.iter().map(figure).collect());
            }
            report.add(series);
        }
        for (i, server) in SERVERS.iter().enumerate() {
            let m = Figures {
                rps: median(runs[i].iter().map(|f| f.rps).collect()),
                p99_ms: median(runs[i].iter().map(|f| f.p99_ms).collect()),
                cpu_us_per_req: median(runs[i].iter().map(|f| f.cpu_us_per_req).collect()),
                user_us_per_req: median(runs[i].iter().map(|f| f.user_us_per_req).collect()),
            };
            println!(
                "| {server} | {conns} | {:.0} | {:.2} | {:.2} | {:.2} |",
                m.rps, m.cpu_us_per_req, m.user_us_per_req, m.p99_ms
            );
            medians.push((conns, m));
        }
    }
    println!();
    for pair in medians.chunks(2) {
        let (conns, sprout, tokio) = (pair[0].0, pair[0].1, pair[1].1);
        println!(
            "{conns} conns: sprout/tokio req/s {:.3}x, CPU/req {:.3}x, p99 {:.3}x",
            sprout.rps / tokio.rps,
            sprout.cpu_us_per_req / tokio.cpu_us_per_req,
            sprout.p99_ms / tokio.p99_ms
        );
    }

    // The clients, against the sprout server.
    let url = format!("http://{}/", servers[0].1);
    println!("\nclients: 50 tasks sharing one client, {pages} pages from the sprout server, medians of {rounds}\n");
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); CLIENTS.len()];
    for round in 0..rounds {
        let order: Vec<usize> = if round % 2 == 0 { vec![0, 1] } else { vec![1, 0] };
        for i in order {
            report::progress("http", "client", CLIENTS[i], round + 1, rounds);
            rates[i].push(client_rate(CLIENTS[i], &url, pages));
        }
    }
    let mut series = Series::new("client", "pages/s").metric("fetch").better(Better::Higher).param("pages", pages);
    for (client, runs) in CLIENTS.iter().zip(&rates) {
        series = series.peer(client, runs.clone());
    }
    report.add(series);
    let medians: Vec<f64> = rates.into_iter().map(median).collect();
    println!("| client | pages/s |");
    println!("| --- | ---: |");
    for (client, rate) in CLIENTS.iter().zip(&medians) {
        println!("| {client} | {rate:.0} |");
    }
    println!("\nsprout/hyper-util client {:.3}x", medians[0] / medians[1]);
    for (child, _) in &mut servers {
        child.kill().ok();
        child.wait().ok();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Runs wrk pinned to core 1; returns its output.
fn wrk(addr: SocketAddr, conns: usize, secs: u32) -> String {
    let out = Command::new("taskset")
        .args(["-c", "1", "wrk", "-t1", "--latency"])
        .args(["-c", &conns.to_string(), "-d", &format!("{secs}s"), "--timeout", "5s"])
        .arg(format!("http://{addr}/"))
        .output()
        .expect("run wrk");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn measure(addr: SocketAddr, pid: u32, conns: usize, secs: u32) -> Figures {
    let (user_before, sys_before) = cpu_times(pid);
    let out = wrk(addr, conns, secs);
    let (user_after, sys_after) = cpu_times(pid);
    let user = user_after - user_before;
    let cpu = user + sys_after - sys_before;
    let wrk::WrkReport { requests, rps, p99_ms: p99 } = wrk::parse(&out);
    Figures { rps, p99_ms: p99, cpu_us_per_req: cpu * 1e6 / requests, user_us_per_req: user * 1e6 / requests }
}

/// Runs a client process pinned to core 1; returns its pages per second.
fn client_rate(client: &str, url: &str, pages: usize) -> f64 {
    let out = run_pinned(1, &["--client", client, "--url", url, "--pages", &pages.to_string()], client);
    out.trim().parse().expect("pages per second")
}

// ---------------------------------------------------------------------------
// The servers.

fn serve(server: &str) {
    let _ = sprout::net::raise_fd_limit();
    match server {
        "sprout" => hyper_hello::serve_sprout(announce),
        "tokio" => {
            hyper_hello::serve(tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(), announce)
        }
        other => panic!("unknown server {other}"),
    }
}

/// A request head as wrk sends it.
const WRK_HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n\r\n";
/// A request head as a browser sends it.
const BROWSER_HEAD: &[u8] = b"GET /static/app.js?v=1234 HTTP/1.1\r\nHost: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n\
Cookie: session=abcdef0123456789abcdef0123456789; theme=dark; lang=en\r\n\
Referer: https://www.example.com/index.html\r\nSec-Fetch-Dest: script\r\nSec-Fetch-Mode: no-cors\r\n\r\n";

/// `--loop N`: N keep-alive requests from a raw client to sprout's server,
/// one after another, on one runtime (see the module docs).
fn request_loop(n: usize, head: &'static [u8]) {
    use sprout::http::{Body, Response, Server};
    sprout::run(async move {
        let server = Server::bind("127.0.0.1:0", |_req| async { Response::new(Body::from(HELLO)) }).await.unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let stream = sprout::net::TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 4096];
        for _ in 0..n {
            stream.write_all(head).await.unwrap();
            // Read until the response's body, which ends it.
            loop {
                let got = stream.read(&mut buf).await.unwrap();
                if buf[..got].ends_with(HELLO) {
                    break;
                }
            }
        }
        handle.stop();
    });
}

// ---------------------------------------------------------------------------
// The clients: 50 tasks share one client and fetch `pages` pages in all.

const TASKS: usize = 50;
const WARMUP: usize = 10_000;

fn run_client(client: &str, url: &str, pages: usize) {
    let rate = match client {
        "sprout" => client_sprout(url, pages),
        "hyper-util" => client_hyper_util(url, pages),
        other => panic!("unknown client {other}"),
    };
    println!("{rate:.0}");
}

fn client_sprout(url: &str, pages: usize) -> f64 {
    use std::cell::Cell;
    use std::rc::Rc;
    sprout::run(async {
        let client = sprout::http::Client::new();
        let mut rate = 0.0;
        for total in [WARMUP, pages] {
            let left = Rc::new(Cell::new(total));
            let start = Instant::now();
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let (client, url, left) = (client.clone(), url.to_owned(), left.clone());
                    sprout::spawn(async move {
                        while left.get() > 0 {
                            left.set(left.get() - 1);
                            let resp = client.get(&url).await.expect("fetch");
                            assert_eq!(resp.bytes().await.expect("body").len(), HELLO.len());
                        }
                    })
                })
                .collect();
            sprout::joinall(tasks).await;
            rate = total as f64 / start.elapsed().as_secs_f64();
        }
        rate
    })
}

fn client_hyper_util(url: &str, pages: usize) -> f64 {
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::{TokioExecutor, TokioTimer};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let uri: hyper::Uri = url.parse().unwrap();
    runtime.block_on(async {
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        let client: Client<_, Empty<Bytes>> =
            Client::builder(TokioExecutor::new()).pool_timer(TokioTimer::new()).build(connector);
        let mut rate = 0.0;
        for total in [WARMUP, pages] {
            let left = Arc::new(AtomicUsize::new(total));
            let start = Instant::now();
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let (client, uri, left) = (client.clone(), uri.clone(), left.clone());
                    tokio::spawn(async move {
                        while left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
                            let resp = client.get(uri.clone()).await.expect("fetch");
                            let body = resp.into_body().collect().await.expect("body").to_bytes();
                            assert_eq!(body.len(), HELLO.len());
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            rate = total as f64 / start.elapsed().as_secs_f64();
        }
        rate
    })
}
