//! The blocking detector: a monitor thread that notices a poll holding the
//! runtime thread too long, like gevent's `monitor_thread` with
//! `max_blocking_time`.
//!
//! The runtime thread's whole part is two stores per poll: the watch word
//! (`task/observe.rs`), a stamp and what is being polled, and before it
//! the `.await` the poll resumes from; the loop marks
//! it idle before it waits for events and as `block_on` returns, so a
//! thread that runs no poll is never blamed. No clock is read
//! on the runtime thread. The monitor samples the word every quarter of
//! the threshold; a word it keeps seeing belongs to one poll that has run
//! at least since the first sighting, so once that is `threshold` ago it
//! reports the poll (once), and when the word changes it reports the
//! end, with the time since the first sighting. Both figures are good to
//! one sampling period. A poll shorter than the threshold is never
//! reported; one longer than the threshold plus a period always is. A
//! thread of the monitor's own symbolizes the stack and calls the hook
//! (`Reporter`), so the sampling never waits for them.
//!
//! The monitor names the task from the watch's slot table (id, spawn
//! site, name), which the runtime thread writes at spawn, and the `.await`
//! its poll resumed from, which the runtime thread stores with the word
//! (when it keeps records); reading them needs nothing from the stuck
//! thread. The one thing only that thread has is its stack: for the first
//! report of an incident the monitor asks it with a signal (`capture.rs`)
//! and symbolizes the frames itself (`stack.rs`).

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use super::capture::{ANSWER_WITHIN, NoStack};
use super::stack::{self, Stack};
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
    resumed_at: Option<&'static Location<'static>>,
}

impl From<Culprit> for Blocker {
    fn from(c: Culprit) -> Blocker {
        Blocker { id: c.id, name: c.name, spawned_at: c.spawned_at, resumed_at: c.resumed_at }
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
    /// or `run` was called; for a server's connection, where the server
    /// was made).
    pub fn spawned_at(&self) -> Option<&'static Location<'static>> {
        self.spawned_at
    }

    /// The `.await` the blocking poll resumed from: where the task last
    /// waited, on a sprout primitive (a lock, an event, a queue, a join...),
    /// before it went on to block. Known when the runtime keeps records
    /// ([`Builder::observe`](crate::Builder::observe), on in debug builds)
    /// and the last wait was on such a primitive; `None` for a task's first
    /// poll, and after a wait on a socket or a timer, which record no line.
    pub fn resumed_at(&self) -> Option<&'static Location<'static>> {
        self.resumed_at
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
    /// The first report's stack, or why there is none (`None` in the
    /// finished report, which repeats no stack).
    stack: Option<Result<Stack, NoStack>>,
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

    /// The runtime thread's stack while the poll blocked it, innermost
    /// call first, down to the task's poll: the blocking call and the
    /// task's code that made it. Only in the first report of an incident
    /// (not the finished one), and only on Linux: see
    /// `docs/debugging.md` for how it is taken and when it is missing.
    pub fn stack(&self) -> Option<&Stack> {
        self.stack.as_ref().and_then(|stack| stack.as_ref().ok())
    }
}

impl BlockingReport {
    /// What the default hook does with the report: one stderr line (the
    /// `Display` form), or with the `tracing` feature a WARN event of
    /// target `sprout::blocking` whose fields are the report's (see
    /// `report.rs`, and the table in docs/debugging.md, "tracing").
    pub(crate) fn report(&self) {
        crate::__report!(
            event: WARN(
                target: "sprout::blocking",
                task.id = self.blocker.id.map(TaskId::as_u64),
                task.name = self.blocker.name.as_deref(),
                spawned_at = self.blocker.spawned_at.map(tracing::field::display),
                resumed_at = self.blocker.resumed_at.map(tracing::field::display),
                elapsed_ms = u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX),
                threshold_ms = u64::try_from(self.threshold.as_millis()).unwrap_or(u64::MAX),
                finished = self.finished,
                stack = self.stack_text(),
                "{}",
                if self.finished {
                    "a poll blocked the runtime thread; it has returned"
                } else {
                    "a poll has blocked the runtime thread; no other task runs meanwhile"
                }
            ),
            stderr: "{self}",
        );
    }

    /// The stack as the `stack` field of the event: the frames, one a
    /// line, or why there are none; nothing in the finished report.
    #[cfg(feature = "tracing")]
    fn stack_text(&self) -> Option<String> {
        match &self.stack {
            Some(Ok(stack)) if !stack.frames().is_empty() => Some(stack.to_string()),
            Some(Ok(_)) => Some("none: no frame above sprout's loop could be read".to_owned()),
            Some(Err(why)) => Some(format!("none: {why}")),
            None => None,
        }
    }
}

impl fmt::Display for BlockingReport {
    /// The first report: a line naming the task, then where it resumed
    /// and the stack (each line indented); the finished report: one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.finished {
            return write!(
                f,
                "sprout: {} blocked the runtime thread for about {} in one poll",
                self.blocker,
                Millis(self.elapsed)
            );
        }
        write!(
            f,
            "sprout: {} has blocked the runtime thread for {} in one poll (threshold {}); \
             no other task runs meanwhile",
            self.blocker,
            Millis(self.elapsed),
            Millis(self.threshold)
        )?;
        if let Some(at) = self.blocker.resumed_at {
            write!(f, "\n  it resumed from the .await at {}:{}", at.file(), at.line())?;
        }
        match &self.stack {
            Some(Ok(stack)) if !stack.frames().is_empty() => {
                write!(f, "\n  the runtime thread's stack, innermost call first:\n{stack}")?;
            }
            Some(Ok(_)) => f.write_str("\n  no stack: no frame above sprout's loop could be read")?,
            Some(Err(why)) => write!(f, "\n  no stack: {why}")?,
            None => {}
        }
        Ok(())
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
        let name = format!("sprout-monitor-{}", shared.serial);
        let thread = thread::Builder::new().name(name.clone()).spawn({
            let stop = stop.clone();
            move || watch(&shared, threshold, Reporter { hook, name: format!("{name}-report"), thread: None }, &stop)
        });
        match thread {
            Ok(thread) => Some(Monitor { stop, thread: Some(thread) }),
            Err(e) => {
                crate::__report!(
                    event: WARN(target: "sprout::blocking", error = %e, "cannot start the blocking monitor thread"),
                    stderr: "sprout: cannot start the blocking monitor thread: {e}",
                );
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

/// A report on its way to the hook.
enum Pending {
    /// The first report of an incident, with the frames the capture
    /// recorded (not symbolized yet), or why there are none.
    Blocked(BlockingReport, Result<Vec<usize>, NoStack>),
    /// The poll has returned.
    Finished(BlockingReport),
}

/// Hands the reports to a thread of their own, started at the first one,
/// which symbolizes the stack and calls the hook: symbolizing the first
/// stack of a process reads the program's debug info, a good part of a
/// second, and the monitor keeps sampling meanwhile, so the finished
/// report's total stays good to one period. Reports reach the hook in
/// order. Dropping it (the monitor stopping) delivers what is queued and
/// joins the thread.
struct Reporter {
    hook: Hook,
    name: String,
    thread: Option<(mpsc::Sender<Pending>, thread::JoinHandle<()>)>,
}

impl Reporter {
    fn send(&mut self, pending: Pending) {
        if self.thread.is_none() {
            let (tx, rx) = mpsc::channel::<Pending>();
            let hook = self.hook.clone();
            // Without a thread, the monitor delivers the reports itself.
            if let Ok(thread) = thread::Builder::new().name(self.name.clone()).spawn(move || {
                for pending in rx {
                    deliver(&*hook, pending);
                }
            }) {
                self.thread = Some((tx, thread));
            }
        }
        match &self.thread {
            Some((tx, _)) => {
                if let Err(mpsc::SendError(pending)) = tx.send(pending) {
                    deliver(&*self.hook, pending); // the thread died (cannot: `deliver` catches panics)
                }
            }
            None => deliver(&*self.hook, pending),
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if let Some((tx, thread)) = self.thread.take() {
            drop(tx);
            let _ = thread.join();
        }
    }
}

/// Symbolizes a first report's stack and calls the hook.
fn deliver(hook: &(dyn Fn(&BlockingReport) + Send + Sync), pending: Pending) {
    let report = match pending {
        Pending::Blocked(mut report, frames) => {
            report.stack = Some(frames.map(|frames| stack::symbolize(&frames)));
            report
        }
        Pending::Finished(report) => report,
    };
    // A panic in the hook is reported, and the monitor goes on.
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(&report))).is_err() {
        crate::__report!(
            event: ERROR(target: "sprout::blocking", report = %report, "the on_blocking hook panicked"),
            stderr: "sprout: the on_blocking hook panicked; the report was: {report}",
        );
    }
}

/// The monitor's loop (see the module docs).
fn watch(shared: &Shared, threshold: Duration, mut reporter: Reporter, stop: &AtomicBool) {
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
                reporter.send(Pending::Finished(BlockingReport {
                    blocker,
                    elapsed,
                    finished: true,
                    threshold,
                    stack: None,
                }));
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
                let still_blocked = || watch.word() == word;
                let frames = shared
                    .thread
                    .capture(still_blocked, || stop.load(Ordering::Relaxed), ANSWER_WITHIN)
                    // Frames of a poll that ended meanwhile would blame
                    // the wrong code.
                    .and_then(|frames| if still_blocked() { Ok(frames) } else { Err(NoStack::Ended) });
                let report =
                    BlockingReport { blocker: blocker.clone(), elapsed: ran, finished: false, threshold, stack: None };
                reporter.send(Pending::Blocked(report, frames));
                reported = Some(blocker);
            }
        }
    }
}
