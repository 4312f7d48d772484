//! Dropping a runtime ends, whatever other threads keep doing to it
//! ("Shutdown is bounded" in docs/architecture.md; issue 18, bug 1).
//!
//! The threads below never stop on their own account before the drop has
//! returned: they wake a task of the runtime, or post to it, in a loop.
//! A shutdown that waited for them would hang, so each test runs under
//! the support module's `watchdog`, which fails it instead.
//!
//! A waker that outlives its runtime leaks its task's block (its future
//! is gone already; see `task/waker.rs`), so Miri runs this file with
//! leaks ignored (`.ci/run`).

mod support;

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;

use sprout::{RemoteJoinHandle, Runtime, spawn, yield_now};
use support::watchdog;

/// The waker of a task of `rt` that waits forever.
fn pending_task_waker(rt: &Runtime) -> Waker {
    let slot = Arc::new(Mutex::new(None));
    rt.block_on({
        let slot = slot.clone();
        async move {
            spawn(poll_fn(move |cx| {
                *slot.lock().unwrap() = Some(cx.waker().clone());
                Poll::<()>::Pending
            }));
            // The task runs once and parks.
            yield_now().await;
        }
    });
    let waker = slot.lock().unwrap().take();
    waker.expect("the task ran and stored its waker")
}

/// Threads that each run their action in a loop until stopped.
struct Hammer<T> {
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<Vec<T>>>,
}

impl<T: Send + 'static> Hammer<T> {
    /// Starts `n` threads running `action(thread, round)` in a loop
    /// (keeping what it returns), and returns once each has run it at least
    /// once, so the loops are going when the caller drops the runtime.
    fn start(n: usize, action: impl Fn(usize, u32) -> Option<T> + Send + Sync + 'static) -> Hammer<T> {
        let (stop, going) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
        let action = Arc::new(action);
        let threads = (0..n)
            .map(|i| {
                let (stop, going, action) = (stop.clone(), going.clone(), action.clone());
                thread::spawn(move || {
                    let mut kept = Vec::new();
                    kept.extend(action(i, 0));
                    going.fetch_add(1, Ordering::SeqCst);
                    let mut round = 0u32;
                    while !stop.load(Ordering::SeqCst) {
                        round = round.saturating_add(1);
                        kept.extend(action(i, round));
                        if cfg!(miri) {
                            // Miri's threads take turns; let the others (and the drop) run.
                            thread::yield_now();
                        }
                    }
                    kept
                })
            })
            .collect();
        while going.load(Ordering::SeqCst) < n {
            thread::yield_now();
        }
        Hammer { stop, threads }
    }

    /// Stops the threads and returns what their actions kept.
    fn stop(self) -> Vec<T> {
        self.stop.store(true, Ordering::SeqCst);
        self.threads.into_iter().flat_map(|t| t.join().unwrap()).collect()
    }
}

/// Issue 18, bug 1: three threads calling `wake_by_ref` in a loop on the
/// waker of a pending task. The drop used to drain the mailbox until it
/// stayed empty, which those threads never let happen: it never returned.
#[test]
fn dropping_a_runtime_ends_while_threads_keep_waking_a_task() {
    watchdog(Duration::from_secs(30), || {
        let rt = Runtime::new().unwrap();
        let waker = pending_task_waker(&rt);
        let hammer = Hammer::start(3, move |_, _| {
            waker.wake_by_ref();
            None::<()>
        });
        drop(rt);
        hammer.stop();
    });
}

/// The stress variant: more threads, some waking the task and some posting
/// `Handle::spawn`s of futures that never finish, racing the drop, many
/// times over. Every drop returns, and every spawn resolves to `Killed`
/// (it was accepted and killed, or refused), none left hanging.
#[test]
fn wakes_and_spawns_racing_the_drop_all_settle() {
    let rounds = if cfg!(miri) { 2 } else { 10 };
    // Per spawning thread and round: a few milliseconds of posting, well
    // past the drop's start (which waits only for every thread to begin).
    const SPAWNS: u32 = if cfg!(miri) { 20 } else { 500 };
    watchdog(Duration::from_secs(60), move || {
        for _ in 0..rounds {
            let rt = Runtime::new().unwrap();
            let waker = pending_task_waker(&rt);
            let handle = rt.handle();
            let hammer = Hammer::start(6, move |i, round| -> Option<RemoteJoinHandle<()>> {
                if i % 2 == 0 {
                    waker.wake_by_ref();
                    // Six spinning threads on a small machine would starve
                    // the drop (and pile up messages); they still post all
                    // through it.
                    thread::yield_now();
                    None
                } else if round < SPAWNS {
                    Some(handle.spawn(std::future::pending::<()>()))
                } else {
                    // Enough to race the drop: the rest would only pile up.
                    thread::yield_now();
                    None
                }
            });
            drop(rt);
            let spawns = hammer.stop();
            assert!(!spawns.is_empty());
            for remote in spawns {
                assert!(remote.join_blocking().unwrap_err().is_killed());
            }
        }
    });
}

/// After the drop, a thread that keeps waking the dead runtime's task and
/// then drops its waker touches nothing that is gone (Miri checks), and
/// does not wait for anything.
#[test]
fn waking_a_task_of_a_dropped_runtime_returns_at_once() {
    watchdog(Duration::from_secs(30), || {
        let rt = Runtime::new().unwrap();
        let waker = pending_task_waker(&rt);
        drop(rt);
        let waker = thread::spawn(move || {
            for _ in 0..if cfg!(miri) { 10 } else { 10_000 } {
                waker.wake_by_ref();
            }
            let clone = waker.clone();
            clone.wake();
            waker
        })
        .join()
        .unwrap();
        waker.wake();
    });
}
