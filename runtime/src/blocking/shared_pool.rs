//! The process-wide pool behind `spawn_blocking`: it grows on demand up to
//! a cap and lets idle threads go.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

/// A unit of work.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The default cap on the shared pool's threads (tokio's default too).
pub const DEFAULT_MAX_THREADS: usize = 512;

/// How long a thread waits for work before it exits.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

static MAX_THREADS: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_THREADS);

/// Sets the cap on the shared blocking pool's threads (at least 1). Work
/// beyond the cap waits in a queue. Threads already running stay until
/// they go idle.
pub fn set_max_threads(n: usize) {
    MAX_THREADS.store(n.max(1), Ordering::Relaxed);
}

struct State {
    queue: VecDeque<Job>,
    threads: usize,
    /// Threads waiting on the condvar.
    idle: usize,
    /// Notifications sent and not yet consumed by a waking thread: idle
    /// threads beyond this number are free to take new work.
    notified: usize,
}

struct Pool {
    state: Mutex<State>,
    work: Condvar,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(State { queue: VecDeque::new(), threads: 0, idle: 0, notified: 0 }),
        work: Condvar::new(),
    })
}

/// Queues a job, starting a thread if none is idle and the cap allows.
pub(crate) fn submit(job: Job) {
    let pool = pool();
    let mut state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
    state.queue.push_back(job);
    if state.idle > state.notified {
        state.notified += 1;
        drop(state);
        pool.work.notify_one();
        return;
    }
    if state.threads < MAX_THREADS.load(Ordering::Relaxed) {
        state.threads += 1;
        drop(state);
        let spawned = thread::Builder::new().name("sprout-blocking".into()).spawn(worker);
        if spawned.is_err() {
            // Out of threads: the queued job waits for an existing worker.
            let mut state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
            state.threads -= 1;
            assert!(state.threads > 0, "sprout: cannot start any blocking-pool thread");
        }
    }
}

fn worker() {
    let pool = pool();
    let mut state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            // Jobs catch their own panics (see spawn_blocking); this one is
            // belt and braces so the thread always survives.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
            continue;
        }
        state.idle += 1;
        let (next, timeout) = pool.work.wait_timeout(state, KEEP_ALIVE).unwrap_or_else(|e| e.into_inner());
        state = next;
        state.idle -= 1;
        // Consume one notification, ours or one meant for a sibling that
        // will find the queue empty instead: either way the count stays true.
        state.notified = state.notified.saturating_sub(1);
        if timeout.timed_out() && state.queue.is_empty() {
            state.threads -= 1;
            return;
        }
    }
}
