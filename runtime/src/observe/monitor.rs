//! The blocking detector: a monitor thread that notices a poll holding the
//! runtime thread too long, like gevent's `monitor_thread` with
//! `max_blocking_time`.
//!
//! The runtime thread's whole part is one store per poll: the watch word
//! (`task/observe.rs`), a stamp and what is being polled; the loop marks
//! it idle before it waits for events and as `block_on` returns, so a
//! thread that runs no poll is never blamed. No clock is read
//! on the runtime thread. The monitor samples the word every quarter of
//! the threshold; a word it keeps seeing belongs to one poll that has run
//! at least since the first sighting, so once that is `threshold` ago it
//! reports the poll (once), and when the word changes it reports the
//! end, with the time since the first sighting. Both figures are good to
//! one sampling period. A poll shorter than the threshold is never
//! reported; one longer than the threshold plus a period always is.
//!
//! The monitor names the task from the watch's slot table (id, spawn
//! site, name), which the runtime thread writes at spawn, so it needs
//! nothing from the stuck thread.

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::{Hook, Shared};
use crate::task::TaskId;
use crate::task::observe::{Culprit, IDLE, Millis};

/// What held the runtime thread: a task (or the main future), or a closure
/// posted from another thread ([`Handle::call`](crate::Handle::call)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocker {
    id: Option<TaskId>,
    name: Option<String>,
    spawned_at: Option<&'static Location<'static>>,
}

impl From<Culprit> for Blocker {
    fn from(c: Culprit) -> Blocker {
        Blocker { id: c.id, name: c.name, spawned_at: c.spawned_at }
    }
}

impl Blocker {
    /// The task's id (`#0`: the main future); `None` for a closure posted
    /// from another thread.
    pub fn id(&self) -> Option<TaskId> {
        self.id
    }

    /// The task's name, if it has one (`"main"` for the main future).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where the task was spawned (for the main future, where `block_on`
    /// or `run` was called).
    pub fn spawned_at(&self) -> Option<&'static Location<'static>> {
        self.spawned_at
    }
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.id, &self.name) {
            (Some(id), Some(name)) => write!(f, "task {id} '{name}'")?,
            (Some(id), None) => write!(f, "task {id}")?,
            (None, Some(name)) => f.write_str(name)?,
            (None, None) => f.write_str("unknown code")?,
        }
        if let Some(at) = self.spawned_at {
            write!(f, " (spawned at {}:{})", at.file(), at.line())?;
        }
        Ok(())
    }
}

/// A report of the blocking detector ([`Builder::warn_blocking`](crate::Builder::warn_blocking)):
/// one poll has held the runtime thread longer than the threshold. Each
/// incident is reported twice: while it lasts ([`is_finished`](Self::is_finished)
/// false), and when the poll returns, with the total.
#[derive(Clone, Debug)]
pub struct BlockingReport {
    blocker: Blocker,
    elapsed: Duration,
    finished: bool,
    threshold: Duration,
}

impl BlockingReport {
    /// What held the thread.
    pub fn blocker(&self) -> &Blocker {
        &self.blocker
    }

    /// How long the poll has held it (or held it in all, once finished),
    /// to within a quarter of the threshold.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Whether the poll has returned.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The threshold set with `warn_blocking`.
    pub fn threshold(&self) -> Duration {
        self.threshold
    }
}

impl fmt::Display for BlockingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.finished {
            write!(
                f,
                "sprout: {} blocked the runtime thread for about {} in one poll",
                self.blocker,
                Millis(self.elapsed)
            )
        } else {
            write!(
                f,
                "sprout: {} has blocked the runtime thread for {} in one poll (threshold {}); \
                 no other task runs meanwhile",
                self.blocker,
                Millis(self.elapsed),
                Millis(self.threshold)
            )
        }
    }
}

/// The monitor thread of one runtime; dropping it stops the thread.
pub(crate) struct Monitor {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Monitor {
    /// Starts the thread; `None` if the system refuses one (the runtime
    /// then runs unmonitored, as without `warn_blocking`).
    pub(crate) fn start(shared: Arc<Shared>, threshold: Duration, hook: Hook) -> Option<Monitor> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = thread::Builder::new().name(format!("sprout-monitor-{}", shared.serial)).spawn({
            let stop = stop.clone();
            move || watch(&shared, threshold, &*hook, &stop)
        });
        match thread {
            Ok(thread) => Some(Monitor { stop, thread: Some(thread) }),
            Err(e) => {
                eprintln!("sprout: cannot start the blocking monitor thread: {e}");
                None
            }
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// Calls the hook; a panic in it is reported and the monitor goes on.
fn report(hook: &(dyn Fn(&BlockingReport) + Send + Sync), report: &BlockingReport) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(report))).is_err() {
        eprintln!("sprout: the on_blocking hook panicked; the report was: {report}");
    }
}

/// The monitor's loop (see the module docs).
fn watch(shared: &Shared, threshold: Duration, hook: &(dyn Fn(&BlockingReport) + Send + Sync), stop: &AtomicBool) {
    let Some(watch) = shared.watch.as_deref() else { return };
    let period = (threshold / 4).max(Duration::from_millis(1));
    let mut last = watch.word();
    let mut first_seen = Instant::now();
    let mut reported: Option<Blocker> = None;
    while !stop.load(Ordering::Relaxed) {
        thread::park_timeout(period);
        let word = watch.word();
        let now = Instant::now();
        if word != last {
            if let Some(blocker) = reported.take() {
                let elapsed = now.saturating_duration_since(first_seen);
                report(hook, &BlockingReport { blocker, elapsed, finished: true, threshold });
            }
            last = word;
            first_seen = now;
            continue;
        }
        if word as u32 == IDLE {
            continue;
        }
        let ran = now.saturating_duration_since(first_seen);
        let ns = u64::try_from(ran.as_nanos()).unwrap_or(u64::MAX);
        shared.longest_poll.fetch_max(ns, Ordering::Relaxed);
        if reported.is_none() && ran >= threshold {
            // Named from what the runtime wrote at spawn; the word is read
            // again so that a poll that ended meanwhile is not blamed on
            // whatever reused its slot.
            if let Some(culprit) = watch.culprit(word).filter(|_| watch.word() == word) {
                let blocker = Blocker::from(culprit);
                report(hook, &BlockingReport { blocker: blocker.clone(), elapsed: ran, finished: false, threshold });
                reported = Some(blocker);
            }
        }
    }
}
