//! The side runtime: one tokio runtime per process, started on first use.
//!
//! # Design notes
//! - Two statics. `PLAN` says how the runtime will start (the defaults, a
//!   [`Builder`]'s settings, or a user's handle) and becomes `Started` the
//!   moment the first user takes it; `SIDE` then holds the handle for good.
//!   Both changes happen under `PLAN`'s lock, so a configuration that races
//!   with the first use either wins or gets [`ConfigError::AlreadyStarted`]:
//!   it is never silently dropped.
//! - The hot path (every [`Tokio`](crate::Tokio) made) is `SIDE.get()`, one
//!   atomic load; the lock is taken once, at start.
//! - A runtime sprout builds is never dropped (`mem::forget`): dropping it
//!   would shut it down and block on its workers, and nothing ever needs it
//!   gone before the process ends. Its threads are plain OS threads that
//!   nobody joins, so they never keep the process alive: when `main`
//!   returns, the process exits and they end with it, mid-task if need be
//!   (no destructor of an in-flight tokio task runs, as for any thread at
//!   `exit`).

use std::fmt;
use std::sync::{Mutex, OnceLock, PoisonError};

use tokio::runtime::Handle;

/// The handle of the side runtime, once started.
static SIDE: OnceLock<Handle> = OnceLock::new();

/// How the side runtime starts, until it does.
static PLAN: Mutex<Plan> = Mutex::new(Plan::Default);

/// The name of the side runtime's threads (visible in `top -H`, debuggers,
/// and `std::thread::current().name()` inside a tokio task).
pub const THREAD_NAME: &str = "sprout-compat";

enum Plan {
    /// Nothing configured: a multi-thread runtime with one worker.
    Default,
    /// `Builder::install`: a runtime sprout builds with these settings.
    Build(Builder),
    /// `set_handle`: the user's runtime.
    Handle(Handle),
    /// Taken by the first use; configuring now is an error.
    Started,
}

/// Settings of the side runtime that sprout starts on first use.
///
/// The runtime is tokio's multi-thread scheduler with `worker_threads`
/// workers (default 1), I/O and timers on. One worker drives every
/// bridged socket and timer of the process; more help only when tokio
/// tasks spawned from bridged futures do real CPU work, since bridged
/// futures themselves are polled on their sprout task, not on a worker.
///
/// ```
/// sprout::compat::Builder::new().worker_threads(2).install().expect("before first use");
/// assert_eq!(sprout::compat::handle().metrics().num_workers(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    worker_threads: usize,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// The defaults: one worker thread.
    pub fn new() -> Builder {
        Builder { worker_threads: 1 }
    }

    /// How many worker threads the side runtime has (at least 1, checked
    /// by [`install`](Self::install)).
    pub fn worker_threads(mut self, n: usize) -> Builder {
        self.worker_threads = n;
        self
    }

    /// Makes these the settings the side runtime starts with.
    ///
    /// # Errors
    /// [`ConfigError::NoWorkers`] for `worker_threads(0)`;
    /// [`ConfigError::AlreadyStarted`] if the side runtime already started
    /// (a [`Tokio`](crate::Tokio) was made or [`handle`] called);
    /// [`ConfigError::AlreadyConfigured`] if `install` or [`set_handle`]
    /// already ran: the first configuration stays.
    pub fn install(self) -> Result<(), ConfigError> {
        if self.worker_threads == 0 {
            return Err(ConfigError::NoWorkers);
        }
        configure(Plan::Build(self))
    }

    fn build(&self) -> Handle {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.worker_threads)
            .thread_name(THREAD_NAME)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("sprout::compat: cannot start the side tokio runtime: {e}"));
        let handle = runtime.handle().clone();
        // Never shut down: see the module notes.
        std::mem::forget(runtime);
        handle
    }
}

/// Makes `handle`'s runtime the one every [`Tokio`](crate::Tokio) enters,
/// instead of a runtime sprout starts.
///
/// The runtime must drive itself (tokio's multi-thread scheduler, or a
/// `current_thread` runtime inside `block_on` on a thread of its own: a
/// runtime that nobody drives never wakes a bridged future) and outlive
/// every bridged future. If it shuts down, bridged futures fail rather
/// than hang: tokio wakes every socket and timer of a runtime that shuts
/// down, its sockets then return errors, and its timers panic (which fails
/// the sprout task).
///
/// # Errors
/// [`ConfigError::AlreadyStarted`] after the first use,
/// [`ConfigError::AlreadyConfigured`] after an earlier configuration.
pub fn set_handle(handle: Handle) -> Result<(), ConfigError> {
    configure(Plan::Handle(handle))
}

fn configure(plan: Plan) -> Result<(), ConfigError> {
    let mut current = PLAN.lock().unwrap_or_else(PoisonError::into_inner);
    match *current {
        Plan::Default => {
            *current = plan;
            Ok(())
        }
        Plan::Build(_) | Plan::Handle(_) => Err(ConfigError::AlreadyConfigured),
        Plan::Started => Err(ConfigError::AlreadyStarted),
    }
}

/// The handle of the side runtime, starting it if it has not started.
///
/// Use it to spawn on the side runtime from anywhere, or to read its
/// metrics.
///
/// # Panics
/// If the runtime cannot start (tokio could not create its threads or its
/// epoll instance), with the reason.
pub fn handle() -> Handle {
    side().clone()
}

/// The side runtime's handle, by reference: the hot path.
#[inline]
pub(crate) fn side() -> &'static Handle {
    match SIDE.get() {
        Some(handle) => handle,
        None => start(),
    }
}

#[cold]
fn start() -> &'static Handle {
    SIDE.get_or_init(|| {
        let plan = std::mem::replace(&mut *PLAN.lock().unwrap_or_else(PoisonError::into_inner), Plan::Started);
        match plan {
            Plan::Default => Builder::new().build(),
            Plan::Build(builder) => builder.build(),
            Plan::Handle(handle) => handle,
            // Taken by an earlier start whose build panicked (tokio could
            // not start): try again with the defaults.
            Plan::Started => Builder::new().build(),
        }
    })
}

/// Why a configuration of the side runtime was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The side runtime already started: configure it before the first
    /// [`Tokio`](crate::Tokio) is made (say, first thing in `main`).
    AlreadyStarted,
    /// [`Builder::install`] or [`set_handle`] already ran; the first
    /// configuration stays.
    AlreadyConfigured,
    /// `worker_threads(0)`: the runtime needs a thread to drive its sockets
    /// and timers.
    NoWorkers,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::AlreadyStarted => {
                "sprout::compat: the side tokio runtime already started (a `Tokio` was made or `compat::handle()` \
                 called); configure it before its first use"
            }
            ConfigError::AlreadyConfigured => {
                "sprout::compat: the side tokio runtime is already configured (`Builder::install` or `set_handle` \
                 ran before); the first configuration stays"
            }
            ConfigError::NoWorkers => "sprout::compat: the side tokio runtime needs at least one worker thread",
        })
    }
}

impl std::error::Error for ConfigError {}
