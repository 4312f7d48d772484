//! The stack of a runtime thread stuck in a poll, for the blocking
//! detector's report: the monitor thread signals the runtime thread, whose
//! handler records the return addresses of its frames; the monitor reads
//! them back and symbolizes them (`stack.rs`), as sampling profilers such
//! as pprof-rs do.
//!
//! # The exchange
//!
//! One static [`Slot`] per process holds one request at a time (a lock,
//! taken by monitors only, serializes the monitors of several runtimes):
//!
//! 1. The monitor, holding the runtime's [`ThreadSlot`] lock (so the
//!    runtime thread cannot leave `block_on`, and so cannot exit, in
//!    between), checks that the poll it decided to report still runs,
//!    writes `REQUESTED` and the thread's kernel id into the slot's word,
//!    and sends `SIGURG` to the thread with `pthread_kill`.
//! 2. The handler runs on every thread that gets a `SIGURG`. Only on the
//!    thread the word names, and only if it moves the word from
//!    `REQUESTED` to `WRITING`, does it walk the stack into the slot's
//!    frame array, then publish the count and `DONE`.
//! 3. The monitor waits (bounded) for `DONE`, copies the frames out and
//!    frees the slot (`IDLE`). If the handler never started, it takes the
//!    request back (`REQUESTED` to `IDLE`), so a late signal does nothing.
//!
//! ```text
//!  word bits 63..32  the kernel thread id (gettid) meant to answer
//!  word bits 1..0    IDLE 0: free          REQUESTED 1: signal sent
//!                    WRITING 2: handler walking the stack
//!                    DONE 3: frames ready for the monitor
//! ```
//!
//! # Why the handler is async-signal-safe
//!
//! It allocates nothing and takes no lock: it loads and swaps atomics of a
//! static, calls `gettid` (a system call), and walks the stack with the
//! `backtrace` crate's `trace_unsynchronized`, which on Linux is libgcc's
//! `_Unwind_Backtrace` with a callback that stores each frame's address
//! into a static array of atomics. The unwinder reads the stack and the
//! binaries' unwind tables; it finds a table with `_dl_find_object`
//! (glibc 2.35 and later: lock-free and async-signal-safe) or, on older
//! systems, `dl_iterate_phdr`, whose loader lock is recursive, so a thread
//! interrupted inside it does not deadlock on itself. The first unwind of
//! a process initializes the unwinder (and resolves its symbols in the
//! dynamic linker): `install` does one on the monitor thread, before the
//! handler can ever run. Nothing the runtime owns is touched, so the
//! runtime may end at any moment. A frame-pointer walk would need no
//! unwinder, but the standard library and libc are built without frame
//! pointers, and the walk would stop at `std::thread::sleep`, before the
//! user's frames.
//!
//! # The edge cases
//!
//! - The runtime thread leaves `block_on` (or exits) between the decision
//!   and the signal: it must take the [`ThreadSlot`] lock to leave, which
//!   the monitor holds from its check to the `pthread_kill`; after that, a
//!   signal still pending at the thread's exit is simply discarded, and
//!   the monitor gives up after [`ANSWER_WITHIN`].
//! - The poll ends before the signal lands: the handler records whatever
//!   the thread runs then; the monitor checks the watch word again after
//!   the capture and drops the frames if the poll changed.
//! - A `SIGURG` for another reason (out-of-band TCP data with `F_SETOWN`,
//!   `kill -URG`): the handler finds no request for its thread and
//!   returns. Handlers registered with `signal-hook-registry` (or
//!   installed before sprout's) still run, since the registry chains
//!   them; a handler installed later with a bare `sigaction` replaces
//!   sprout's, and reports then say the thread did not answer.
//! - The signal interrupts the blocking call: calls restarted under
//!   `SA_RESTART` go on; `nanosleep`, `poll` and a few others return
//!   `EINTR`, which `std::thread::sleep` and std's `read_exact` /
//!   `write_all` retry, but a bare `read` returns `ErrorKind::Interrupted`
//!   once. One signal is sent per reported incident.
//! - Miri cannot run signal handlers, and only Linux is supported (the
//!   unwinder's safety above is glibc's and libgcc's): elsewhere
//!   [`ThreadSlot::capture`] answers [`NoStack::Unsupported`] and the
//!   report has no stack.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use crate::loom::lock;

/// How long the monitor waits for the handler to answer.
pub(crate) const ANSWER_WITHIN: Duration = Duration::from_secs(1);

/// Why a report has no stack. (Each platform constructs only some.)
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(dead_code)]
pub(crate) enum NoStack {
    /// Not on this platform (only Linux), or under Miri.
    Unsupported,
    /// The handler could not be installed.
    Install(String),
    /// The runtime thread had left `block_on` by the time of the signal.
    Left,
    /// The poll had ended by the time of the signal, or before the
    /// frames were read.
    Ended,
    /// `pthread_kill` failed.
    Signal(String),
    /// The thread did not run the handler in time: `SIGURG` is blocked on
    /// it, or another handler replaced sprout's.
    NoAnswer,
    /// An earlier capture is still being written (its thread was stopped
    /// in the handler).
    Busy,
    /// The monitor is stopping (the runtime is dropped).
    Stopping,
}

impl fmt::Display for NoStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoStack::Unsupported => f.write_str("sprout captures it on Linux only"),
            NoStack::Install(e) => write!(f, "cannot handle SIGURG: {e}"),
            NoStack::Left => f.write_str("the thread left block_on first"),
            NoStack::Ended => f.write_str("the poll ended before the stack was read"),
            NoStack::Signal(e) => write!(f, "cannot signal the thread: {e}"),
            NoStack::NoAnswer => write!(
                f,
                "the thread did not answer SIGURG within {} s (is SIGURG blocked on it, or handled by another handler?)",
                ANSWER_WITHIN.as_secs()
            ),
            NoStack::Busy => f.write_str("an earlier capture has not finished"),
            NoStack::Stopping => f.write_str("the runtime is shutting down"),
        }
    }
}

/// Which thread runs a runtime's polls, while it is inside `block_on`:
/// written by the runtime thread as it enters and leaves (not per poll),
/// read by the monitor, under the lock, to send the signal. Enters may
/// nest (the count).
#[derive(Default)]
pub(crate) struct ThreadSlot {
    inner: Mutex<(Option<imp::RuntimeThread>, u32)>,
}

impl ThreadSlot {
    /// The calling thread starts running the runtime's polls.
    pub(crate) fn enter(&self) {
        let mut inner = lock(&self.inner);
        inner.0 = imp::RuntimeThread::current();
        inner.1 += 1;
    }

    /// The calling thread stops running them: once this returns, the
    /// monitor sends it no more signals.
    pub(crate) fn leave(&self) {
        let mut inner = lock(&self.inner);
        inner.1 = inner.1.saturating_sub(1);
        if inner.1 == 0 {
            inner.0 = None;
        }
    }

    /// The return addresses of the runtime thread's frames, innermost
    /// first, if `still_blocked()` holds when the signal is sent.
    /// Monitor thread only; waits up to `wait` ([`ANSWER_WITHIN`]) for
    /// the handler, or until `stopping()`.
    pub(crate) fn capture(
        &self,
        still_blocked: impl Fn() -> bool,
        stopping: impl Fn() -> bool,
        wait: Duration,
    ) -> Result<Vec<usize>, NoStack> {
        imp::capture(&self.inner, still_blocked, stopping, wait)
    }
}

#[cfg(all(target_os = "linux", not(miri)))]
mod imp {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Mutex, OnceLock};
    use std::thread;
    use std::time::{Duration, Instant};

    use super::NoStack;
    use crate::loom::lock;

    /// The signal the monitor sends. `SIGURG`: its default action is to
    /// ignore it (a stray one is harmless, even with no handler), it is not
    /// `SIGUSR1` (the task dump's) or `SIGPROF` (profilers'), and it exists
    /// on every Unix, unlike the real-time signals. Go's runtime preempts
    /// its threads with it for the same reasons.
    const SIGNAL: libc::c_int = libc::SIGURG;

    /// The most frames recorded: deep enough for a handler under a few
    /// layers of combinators, with the loop and `main` below it.
    const MAX_FRAMES: usize = 128;

    const STATE: u64 = 0b11;
    const IDLE: u64 = 0;
    const REQUESTED: u64 = 1;
    const WRITING: u64 = 2;
    const DONE: u64 = 3;

    /// The one request of the process (see the module docs).
    struct Slot {
        word: AtomicU64,
        len: AtomicUsize,
        frames: [AtomicUsize; MAX_FRAMES],
    }

    static SLOT: Slot = Slot {
        word: AtomicU64::new(IDLE),
        len: AtomicUsize::new(0),
        frames: [const { AtomicUsize::new(0) }; MAX_FRAMES],
    };

    /// One request at a time, across every monitor of the process.
    static REQUESTS: Mutex<()> = Mutex::new(());

    static INSTALLED: OnceLock<Result<(), NoStack>> = OnceLock::new();

    /// A thread to signal: its pthread handle, and its kernel id for the
    /// handler to recognise itself by.
    #[derive(Clone, Copy)]
    pub(super) struct RuntimeThread {
        pthread: libc::pthread_t,
        tid: u32,
    }

    impl RuntimeThread {
        pub(super) fn current() -> Option<RuntimeThread> {
            // SAFETY: pthread_self has no preconditions.
            let pthread = unsafe { libc::pthread_self() };
            Some(RuntimeThread { pthread, tid: gettid() })
        }
    }

    /// The calling thread's kernel id.
    fn gettid() -> u32 {
        // SAFETY: a system call without arguments that cannot fail; a
        // system call is async-signal-safe.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) };
        tid as u32
    }

    /// Installs the handler and warms the unwinder up, on the monitor
    /// thread before its first signal. Idempotent; the result is the
    /// first call's.
    fn install() -> Result<(), NoStack> {
        INSTALLED
            .get_or_init(|| {
                // The first unwind initializes libgcc's unwinder (a
                // `pthread_once`) and binds its symbols lazily through the
                // dynamic linker: neither may first happen in the handler.
                backtrace::trace(|_| true);
                let _ = gettid();
                // SAFETY: `on_signal` is async-signal-safe (module docs): it
                // allocates nothing, takes no lock, and touches statics only.
                unsafe { signal_hook_registry::register(SIGNAL, on_signal) }
                    .map(drop)
                    .map_err(|e| NoStack::Install(e.to_string()))
            })
            .clone()
    }

    /// The handler: runs on whichever thread gets the signal (module docs).
    #[inline(never)]
    fn on_signal() {
        let word = SLOT.word.load(Ordering::Acquire);
        if word & STATE != REQUESTED || (word >> 32) as u32 != gettid() {
            return;
        }
        let writing = (word & !STATE) | WRITING;
        if SLOT.word.compare_exchange(word, writing, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return; // taken back by the monitor
        }
        let mut n = 0;
        // SAFETY: no other thread traces meanwhile in a way that matters:
        // `trace_unsynchronized` only skips backtrace's own lock, which
        // guards its Windows backend; on Linux it is `_Unwind_Backtrace`,
        // safe to call from a signal handler once initialized (`install`,
        // module docs). The callback only stores into static atomics.
        unsafe {
            backtrace::trace_unsynchronized(|frame| {
                if n == MAX_FRAMES {
                    return false;
                }
                SLOT.frames[n].store(frame.ip() as usize, Ordering::Relaxed);
                n += 1;
                true
            });
        }
        SLOT.len.store(n, Ordering::Relaxed);
        SLOT.word.store((word & !STATE) | DONE, Ordering::Release);
    }

    pub(super) fn capture(
        thread: &Mutex<(Option<RuntimeThread>, u32)>,
        still_blocked: impl Fn() -> bool,
        stopping: impl Fn() -> bool,
        wait: Duration,
    ) -> Result<Vec<usize>, NoStack> {
        install()?;
        let _one_at_a_time = lock(&REQUESTS);
        match SLOT.word.load(Ordering::Acquire) & STATE {
            // Left by a capture whose monitor stopped waiting.
            DONE => SLOT.word.store(IDLE, Ordering::Release),
            IDLE => {}
            _ => return Err(NoStack::Busy),
        }
        {
            let thread = lock(thread);
            let Some(target) = thread.0 else { return Err(NoStack::Left) };
            if !still_blocked() {
                return Err(NoStack::Ended);
            }
            SLOT.word.store((u64::from(target.tid) << 32) | REQUESTED, Ordering::Release);
            // SAFETY: the thread is alive: it registered itself on entering
            // `block_on` and must take this lock, held here, to leave it,
            // so it cannot have exited. A signal number is valid.
            let sent = unsafe { libc::pthread_kill(target.pthread, SIGNAL) };
            if sent != 0 {
                SLOT.word.store(IDLE, Ordering::Release);
                return Err(NoStack::Signal(std::io::Error::from_raw_os_error(sent).to_string()));
            }
        }
        let asked = Instant::now();
        loop {
            let word = SLOT.word.load(Ordering::Acquire);
            match word & STATE {
                DONE => {
                    let n = SLOT.len.load(Ordering::Relaxed).min(MAX_FRAMES);
                    let frames = SLOT.frames[..n].iter().map(|f| f.load(Ordering::Relaxed)).collect();
                    SLOT.word.store(IDLE, Ordering::Release);
                    return Ok(frames);
                }
                REQUESTED if stopping() || asked.elapsed() >= wait => {
                    // Taken back: a late signal finds no request. If the
                    // handler took it just now, wait for it to finish.
                    if SLOT.word.compare_exchange(word, IDLE, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                        return Err(if stopping() { NoStack::Stopping } else { NoStack::NoAnswer });
                    }
                }
                // Stuck mid-walk (a debugger stopped the thread?): leave
                // it; the next capture frees the slot once it is `DONE`.
                WRITING if asked.elapsed() >= 2 * wait => return Err(NoStack::Busy),
                _ => thread::sleep(Duration::from_micros(200)),
            }
        }
    }
}

#[cfg(not(all(target_os = "linux", not(miri))))]
mod imp {
    use std::sync::Mutex;

    use super::NoStack;

    /// No thread is ever signalled here.
    #[derive(Clone, Copy)]
    pub(super) struct RuntimeThread;

    impl RuntimeThread {
        pub(super) fn current() -> Option<RuntimeThread> {
            None
        }
    }

    pub(super) fn capture(
        _thread: &Mutex<(Option<RuntimeThread>, u32)>,
        _still_blocked: impl Fn() -> bool,
        _stopping: impl Fn() -> bool,
        _wait: std::time::Duration,
    ) -> Result<Vec<usize>, NoStack> {
        Err(NoStack::Unsupported)
    }
}

#[cfg(all(test, target_os = "linux", not(miri)))]
mod tests {
    use std::sync::{Arc, mpsc};
    use std::thread;
    use std::time::Duration;

    use super::*;
    use crate::observe::stack;

    /// A thread that enters `slot`, then waits in a function of its own
    /// for `release` (telling the caller once it is inside), then leaves.
    /// With `mask`, `SIGURG` is blocked on it until it is released.
    fn runtime_thread(slot: &Arc<ThreadSlot>, mask: bool) -> (mpsc::Sender<()>, thread::JoinHandle<()>) {
        let (inside, is_inside) = mpsc::channel();
        let (release, released) = mpsc::channel();
        let slot = slot.clone();
        let thread = thread::spawn(move || {
            let set = mask.then(|| {
                // SAFETY: sigset operations on a local set; pthread_sigmask
                // changes this thread's mask only.
                unsafe {
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigaddset(&mut set, libc::SIGURG);
                    libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                    set
                }
            });
            slot.enter();
            stuck_in_a_named_function(&inside, &released);
            if let Some(set) = set {
                // The pending signal lands now, after the request was
                // taken back: the handler finds none for this thread.
                // SAFETY: as above.
                unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
            }
            slot.leave();
        });
        is_inside.recv().unwrap();
        (release, thread)
    }

    #[inline(never)]
    fn stuck_in_a_named_function(inside: &mpsc::Sender<()>, release: &mpsc::Receiver<()>) {
        inside.send(()).unwrap();
        let _ = release.recv();
    }

    #[test]
    fn the_frames_of_the_thread_in_the_slot_are_recorded() {
        let slot = Arc::new(ThreadSlot::default());
        let (release, thread) = runtime_thread(&slot, false);
        let frames = slot.capture(|| true, || false, ANSWER_WITHIN).expect("the frames");
        release.send(()).unwrap();
        thread.join().unwrap();
        let stack = stack::symbolize(&frames);
        let names: Vec<&str> = stack.frames().iter().filter_map(|f| f.function()).collect();
        assert!(names.iter().any(|n| n.contains("stuck_in_a_named_function")), "{stack}");
        assert!(!names.iter().any(|n| n.contains("on_signal")), "the capture's own frames are cut: {stack}");
    }

    #[test]
    fn a_thread_that_left_or_a_poll_that_ended_is_not_signalled() {
        let slot = ThreadSlot::default();
        assert_eq!(slot.capture(|| true, || false, ANSWER_WITHIN), Err(NoStack::Left));
        slot.enter();
        slot.enter();
        slot.leave();
        // Still inside the outer enter: the poll check decides.
        assert_eq!(slot.capture(|| false, || false, ANSWER_WITHIN), Err(NoStack::Ended));
        slot.leave();
        assert_eq!(slot.capture(|| true, || false, ANSWER_WITHIN), Err(NoStack::Left));
    }

    #[test]
    fn a_thread_that_blocks_the_signal_is_given_up_on_and_a_late_signal_does_nothing() {
        let slot = Arc::new(ThreadSlot::default());
        let (release, thread) = runtime_thread(&slot, true);
        let answer = slot.capture(|| true, || false, Duration::from_millis(50));
        assert_eq!(answer, Err(NoStack::NoAnswer));
        release.send(()).unwrap();
        thread.join().unwrap();
        // The slot is free again: the next capture works.
        let (release, thread) = runtime_thread(&slot, false);
        assert!(slot.capture(|| true, || false, ANSWER_WITHIN).is_ok());
        release.send(()).unwrap();
        thread.join().unwrap();
    }
}
