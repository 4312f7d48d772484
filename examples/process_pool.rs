//! The seeds' `multiprocessing.Pool`, with real processes: this binary
//! starts copies of itself as workers, sends each a share of CPU-bound
//! jobs over its stdin and reads the results back from its stdout, all
//! from green tasks on one thread. Then the same jobs go through a
//! `blocking::ThreadPool`, and both times are printed.
//!
//! ```text
//! cargo run --release --example process_pool
//! cargo run --release --example process_pool -- 8     # workers (default: one per core)
//! ```
//!
//! Expect the two times to be close: both use every core. The process
//! pool pays for starting the workers and for the pipes; the thread pool
//! shares memory and pays nothing of the sort. Python needs processes to
//! get past the GIL; Rust does not, so a thread pool is the default here,
//! and a process pool is for the cases `docs/process.md` lists: isolation
//! (a crash-prone or non-thread-safe library, untrusted input), memory
//! limits or memory that must be handed back (a worker can be restarted),
//! and work that is a program already.
//!
//! The protocol is one line per job: the parent writes `n`, the worker
//! answers `n result`. A worker is this same binary started with
//! `--worker`, a plain blocking program: it needs no runtime.

use std::io::{self, BufRead, Write};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::io::{AsyncBufReadExt, BufReader};
use sprout::blocking::ThreadPool;
use sprout::process::{Command, Stdio};

/// Jobs in all.
const JOBS: usize = 48;

/// The CPU-bound job, the same code in a worker and on a pool thread:
/// counts the primes below `n` by trial division.
fn count_primes(n: u64) -> u64 {
    (2..n).filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0)).count() as u64
}

/// A worker process: reads `n` per line, answers `n count_primes(n)`.
fn worker() -> io::Result<()> {
    let mut out = io::stdout().lock();
    for line in io::stdin().lock().lines() {
        let n: u64 = line?.trim().parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        writeln!(out, "{n} {}", count_primes(n))?;
        // One line per result: the parent sees each as soon as it is ready.
        out.flush()?;
    }
    Ok(())
}

/// The `n` for which `count_primes(n)` takes about `target`.
fn calibrate(target: Duration) -> u64 {
    let mut n = 1_000;
    loop {
        let start = Instant::now();
        std::hint::black_box(count_primes(n));
        let took = start.elapsed();
        if took >= target / 4 {
            return (n as f64 * target.as_secs_f64() / took.as_secs_f64()) as u64;
        }
        n *= 2;
    }
}

fn main() -> io::Result<()> {
    if std::env::args().any(|a| a == "--worker") {
        return worker();
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(cores);
    let base = calibrate(Duration::from_millis(20));
    // Sizes vary a little, so that results differ and shares are uneven.
    let jobs: Vec<u64> = (0..JOBS as u64).map(|i| base + i * base / 100).collect();
    println!("{JOBS} jobs of ~20 ms (count_primes), {workers} workers, {cores} cores\n");

    let pool = ThreadPool::new(workers);
    sprout::run(async {
        let start = Instant::now();
        let mut by_process = process_pool(workers, &jobs).await?;
        let process_time = start.elapsed();
        by_process.sort_unstable();

        let start = Instant::now();
        let by_thread: Vec<u64> = pool.map(count_primes, jobs.clone()).map(Result::unwrap).collect().await;
        let thread_time = start.elapsed();

        let by_thread: Vec<(u64, u64)> = jobs.iter().copied().zip(by_thread).collect();
        assert_eq!(by_process, by_thread, "both pools computed the same results");
        println!("\n  {:<34} {:>7.0} ms", format!("{workers} worker processes"), process_time.as_secs_f64() * 1e3);
        println!("  {:<34} {:>7.0} ms", format!("ThreadPool::new({workers})"), thread_time.as_secs_f64() * 1e3);
        println!(
            "\nsame {} results; processes took {:.2}x the threads' time",
            by_process.len(),
            process_time.as_secs_f64() / thread_time.as_secs_f64()
        );
        Ok::<_, io::Error>(())
    })?;
    pool.shutdown(true);
    Ok(())
}

/// Runs `jobs` on `workers` copies of this binary, job `i` on worker
/// `i % workers`, and returns `(n, result)` pairs in completion order.
async fn process_pool(workers: usize, jobs: &[u64]) -> io::Result<Vec<(u64, u64)>> {
    let exe = std::env::current_exe()?;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let share: Vec<u64> = jobs.iter().copied().skip(w).step_by(workers).collect();
        let mut child = Command::new(&exe)
            .arg("--worker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // A failing parent takes its workers along.
            .kill_on_drop(true)
            .spawn()?;
        println!("worker {w}: pid {}, {} jobs", child.id(), share.len());
        tasks.push(sprout::spawn(async move {
            // Jobs go in from one task while results come out in this one:
            // neither pipe can fill up and stall the other side.
            let stdin = child.stdin.take().expect("piped");
            let feeder = sprout::spawn(async move {
                for n in share {
                    stdin.write_all(format!("{n}\n").as_bytes()).await?;
                }
                // Dropping stdin here closes it: the worker's loop ends.
                Ok::<_, io::Error>(())
            });
            let mut results = Vec::new();
            let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
            while let Some(line) = lines.next().await {
                let line = line?;
                let (n, count) = line.split_once(' ').expect("a worker answers `n result`");
                results.push((n.parse::<u64>().expect("n"), count.parse::<u64>().expect("result")));
            }
            feeder.await.expect("the feeder does not panic")?;
            let status = child.wait().await?;
            if !status.success() {
                return Err(io::Error::other(format!("worker {w} failed: {status}")));
            }
            println!("worker {w}: done, {} results", results.len());
            Ok(results)
        }));
    }
    let mut all = Vec::new();
    for result in sprout::joinall(tasks).await {
        all.extend(result.expect("worker tasks do not panic")?);
    }
    Ok(all)
}
