//! An HTTP client in the role of `requests` under gevent.
//!
//! ```text
//! cargo run --release --example http_client --features http -- http://127.0.0.1:8080/
//! cargo run --release --example http_client --features tls -- https://www.rust-lang.org/
//! cargo run --release --example http_client --features http -- --bench 20000
//! cargo run --release --example http_client --features http -- --bench 20000 --concurrency 100 http://127.0.0.1:8080/
//! ```
//!
//! With a URL it fetches the page and prints the status, the headers and
//! the body. With `--bench N` it fetches N pages through a pool of green
//! tasks (`--concurrency`, default 50) sharing one `Client`, whose
//! keep-alive pool then holds one connection per task; without a URL it
//! first starts a hello-world server of its own on loopback.

use std::time::{Duration, Instant};

use sprout::http::{Body, Client, Response, Server};
use sprout::pool::Pool;

async fn fetch(url: &str) -> Result<(), sprout::http::client::Error> {
    let client = Client::new();
    let resp = client.get(url).await?;
    println!("{:?} {}", resp.version(), resp.status());
    for (name, value) in resp.headers() {
        println!("{name}: {}", value.to_str().unwrap_or("(binary)"));
    }
    println!();
    println!("{}", resp.text().await?);
    Ok(())
}

async fn bench(url: String, pages: usize, concurrency: usize) {
    let client = Client::new();
    let pool = Pool::new(concurrency);
    let start = Instant::now();
    let failures = std::rc::Rc::new(std::cell::Cell::new(0usize));
    for _ in 0..pages {
        let (client, url, failures) = (client.clone(), url.clone(), failures.clone());
        // Waits while `concurrency` fetches are running: the pool is the throttle.
        pool.spawn(async move {
            let ok = match client.get(&url).await {
                Ok(resp) => resp.status().is_success() && resp.bytes().await.is_ok(),
                Err(_) => false,
            };
            if !ok {
                failures.set(failures.get() + 1);
            }
        })
        .await;
    }
    pool.join().await;
    let took = start.elapsed();
    println!(
        "{pages} pages in {took:.2?}: {:.0} pages/s, {} failed, {} connections pooled",
        pages as f64 / took.as_secs_f64(),
        failures.get(),
        client.idle_connections()
    );
}

fn main() {
    let mut url = None;
    let mut pages = None;
    let mut concurrency = 50;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => pages = args.next().and_then(|n| n.parse().ok()),
            "--concurrency" => concurrency = args.next().and_then(|n| n.parse().ok()).unwrap_or(0),
            _ if !arg.starts_with('-') => url = Some(arg),
            _ => pages = Some(0),
        }
    }
    if pages == Some(0) || concurrency == 0 || (url.is_none() && pages.is_none()) {
        eprintln!("usage: http_client URL | http_client --bench N [--concurrency C] [URL]");
        std::process::exit(2);
    }
    let _ = sprout::net::raise_fd_limit();
    sprout::run(async move {
        let Some(pages) = pages else {
            let url = url.expect("checked above");
            if let Err(e) = fetch(&url).await {
                eprintln!("http_client: {url}: {e}");
                std::process::exit(1);
            }
            return;
        };
        let mut server = None;
        let url = match url {
            Some(url) => url,
            None => {
                let local = Server::bind("127.0.0.1:0", |_req| async { Response::new(Body::from("Hello, World!")) })
                    .await
                    .expect("bind a loopback port");
                let url = format!("http://{}/", local.local_addr().expect("a bound listener"));
                println!("serving hello world on {url}");
                server = Some(local.start());
                url
            }
        };
        // One warm-up round, then the measured one.
        bench(url.clone(), pages.min(1000), concurrency).await;
        bench(url, pages, concurrency).await;
        if let Some(server) = server {
            server.stop_graceful(Duration::from_secs(1)).await;
        }
    });
}
