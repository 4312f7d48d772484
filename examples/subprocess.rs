//! Ten commands at once, each one's output printed line by line as it
//! comes, and a time limit that kills whatever runs too long: the seeds'
//! "run many jobs at once" lesson with processes, `gevent.subprocess` in a
//! `gevent.pool.Pool`.
//!
//! ```text
//! cargo run --example subprocess
//! cargo run --example subprocess -- 2500     # the time limit, in ms (default 1000)
//! ```
//!
//! Every command runs in its own green task from a `Pool` of ten; all of
//! them share one thread. While a child computes or sleeps, its task waits
//! on the child's pipes and pidfd, and the other tasks print. A child that
//! outlives the limit is killed with its whole process group (the shell
//! and whatever it started), and its report says so.

use std::io;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::io::{AsyncBufReadExt, AsyncRead, BufReader};
use sprout::pool::Pool;
use sprout::process::{Command, ExitStatus, Stdio};

/// The commands: `sh -c` scripts; a leading `!` runs the program directly
/// (here, one that does not exist).
const JOBS: [&str; 10] = [
    "uname -sr",
    "for i in 1 2 3 4 5; do echo tick $i; sleep 0.15; done",
    "seq 1 3",
    "echo 'a warning on stderr' >&2; exit 2",
    "sleep 3; echo 'too late: never printed'",
    "yes sprout | head -n 3",
    "ls / | head -n 4",
    "while true; do echo busy; sleep 0.4; done",
    "!sprout-no-such-tool --version",
    "printf 'a last line without a newline'",
];

/// How a job ended.
enum Outcome {
    Exited(ExitStatus),
    Killed(ExitStatus),
    Failed(io::Error),
}

fn main() {
    let limit = Duration::from_millis(std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1000));
    println!("{} commands at once, {} ms each at most\n", JOBS.len(), limit.as_millis());
    sprout::run(async move {
        let start = Instant::now();
        let pool = Pool::new(JOBS.len());
        let reports = pool.map(|(id, job)| run_job(id, job, limit), JOBS.into_iter().enumerate()).await;

        println!("\n{:>3}  {:<55} {:>8}  outcome", "job", "command", "time");
        for (id, report) in reports.into_iter().enumerate() {
            let (took, outcome) = report.expect("job tasks do not panic");
            let outcome = match outcome {
                Outcome::Exited(status) => format!("exited: {status}"),
                Outcome::Killed(status) => format!("killed after {} ms: {status}", limit.as_millis()),
                Outcome::Failed(e) => format!("failed: {e}"),
            };
            println!("{id:>3}  {:<55} {:>6} ms  {outcome}", JOBS[id].trim_start_matches('!'), took.as_millis());
        }
        println!("\nall done in {} ms on one thread", start.elapsed().as_millis());
    });
}

/// Runs one job under the time limit, printing its lines as they come.
async fn run_job(id: usize, job: &'static str, limit: Duration) -> (Duration, Outcome) {
    let start = Instant::now();
    let mut cmd = match job.strip_prefix('!') {
        // A program run directly, without a shell.
        Some(line) => {
            let mut words = line.split(' ');
            let mut cmd = Command::new(words.next().expect("a program"));
            cmd.args(words);
            cmd
        }
        None => {
            let mut cmd = Command::new("sh");
            cmd.arg("-c").arg(job);
            cmd
        }
    };
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // If this task were killed, the child would go with it.
        .kill_on_drop(true)
        // Its own process group, so that the limit kills the shell's
        // children too (`sleep`, `yes`...), not only the shell.
        .as_std_mut()
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return (start.elapsed(), Outcome::Failed(e)),
    };
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    // stderr in a task of its own, stdout here: both as they come.
    let errors = sprout::spawn(print_lines(id, "err", stderr));
    let finished = sprout::timeout(limit, async {
        print_lines(id, "out", stdout).await;
        child.wait().await
    })
    .await;
    let outcome = match finished {
        Ok(Ok(status)) => Outcome::Exited(status),
        Ok(Err(e)) => Outcome::Failed(e),
        Err(_elapsed) => {
            kill_group(child.id());
            match child.wait().await {
                Ok(status) => Outcome::Killed(status),
                Err(e) => Outcome::Failed(e),
            }
        }
    };
    // The group is gone, so stderr is at its end: this returns at once.
    errors.await.expect("the stderr task does not panic");
    (start.elapsed(), outcome)
}

/// Prints each line of `pipe` as soon as it is complete.
async fn print_lines(id: usize, what: &str, pipe: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(pipe).lines();
    while let Some(line) = lines.next().await {
        match line {
            Ok(line) => println!("[{id} {what}] {line}"),
            Err(e) => println!("[{id} {what}] (read error: {e})"),
        }
    }
}

/// Kills the process group `pgid` (the child made it with `process_group(0)`).
fn kill_group(pgid: u32) {
    // SAFETY: killpg(2) only sends a signal. The group is led by our child,
    // which is not reaped yet (we wait for it after), so the id is still
    // its own and names no other group.
    unsafe { libc::killpg(pgid as libc::pid_t, libc::SIGKILL) };
}
