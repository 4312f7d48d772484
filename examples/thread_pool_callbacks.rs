//! The seeds' thread pools with callbacks, in sprout.
//!
//! - `concurrent.futures` (seeds 001, 002): `pool.submit(get, url)
//!   .add_done_callback(task)`, where the callback parses and saves what
//!   `get` downloaded; then `pool.map(get, urls)` and `shutdown(wait=True)`.
//! - The hand-made `ThreadPool(max_num)` of seed 004, whose `run(func,
//!   args, callback)` calls `callback(status, result)`: `status` is whether
//!   `func` succeeded.
//!
//! The "download" here is a blocking `std::thread::sleep` plus a made-up
//! page, so nothing leaves the machine; `examples/crawler.rs` fetches real
//! pages from a local server with green tasks.
//!
//! ```text
//! cargo run --example thread_pool_callbacks
//! ```

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sprout::JoinError;
use sprout::blocking::ThreadPool;

/// A blocking download: what `requests.get(url)` is to the seeds.
fn get(url: &str) -> Result<String, String> {
    std::thread::sleep(Duration::from_millis(100));
    if url.contains("missing") {
        return Err(format!("404 for {url}"));
    }
    Ok(format!("<html>{}</html>", url.repeat(3)))
}

fn parse(url: &str, page: &str) -> String {
    format!("{url} parse res is {}", page.len())
}

fn save(line: &str, store: &Mutex<Vec<String>>) {
    println!("save {line}");
    store.lock().unwrap().push(line.to_string());
}

fn main() {
    let urls = ["http://www.cnblogs.com/linhaifeng", "https://www.python.org", "https://www.openstack.org"];

    // pool = ThreadPoolExecutor(2); pool.submit(get, url).add_done_callback(task); pool.shutdown()
    let pool = ThreadPool::new(2);
    let saved = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    for url in urls {
        println!("GET {url}");
        let saved = saved.clone();
        pool.submit(move || get(url)).add_done_callback(move |res| match res {
            Ok(Ok(page)) => save(&parse(url, page), &saved),
            Ok(Err(http)) => println!("{url}: {http}"),
            Err(e) => println!("{url}: the download panicked: {e}"),
        });
    }
    pool.shutdown(true); // waits for the downloads; the callbacks ran on the workers
    println!("3 downloads on 2 threads: {:.1} s\n", start.elapsed().as_secs_f64());
    assert_eq!(saved.lock().unwrap().len(), 3);

    // res = pool.map(get, urls): results in order.
    let pool = ThreadPool::new(2);
    for (url, page) in urls.into_iter().zip(pool.map(|url: &str| get(url), urls)) {
        println!("{url}: {} bytes", page.unwrap().map(|p| p.len()).unwrap_or(0));
    }

    // The hand-made pool of seed 004: callback(status, result).
    println!();
    let callback = |status: bool, result: String| println!("callback: status={status} result={result}");
    let jobs: Vec<&str> = vec!["https://ok.example", "https://missing.example", "https://panic.example"];
    let mut pending = Vec::new();
    for url in jobs {
        let work = pool.submit(move || {
            if url.contains("panic") {
                panic!("action failed on {url}");
            }
            get(url)
        });
        work.add_done_callback(move |res: &Result<Result<String, String>, JoinError>| match res {
            Ok(Ok(page)) => callback(true, format!("{} bytes", page.len())),
            Ok(Err(e)) => callback(false, e.clone()),
            Err(e) => callback(false, e.to_string()),
        });
        pending.push(work);
    }
    // The pool (and its worker threads) survive a panicking action.
    for work in pending {
        let _ = work.wait();
    }
    let after = pool.submit(|| "the pool still works").wait().unwrap();
    println!("{after}");
    pool.shutdown(true);
}
