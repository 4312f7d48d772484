//! `ThreadPool`: OS threads for blocking and CPU-bound work.
//!
//! # Design notes
//!
//! One mutex guards the queue and the thread counts; workers sleep on one
//! condvar. Threads start on demand: a submission wakes an idle worker if
//! one is free, else starts a thread if the pool is below its size.
//! `notified` counts wake-ups sent but not yet taken by a worker, so two
//! quick submissions never both count on the same idle worker.
//!
//! A worker leaves when the pool is closed and the queue is empty, or
//! after `keep_alive` without work (the shared `spawn_blocking` pool sets
//! one; a pool from [`ThreadPool::new`] keeps its threads). The last one
//! out wakes the `join` waiters.

use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use super::map::{ImapUnordered, Map};
use super::work::{Job, WorkFuture, forbid_blocking, work};
use crate::loom::lock;
use crate::task::JoinError;
use crate::task::waker_set::{WakerKey, WakerSet, Wakers};

type Initializer = Arc<dyn Fn() + Send + Sync>;

/// The pool shared by the `ThreadPool` handle, its workers, and the maps
/// it started.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Workers wait here for work (or for `close`).
    work: Condvar,
    /// The most threads at once (changeable for the shared pool).
    max_threads: AtomicUsize,
    keep_alive: Option<Duration>,
    name: String,
    stack_size: Option<usize>,
    initializer: Option<Initializer>,
    /// Live [`PoolHandle`]s: the pool closes when the last one goes.
    handles: AtomicUsize,
}

struct State {
    queue: VecDeque<Arc<dyn Job>>,
    threads: usize,
    /// Threads waiting on the condvar.
    idle: usize,
    /// Wake-ups sent and not yet consumed: idle threads beyond this number
    /// are free to take new work.
    notified: usize,
    closed: bool,
    /// Set when the initializer panicked: the pool refuses all work.
    broken: Option<String>,
    /// `join` futures, woken when the pool is closed and every thread left.
    joiners: WakerSet,
}

thread_local! {
    /// The pool this thread works for, to catch a worker that would wait
    /// for its own pool to shut down.
    static WORKER_OF: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn threads(&self) -> usize {
        self.max_threads.load(Ordering::Relaxed)
    }

    pub(crate) fn set_max_threads(&self, n: usize) {
        self.max_threads.store(n.max(1), Ordering::Relaxed);
    }

    /// Submits `f` and returns its future.
    pub(crate) fn submit<F, T>(self: &Arc<Self>, f: F) -> WorkFuture<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (job, future) = work(f);
        self.push(job);
        future
    }

    fn push(self: &Arc<Self>, job: Arc<dyn Job>) {
        let mut state = self.lock();
        if let Some(reason) = &state.broken {
            let error = broken(reason);
            drop(state);
            return job.abandon(error);
        }
        if state.closed {
            drop(state);
            return job.abandon(JoinError::Killed);
        }
        state.queue.push_back(job);
        if state.idle > state.notified {
            state.notified += 1;
            drop(state);
            self.work.notify_one();
        } else if state.threads < self.threads() {
            state.threads += 1;
            drop(state);
            self.start_thread();
        }
    }

    fn start_thread(self: &Arc<Self>) {
        let mut builder = thread::Builder::new().name(self.name.clone());
        if let Some(size) = self.stack_size {
            builder = builder.stack_size(size);
        }
        let shared = self.clone();
        if let Err(e) = builder.spawn(move || shared.worker()) {
            let mut state = self.lock();
            state.threads -= 1;
            if state.threads > 0 {
                // The job waits for a running worker.
                return;
            }
            // No thread will ever run the queue: fail it rather than hang.
            let jobs = std::mem::take(&mut state.queue);
            let joiners = self.joiners_if_gone(&mut state);
            drop(state);
            let reason = format!("sprout ThreadPool: cannot start a thread: {e}");
            for job in jobs {
                job.abandon(JoinError::panicked(Box::new(reason.clone())));
            }
            joiners.wake();
        }
    }

    fn worker(self: Arc<Self>) {
        WORKER_OF.with(|w| w.set(Arc::as_ptr(&self)));
        if let Some(init) = &self.initializer
            && let Err(payload) = catch_unwind(AssertUnwindSafe(|| init()))
        {
            let err = JoinError::panicked(payload);
            return self.break_pool(err.panic_message().unwrap_or("Box<dyn Any>").to_owned());
        }
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                // Jobs catch their own panics; this is belt and braces so
                // the thread always survives.
                let _ = catch_unwind(AssertUnwindSafe(|| job.run()));
                state = self.lock();
                continue;
            }
            if state.closed {
                break;
            }
            state.idle += 1;
            let timed_out = match self.keep_alive {
                Some(keep_alive) => {
                    let (next, result) = self.work.wait_timeout(state, keep_alive).unwrap_or_else(|e| e.into_inner());
                    state = next;
                    result.timed_out()
                }
                None => {
                    state = self.work.wait(state).unwrap_or_else(|e| e.into_inner());
                    false
                }
            };
            state.idle -= 1;
            // Consume one wake-up, ours or one meant for a sibling that will
            // find the queue empty instead: either way the count stays true.
            state.notified = state.notified.saturating_sub(1);
            if timed_out && state.queue.is_empty() && !state.closed {
                break;
            }
        }
        state.threads -= 1;
        let joiners = self.joiners_if_gone(&mut state);
        drop(state);
        joiners.wake();
    }

    /// The initializer panicked: refuse all work from now on.
    fn break_pool(&self, message: String) {
        let (jobs, joiners, reason) = {
            let mut state = self.lock();
            let reason = state.broken.get_or_insert(message).clone();
            state.closed = true;
            state.threads -= 1;
            let jobs = std::mem::take(&mut state.queue);
            (jobs, self.joiners_if_gone(&mut state), reason)
        };
        self.work.notify_all();
        for job in jobs {
            job.abandon(broken(&reason));
        }
        joiners.wake();
    }

    /// The `join` futures to wake (after the lock) if the pool is closed
    /// and every thread left.
    fn joiners_if_gone(&self, state: &mut State) -> Wakers {
        if state.closed && state.threads == 0 { state.joiners.take() } else { Wakers::none() }
    }

    pub(crate) fn close(&self) {
        let joiners = {
            let mut state = self.lock();
            state.closed = true;
            self.joiners_if_gone(&mut state)
        };
        self.work.notify_all();
        joiners.wake();
    }

    fn terminate(&self) {
        self.close();
        let jobs = std::mem::take(&mut self.lock().queue);
        for job in jobs {
            job.abandon(JoinError::Killed);
        }
    }

    /// `key` is the `join` future's entry in `joiners` while it waits.
    fn poll_join(&self, key: &mut Option<WakerKey>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.closed && state.threads == 0 {
            // The last thread out emptied the set, and the key with it.
            *key = None;
            return Poll::Ready(());
        }
        state.joiners.register(key, cx.waker());
        Poll::Pending
    }

    /// A `join` future dropped while it waits.
    fn leave_join(&self, key: &mut Option<WakerKey>) {
        let waker = self.lock().joiners.remove(key);
        drop(waker);
    }
}

/// A counted handle that keeps the pool open: the `ThreadPool` itself and
/// each map it started. The last one dropped closes the pool, so a map
/// outliving its `ThreadPool` value can still submit its chunks.
pub(crate) struct PoolHandle(Arc<Shared>);

impl PoolHandle {
    fn new(shared: Shared) -> PoolHandle {
        shared.handles.store(1, Ordering::Relaxed);
        PoolHandle(Arc::new(shared))
    }
}

impl std::ops::Deref for PoolHandle {
    type Target = Arc<Shared>;

    fn deref(&self) -> &Arc<Shared> {
        &self.0
    }
}

impl Clone for PoolHandle {
    fn clone(&self) -> PoolHandle {
        self.0.handles.fetch_add(1, Ordering::Relaxed);
        PoolHandle(self.0.clone())
    }
}

impl Drop for PoolHandle {
    fn drop(&mut self) {
        if self.0.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.close();
        }
    }
}

fn broken(reason: &str) -> JoinError {
    JoinError::panicked(Box::new(format!("the thread pool's initializer panicked: {reason}")))
}

/// A pool of OS threads for blocking calls and CPU-bound work:
/// `concurrent.futures.ThreadPoolExecutor`, `ProcessPoolExecutor` and
/// `multiprocessing.Pool` in one.
///
/// Rust has no GIL: the pool's threads run on every core at once. So the
/// pool that keeps blocking calls off the runtime thread is also the one
/// for CPU-bound work, which Python must send to processes.
///
/// - [`submit`](ThreadPool::submit) returns a [`WorkFuture`]: `.await` it
///   from a green task, or block on it from a plain thread.
/// - [`map`](ThreadPool::map) (in order, with a chunk size) and
///   [`imap_unordered`](ThreadPool::imap_unordered) stream results; both
///   are `Stream`s for green tasks and `IntoIterator`s for plain threads.
/// - [`shutdown`](ThreadPool::shutdown), [`close`](ThreadPool::close),
///   [`terminate`](ThreadPool::terminate), [`join`](ThreadPool::join).
///
/// Threads start on demand, up to the pool's size, and stay until the pool
/// is closed. A panic in the work comes back as [`JoinError::Panicked`]
/// and the worker goes on. Dropping the pool closes it (once the maps it
/// started are dropped too): queued work still runs, then the threads
/// exit; nothing blocks.
///
/// ```
/// use sprout::{blocking::ThreadPool, run};
///
/// let pool = ThreadPool::new(4);
/// run(async {
///     let fib = |n: u64| (1..=n).fold((0u64, 1u64), |(a, b), _| (b, a + b)).0;
///     let work: Vec<_> = (80..84).map(|n| pool.submit(move || fib(n))).collect();
///     for (n, w) in (80..).zip(work) {
///         assert_eq!(w.await.unwrap(), fib(n));
///     }
/// });
/// pool.shutdown(true);
/// ```
pub struct ThreadPool {
    shared: PoolHandle,
}

impl ThreadPool {
    /// A pool of at most `threads` threads.
    ///
    /// # Panics
    /// If `threads` is 0.
    pub fn new(threads: usize) -> ThreadPool {
        ThreadPool::builder().threads(threads).build()
    }

    /// Settings for a new pool: size, thread names, initializer...
    pub fn builder() -> ThreadPoolBuilder {
        ThreadPoolBuilder::default()
    }

    /// The most threads the pool runs at once.
    pub fn threads(&self) -> usize {
        self.shared.threads()
    }

    /// Changes the cap (the shared `spawn_blocking` pool's knob).
    pub(crate) fn set_max_threads(&self, n: usize) {
        self.shared.set_max_threads(n);
    }

    /// Runs `f` on a pool thread and returns its future, like `submit` in
    /// `concurrent.futures`. After `close` the work does not run: the future
    /// resolves to [`JoinError::Killed`].
    pub fn submit<F, T>(&self, f: F) -> WorkFuture<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.shared.submit(f)
    }

    /// `f(item)` for every item, results in input order, like
    /// `Executor.map` and `multiprocessing.Pool.imap`. Items go to the
    /// threads in chunks of [`Map::chunksize`] (1 by default), and at most
    /// twice as many chunks as threads are in flight, so a long iterator
    /// runs in constant memory.
    ///
    /// The result is a `Stream` for green tasks and an `IntoIterator` for
    /// plain threads (which blocks for each result).
    ///
    /// ```
    /// use sprout::blocking::ThreadPool;
    ///
    /// let pool = ThreadPool::new(2);
    /// let squares: Vec<u64> = pool.map(|x: u64| x * x, 0..10).chunksize(3)
    ///     .into_iter()
    ///     .map(Result::unwrap)
    ///     .collect();
    /// assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    /// ```
    pub fn map<I, F, T>(&self, f: F, items: I) -> Map<I::IntoIter, T>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        T: Send + 'static,
    {
        Map::new(self.shared.clone(), Arc::new(f), items.into_iter())
    }

    /// `f(item)` for every item, results as they finish, like
    /// `multiprocessing.Pool.imap_unordered`. Chunks and memory as
    /// [`map`](ThreadPool::map).
    pub fn imap_unordered<I, F, T>(&self, f: F, items: I) -> ImapUnordered<I::IntoIter, T>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        T: Send + 'static,
    {
        ImapUnordered::new(self.shared.clone(), Arc::new(f), items.into_iter())
    }

    /// Refuses new work, like `multiprocessing.Pool.close()`: queued work
    /// still runs, then the threads exit. Does not block.
    pub fn close(&self) {
        self.shared.close();
    }

    /// Closes the pool and drops the work no thread has started, like
    /// `multiprocessing.Pool.terminate()`: its futures resolve to
    /// [`JoinError::Killed`]. Running work cannot be interrupted; it
    /// finishes. Does not block.
    pub fn terminate(&self) {
        self.shared.terminate();
    }

    /// Whether the pool was closed (or its initializer panicked).
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// The number of submissions no thread has started yet.
    pub fn queued(&self) -> usize {
        self.shared.lock().queue.len()
    }

    /// Waits until the pool is closed and every thread has exited, like
    /// `multiprocessing.Pool.join()`: `.await` it in a green task. It never
    /// resolves unless someone calls `close`, `terminate` or `shutdown`.
    pub fn join(&self) -> PoolJoin {
        PoolJoin { shared: Arc::clone(&self.shared), key: None }
    }

    /// `Executor.shutdown(wait)`: `shutdown(true)` refuses new work, runs
    /// what is queued, and blocks until every thread has exited (`close`
    /// then `join`); `shutdown(false)` drops the queued work and returns at
    /// once (`terminate`).
    ///
    /// # Panics
    /// `shutdown(true)` on a sprout runtime thread, where it would stall
    /// every green task (call `close()` and `.await` [`join`](ThreadPool::join)
    /// there), or on one of this pool's own threads, which would wait for
    /// itself.
    #[track_caller]
    pub fn shutdown(&self, wait: bool) {
        if !wait {
            return self.terminate();
        }
        forbid_blocking("ThreadPool::shutdown(true)");
        if WORKER_OF.with(Cell::get) == Arc::as_ptr(&*self.shared) {
            panic!("ThreadPool::shutdown(true) called from one of the pool's own threads would wait for itself");
        }
        self.close();
        crate::park::block_on(self.join());
    }
}

impl Default for ThreadPool {
    /// A pool with one thread per core (`available_parallelism`).
    fn default() -> ThreadPool {
        ThreadPool::builder().build()
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("ThreadPool")
            .field("size", &self.threads())
            .field("threads", &state.threads)
            .field("queued", &state.queue.len())
            .field("closed", &state.closed)
            .finish()
    }
}

/// The future returned by [`ThreadPool::join`]. It can also be blocked on
/// from a plain thread with `shutdown(true)`.
#[must_use = "futures do nothing unless awaited"]
pub struct PoolJoin {
    shared: Arc<Shared>,
    /// Its entry in the pool's joiners, while it waits.
    key: Option<WakerKey>,
}

impl Future for PoolJoin {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.shared.poll_join(&mut this.key, cx)
    }
}

impl Drop for PoolJoin {
    fn drop(&mut self) {
        if self.key.is_some() {
            self.shared.leave_join(&mut self.key);
        }
    }
}

impl fmt::Debug for PoolJoin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolJoin").finish_non_exhaustive()
    }
}

/// Settings for a [`ThreadPool`], like the arguments of
/// `ThreadPoolExecutor(max_workers, thread_name_prefix, initializer)`.
///
/// ```
/// use std::cell::Cell;
/// use sprout::blocking::ThreadPool;
///
/// thread_local!(static CONNECTION: Cell<u32> = const { Cell::new(0) });
///
/// let pool = ThreadPool::builder()
///     .threads(2)
///     .name("db-worker")
///     .initializer(|| CONNECTION.with(|c| c.set(7))) // once per thread
///     .build();
/// let id = pool.submit(|| CONNECTION.with(Cell::get)).wait().unwrap();
/// assert_eq!(id, 7);
/// ```
#[derive(Clone)]
pub struct ThreadPoolBuilder {
    threads: Option<usize>,
    name: String,
    stack_size: Option<usize>,
    keep_alive: Option<Duration>,
    initializer: Option<Initializer>,
}

impl Default for ThreadPoolBuilder {
    fn default() -> ThreadPoolBuilder {
        ThreadPoolBuilder {
            threads: None,
            name: "sprout-pool".into(),
            stack_size: None,
            keep_alive: None,
            initializer: None,
        }
    }
}

impl ThreadPoolBuilder {
    /// The most threads at once. Default: one per core.
    pub fn threads(mut self, n: usize) -> ThreadPoolBuilder {
        self.threads = Some(n);
        self
    }

    /// The threads' name (default `sprout-pool`).
    pub fn name(mut self, name: impl Into<String>) -> ThreadPoolBuilder {
        self.name = name.into();
        self
    }

    /// Each thread's stack size in bytes (default: std's).
    pub fn stack_size(mut self, bytes: usize) -> ThreadPoolBuilder {
        self.stack_size = Some(bytes);
        self
    }

    /// Lets a thread exit after `idle` without work; a new one starts when
    /// work comes. Default: threads stay until the pool closes.
    pub fn keep_alive(mut self, idle: Duration) -> ThreadPoolBuilder {
        self.keep_alive = Some(idle);
        self
    }

    /// Runs `f` once on each new thread, before it takes any work (to open
    /// a connection, seed a thread-local...). If it panics, the pool breaks
    /// like `BrokenThreadPool`: queued and later work fails with a
    /// [`JoinError::Panicked`] that quotes the panic.
    pub fn initializer(mut self, f: impl Fn() + Send + Sync + 'static) -> ThreadPoolBuilder {
        self.initializer = Some(Arc::new(f));
        self
    }

    /// Builds the pool. Threads start as work arrives.
    ///
    /// # Panics
    /// If the size was set to 0.
    pub fn build(self) -> ThreadPool {
        let threads = self.threads.unwrap_or_else(|| thread::available_parallelism().map_or(1, NonZeroUsize::get));
        assert!(threads > 0, "sprout ThreadPool: the number of threads must be at least 1");
        let state = State {
            queue: VecDeque::new(),
            threads: 0,
            idle: 0,
            notified: 0,
            closed: false,
            broken: None,
            joiners: WakerSet::new(),
        };
        let shared = Shared {
            state: Mutex::new(state),
            work: Condvar::new(),
            max_threads: AtomicUsize::new(threads),
            keep_alive: self.keep_alive,
            name: self.name,
            stack_size: self.stack_size,
            initializer: self.initializer,
            handles: AtomicUsize::new(0),
        };
        ThreadPool { shared: PoolHandle::new(shared) }
    }
}

impl fmt::Debug for ThreadPoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolBuilder")
            .field("threads", &self.threads)
            .field("name", &self.name)
            .field("stack_size", &self.stack_size)
            .field("keep_alive", &self.keep_alive)
            .field("initializer", &self.initializer.is_some())
            .finish()
    }
}
