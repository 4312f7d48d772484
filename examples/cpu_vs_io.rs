//! The seeds' GIL lesson, told for Rust: where CPU-bound and IO-bound work
//! should run.
//!
//! Python's threads cannot compute in parallel (the GIL), so the tutorials
//! send CPU work to processes and keep threads for waiting. Rust has no
//! GIL, and sprout's green tasks all share one thread, so the rules become:
//!
//! - waiting (sockets, timers): green tasks, thousands at a time, for free;
//! - computing, or a blocking call: a `ThreadPool` (or `spawn_blocking`),
//!   whose threads run on every core at once.
//!
//! ```text
//! cargo run --release --example cpu_vs_io
//! ```
//!
//! Each CPU job is calibrated to take about 50 ms on this machine, so the
//! figures mean the same in debug and release builds.

use std::time::{Duration, Instant};

use futures::StreamExt;
use sprout::blocking::ThreadPool;

/// Counts the primes below `n` by trial division: pure CPU, no memory.
fn count_primes(n: u64) -> u64 {
    (2..n).filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0)).count() as u64
}

/// The `n` for which `count_primes(n)` takes about `target`.
fn calibrate(target: Duration) -> u64 {
    let mut n = 1_000;
    loop {
        let start = Instant::now();
        std::hint::black_box(count_primes(n));
        let took = start.elapsed();
        if took >= target / 4 {
            // Trial division grows a little faster than n; close enough.
            return (n as f64 * target.as_secs_f64() / took.as_secs_f64()) as u64;
        }
        n *= 2;
    }
}

fn report(what: &str, start: Instant, note: &str) {
    println!("  {what:<46} {:>7.0} ms   {note}", start.elapsed().as_secs_f64() * 1e3);
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = (2 * cores).max(4);
    let n = calibrate(Duration::from_millis(50));
    println!("{jobs} jobs of ~50 ms each (count_primes({n})), {cores} cores\n");

    let pool = ThreadPool::default();
    sprout::run(async {
        println!("CPU-bound:");
        let start = Instant::now();
        let tasks = (0..jobs).map(|_| sprout::spawn(async move { count_primes(n) }));
        let green: Vec<u64> = sprout::joinall(tasks).await.into_iter().map(Result::unwrap).collect();
        report("green tasks (one thread)", start, "one after another: no parallelism, as with the GIL");

        let start = Instant::now();
        let work: Vec<_> = (0..jobs).map(|_| pool.submit(move || count_primes(n))).collect();
        let mut threaded = Vec::new();
        for w in work {
            threaded.push(w.await.unwrap());
        }
        report(&format!("ThreadPool::default() ({cores} threads)"), start, "every core at once: no GIL in Rust");
        assert_eq!(green, threaded);

        let start = Instant::now();
        let mapped: Vec<u64> = pool.map(count_primes, vec![n; jobs]).map(Result::unwrap).collect().await;
        report("ThreadPool::map", start, "the same, as Pool.map");
        assert_eq!(mapped, threaded);

        println!("\nIO-bound (each job waits 100 ms):");
        let start = Instant::now();
        let tasks = (0..jobs).map(|_| sprout::spawn(sprout::sleep(Duration::from_millis(100))));
        sprout::joinall(tasks).await;
        report("green tasks, sprout::sleep", start, "all wait at once, on one thread");

        let start = Instant::now();
        let tasks = (0..jobs).map(|_| {
            sprout::spawn(async { sprout::spawn_blocking(|| std::thread::sleep(Duration::from_millis(100))).await })
        });
        sprout::joinall(tasks).await;
        report("green tasks, blocking sleep via spawn_blocking", start, "each on a pool thread; the loop runs on");

        let start = Instant::now();
        let work: Vec<_> = (0..jobs).map(|_| pool.submit(|| std::thread::sleep(Duration::from_millis(100)))).collect();
        for w in work {
            w.await.unwrap();
        }
        report("ThreadPool::default(), blocking sleep", start, "a thread per wait: waits queue behind cores");

        let start = Instant::now();
        let tasks = (0..jobs).map(|_| sprout::spawn(async { std::thread::sleep(Duration::from_millis(100)) }));
        sprout::joinall(tasks).await;
        report("green tasks, blocking sleep in the task (wrong)", start, "blocks the loop: one after another");
    });
    pool.shutdown(true);
}
