//! The seeds' crawler: download, then parse and save in a done-callback,
//! with a pool of green tasks of size 1, 2, 8 and 32.
//!
//! Nothing leaves the machine: the program first starts an HTTP server on
//! loopback (`sprout::http::Server`) that answers each page after a delay,
//! standing in for a slow web site. Then, for each pool size, it fetches
//! every page with `sprout::http::Client` (the seeds' `requests.get`, with
//! keep-alive) under `Pool::apply_async` and hangs the parse-and-save step
//! on each fetch's `on_ok` callback, like the seeds'
//! `pool.submit(get).add_done_callback(parse)`. The timings show the
//! speed-up from concurrency: with a 50 ms page delay, 32 pages take about
//! 1.6 s one at a time and about 50 ms with 32 at once.
//!
//! ```text
//! cargo run --release --example crawler --features http
//! cargo run --release --example crawler --features http -- --pages 64 --delay-ms 20 --sizes 1,4,16,64
//! ```

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use sprout::http::{Body, Client, Incoming, Request, Response, Server, StatusCode, header};
use sprout::pool::Pool;

/// A page as the "site" serves it.
fn page_html(n: usize, pages: usize) -> String {
    let next = (n + 1) % pages;
    format!(
        "<html><head><title>Page {n}</title></head><body>\
         <p>Green tasks switch on I/O.</p><a href=\"/page/{next}\">next</a> <a href=\"/\">home</a>\
         </body></html>"
    )
}

/// The site: answers `GET /page/N` after `delay`.
async fn serve_page(req: Request<Incoming>, delay: Duration, pages: usize) -> Response<Body> {
    sprout::sleep(delay).await; // the slow server
    let page = req.uri().path().strip_prefix("/page/").and_then(|n| n.parse::<usize>().ok());
    let (status, body) = match page {
        Some(n) if n < pages => (StatusCode::OK, page_html(n, pages)),
        _ => (StatusCode::NOT_FOUND, String::from("no such page")),
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/html"));
    resp
}

/// A downloaded page.
struct Page {
    url: String,
    status: u16,
    body: String,
}

/// The "get" step: `requests.get(url)`, on a kept-alive pooled connection.
async fn fetch(client: Client, url: String) -> Result<Page, sprout::http::client::Error> {
    let resp = client.get(&url).await?;
    let status = resp.status().as_u16();
    Ok(Page { url, status, body: resp.text().await? })
}

/// What the "parse" step extracts.
struct Parsed {
    url: String,
    title: String,
    links: usize,
}

/// The "parse" step.
fn parse(page: &Page) -> Parsed {
    let title = page
        .body
        .split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map_or_else(|| format!("(status {})", page.status), |(title, _)| title.to_owned());
    Parsed { url: page.url.clone(), title, links: page.body.matches("<a href=").count() }
}

/// Crawls every page with a pool of `size` tasks; returns the saved
/// results and how long it took.
async fn crawl(addr: SocketAddr, pages: usize, size: usize) -> (Vec<Parsed>, usize, Duration) {
    let saved: Rc<RefCell<Vec<Parsed>>> = Rc::default();
    let failures = Rc::new(RefCell::new(0usize));
    let pool = Pool::new(size);
    // One client for the whole crawl: its pool keeps a connection per task.
    let client = Client::new();
    let start = Instant::now();
    for n in 0..pages {
        let fetched = pool.apply_async(fetch(client.clone(), format!("http://{addr}/page/{n}")));
        // The done-callback: parse and save, on the runtime thread, as soon
        // as this page is in (Python: future.add_done_callback(parse)).
        let store = saved.clone();
        fetched.on_ok(move |page| match page {
            Ok(page) => store.borrow_mut().push(parse(page)),
            Err(e) => eprintln!("crawler: fetch failed: {e}"),
        });
        let failed = failures.clone();
        fetched.on_err(move |e| {
            eprintln!("crawler: task failed: {e}");
            *failed.borrow_mut() += 1;
        });
    }
    pool.join().await;
    let took = start.elapsed();
    let saved = std::mem::take(&mut *saved.borrow_mut());
    let failed = *failures.borrow();
    (saved, failed, took)
}

struct Options {
    pages: usize,
    delay: Duration,
    sizes: Vec<usize>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options { pages: 32, delay: Duration::from_millis(50), sizes: vec![1, 2, 8, 32] };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--pages" => options.pages = value()?.parse().map_err(|e| format!("--pages: {e}"))?,
            "--delay-ms" => {
                options.delay = Duration::from_millis(value()?.parse().map_err(|e| format!("--delay-ms: {e}"))?)
            }
            "--sizes" => {
                options.sizes = value()?
                    .split(',')
                    .map(|s| s.trim().parse::<usize>().map_err(|e| format!("--sizes: {s:?}: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "-h" | "--help" => {
                println!("usage: crawler [--pages N] [--delay-ms MS] [--sizes 1,2,8,32]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    if options.pages == 0 || options.sizes.is_empty() || options.sizes.contains(&0) {
        return Err("pages and pool sizes must be at least 1".into());
    }
    Ok(options)
}

fn main() {
    let options = match parse_args() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("crawler: {e}");
            std::process::exit(2);
        }
    };
    let result: io::Result<()> = sprout::run(async move {
        let (delay, pages) = (options.delay, options.pages);
        let site = Server::bind("127.0.0.1:0", move |req| serve_page(req, delay, pages)).await?;
        let addr = site.local_addr()?;
        let site = site.start();
        println!("site on http://{addr}: {pages} pages, {delay:?} per page\n");
        println!("{:>9} {:>10} {:>8} {:>9}", "pool size", "time", "pages", "speed-up");
        let mut baseline = None;
        for &size in &options.sizes {
            let (saved, failed, took) = crawl(addr, pages, size).await;
            let base = *baseline.get_or_insert(took);
            println!(
                "{size:>9} {:>10} {:>8} {:>8.1}x",
                format!("{took:.2?}"),
                saved.len(),
                base.as_secs_f64() / took.as_secs_f64()
            );
            if failed > 0 || saved.len() != pages {
                return Err(io::Error::other(format!("{} pages saved, {failed} failed", saved.len())));
            }
            if size == *options.sizes.last().expect("at least one size") {
                let first = saved.iter().find(|p| p.url.ends_with("/page/0")).unwrap_or(&saved[0]);
                println!("\nsaved, for example: {} -> {:?}, {} links", first.url, first.title, first.links);
            }
        }
        site.stop();
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("crawler: {e}");
        std::process::exit(1);
    }
}
