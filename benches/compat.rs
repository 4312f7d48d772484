//! The cost of `sprout::compat`: reqwest fetching pages through the bridge
//! (green tasks, each request wrapped in `.compat()`, the side runtime's
//! one worker driving the sockets) against reqwest on a plain tokio
//! `current_thread` runtime, from the same sprout HTTP server.
//!
//! ```text
//! cargo bench --bench compat --features tokio,tls                    # 5 rounds of 100,000 pages
//! cargo bench --bench compat --features tokio,tls -- --rounds 7 --pages 50000
//! ```
//!
//! The server (`GET /` answers `Hello, World!`, as in `benches/http.rs`)
//! runs in its own process pinned to core 0; each client run is a fresh
//! process pinned to core 1 (`taskset -c 1`: the bridge's side-runtime
//! thread shares that core with sprout's loop). In each, 50 tasks share
//! one `reqwest::Client` and fetch the pages, after 10,000 pages of
//! warm-up. The clients alternate, round after round; the figures are the
//! medians of `--rounds` runs (default 5). The goal: the bridge at 0.8x
//! plain tokio's pages per second or better.

#[path = "support/hyper_hello.rs"]
mod hyper_hello;
mod support;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use hyper_hello::HELLO;
use support::report::{self, Better, Metric, Report, Series};
use support::server_process::{announce, cpu_seconds, run_pinned, start_pinned};

const CLIENTS: [&str; 2] = ["bridge", "tokio"];
const TASKS: usize = 50;
const WARMUP: usize = 10_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    if value("--server").is_some() {
        let _ = sprout::net::raise_fd_limit();
        return hyper_hello::serve_sprout(announce);
    }
    let pages = value("--pages").and_then(|p| p.parse().ok()).unwrap_or(100_000usize);
    if let Some(client) = value("--client") {
        let url = value("--url").expect("--url");
        let run = match client.as_str() {
            "bridge" => client_bridge(&url, pages),
            "tokio" => client_tokio(&url, pages),
            other => panic!("unknown client {other}"),
        };
        println!("{:.0} {:.3}", run.rate, run.cpu_us);
        return;
    }
    let rounds = value("--rounds").and_then(|r| r.parse().ok()).unwrap_or(5usize);
    orchestrate(rounds, pages);
}

/// One client run's figures.
#[derive(Clone, Copy, Debug)]
struct Run {
    /// Pages per second.
    rate: f64,
    /// The client process's CPU time (user + system, every thread) per
    /// page, in µs: the fair figure when other work shares the machine,
    /// since a process of two busy threads gets more of a loaded core
    /// than a process of one.
    cpu_us: f64,
}

/// The clock and the process's CPU time, read before a measured phase.
struct Mark(Instant, f64);

impl Mark {
    fn now() -> Mark {
        Mark(Instant::now(), cpu_seconds(std::process::id()))
    }

    /// The figures of `pages` fetched since the mark.
    fn run(self, pages: usize) -> Run {
        let cpu = cpu_seconds(std::process::id()) - self.1;
        Run { rate: pages as f64 / self.0.elapsed().as_secs_f64(), cpu_us: cpu * 1e6 / pages as f64 }
    }
}

fn orchestrate(rounds: usize, pages: usize) {
    let (mut server, addr) = start_pinned(0, "sprout");
    let url = format!("http://{addr}/");
    println!("reqwest, {TASKS} tasks sharing one client, {pages} pages from the sprout server, medians of {rounds}\n");
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); CLIENTS.len()];
    for round in 0..rounds {
        let order: Vec<usize> = if round % 2 == 0 { vec![0, 1] } else { vec![1, 0] };
        for i in order {
            report::progress("compat", "reqwest", CLIENTS[i], round + 1, rounds);
            runs[i].push(client_run(CLIENTS[i], &url, pages));
        }
    }
    let mut report = Report::new("compat");
    let figures: [Metric<Run>; 2] =
        [("fetch", "pages/s", Better::Higher, |r| r.rate), ("cpu", "µs CPU/page", Better::Lower, |r| r.cpu_us)];
    let mut medians = Vec::new();
    for (metric, unit, better, figure) in figures {
        let mut series =
            Series::new("reqwest", unit).metric(metric).better(better).param("pages", pages).param("tasks", TASKS);
        for (client, runs) in CLIENTS.iter().zip(&runs) {
            series = series.peer(client, runs.iter().map(figure).collect());
        }
        report.add(series);
        medians
            .push(runs.iter().map(|r| report::median(&r.iter().map(figure).collect::<Vec<_>>())).collect::<Vec<_>>());
    }
    println!("| client | pages/s | µs CPU / page | runs (pages/s) |");
    println!("| --- | ---: | ---: | --- |");
    for (i, client) in CLIENTS.iter().enumerate() {
        let each: Vec<String> = runs[i].iter().map(|r| format!("{:.0}", r.rate)).collect();
        println!("| {client} | {:.0} | {:.2} | {} |", medians[0][i], medians[1][i], each.join(", "));
    }
    println!(
        "\nbridge/tokio: pages/s {:.3}x (goal >= 0.8x), CPU per page {:.3}x",
        medians[0][0] / medians[0][1],
        medians[1][0] / medians[1][1]
    );
    server.kill().ok();
    server.wait().ok();
}

/// Runs a client process pinned to core 1; returns its figures.
fn client_run(client: &str, url: &str, pages: usize) -> Run {
    let out = run_pinned(1, &["--client", client, "--url", url, "--pages", &pages.to_string()], client);
    let mut fields = out.split_whitespace().map(|f| f.parse::<f64>().expect("a number"));
    Run { rate: fields.next().expect("pages/s"), cpu_us: fields.next().expect("µs CPU/page") }
}

/// reqwest is built with `rustls-no-provider` (see compat/Cargo.toml):
/// every `Client` needs a process-wide provider, even for http.
fn client() -> reqwest::Client {
    let _ = sprout::tls::rustls::crypto::CryptoProvider::install_default((*sprout::tls::provider()).clone());
    reqwest::Client::new()
}

/// Fetches the warm-up pages, then `pages` measured ones, each batch
/// through `fetch_all(total)`.
async fn warm_then_measure<F: Future<Output = ()>>(pages: usize, mut fetch_all: impl FnMut(usize) -> F) -> Run {
    fetch_all(WARMUP).await;
    let mark = Mark::now();
    fetch_all(pages).await;
    mark.run(pages)
}

/// One task's share: fetches pages until `left` runs out, each request
/// wrapped in `.compat()` if `bridged`.
async fn fetch_share(client: reqwest::Client, url: String, left: Arc<AtomicUsize>, bridged: bool) {
    use sprout::compat::CompatExt;
    while left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
        let page = async { client.get(&url).send().await?.bytes().await };
        let body = if bridged { page.compat().await } else { page.await };
        assert_eq!(body.expect("fetch").len(), HELLO.len());
    }
}

/// Green tasks, each request wrapped in `.compat()`.
fn client_bridge(url: &str, pages: usize) -> Run {
    sprout::run(async {
        let client = client();
        warm_then_measure(pages, |total| {
            let left = Arc::new(AtomicUsize::new(total));
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| sprout::spawn(fetch_share(client.clone(), url.to_owned(), left.clone(), true)))
                .collect();
            async move {
                for task in sprout::joinall(tasks).await {
                    task.unwrap();
                }
            }
        })
        .await
    })
}

/// tokio tasks on a `current_thread` runtime.
fn client_tokio(url: &str, pages: usize) -> Run {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = client();
        warm_then_measure(pages, |total| {
            let left = Arc::new(AtomicUsize::new(total));
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| tokio::spawn(fetch_share(client.clone(), url.to_owned(), left.clone(), false)))
                .collect();
            async move {
                for task in tasks {
                    task.await.unwrap();
                }
            }
        })
        .await
    })
}
