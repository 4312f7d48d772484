//! `Executor`: the task side of one runtime. Its run queue, the task being
//! polled, the registry of live tasks, the task home, and the harness that
//! runs them.
//!
//! Ground rules:
//! - Everything here is owned by the runtime thread: `Cell`s and short
//!   `RefCell` borrows that never span user code (see "User code under a
//!   borrow" in docs/architecture.md).
//! - A run-queue entry owns one reference to its task; the registry owns
//!   one until the task completes.
//! - Code running inside the runtime finds the executor through its
//!   thread-local slot ([`Executor::current`]), set by the loop's `enter`.
//!   That is how wakers, `spawn`, `yield_now`, the budget and the
//!   `JoinHandle` reach the loop's tasks without importing the loop.
//! - The loop drives it: [`run_batch`](Executor::run_batch) (step 2 of a
//!   turn), [`wake_deferred`](Executor::wake_deferred) (step 6), the root
//!   future's wake flag, and the shutdown's kill loop.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::ptr::{self, NonNull};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;

use super::child::{self, ScopeList};
use super::compact::CompactWaker;
use super::error::JoinError;
use super::harness::{Harness, PanicPolicy, Unjoined};
use super::header::{Header, TaskId, foreign_ref_dec, ref_dec};
use super::home::{Mailbox, TaskHome};
use super::observe::Observer;
use super::order::{Picks, SeededOrder};
use super::raw;
use super::registry::Registry;
use super::state::{JOIN_HANDLE, SCHEDULED, Wake};
use super::waker::{self, RefKind, SentRef};
use crate::scoped::{self, Reset};

thread_local! {
    /// The executor of the runtime running on this thread.
    static CURRENT: Cell<*const Executor> = const { Cell::new(ptr::null()) };
}

/// The task side of one runtime. See the module docs.
pub(crate) struct Executor {
    /// Where this runtime's task blocks live; it also identifies the
    /// runtime to its tasks' wakers (`owning`).
    home: NonNull<TaskHome>,
    /// The `block_on` future's pseudo-task; its SCHEDULED bit means "woken".
    root: NonNull<Header>,
    /// Ready tasks, in FIFO order. Each entry owns a reference.
    run_queue: RefCell<VecDeque<NonNull<Header>>>,
    /// Wakers of tasks that called `yield_now`, spent their budget or slept
    /// zero this turn: woken after the next I/O poll. Compact, so that a
    /// task of this executor (nearly always the one deferring) is kept as
    /// its header and scheduled directly, with no `Waker` call either way.
    deferred: RefCell<VecDeque<CompactWaker>>,
    /// The task being polled (or dropped), or `root`.
    current: Cell<NonNull<Header>>,
    /// The scope child being polled inside `current`'s poll, if any (the
    /// innermost one, for nested scopes): who polls a scope started there.
    running_child: Cell<Option<NonNull<Header>>>,
    /// The live scopes, for the task dump and the deadlock check (`child.rs`).
    scopes: Rc<ScopeList>,
    /// Operations left in the current poll's budget (see `task::coop`).
    budget: Cell<u32>,
    ops_per_poll: u32,
    tasks_per_turn: u32,
    registry: RefCell<Registry>,
    next_id: Cell<u64>,
    harness: Harness,
    /// Counters for `sprout::metrics()`: plain cells, one add each.
    counts: Counts,
    /// Set when the runtime observes its tasks (`task/observe.rs`).
    observer: OnceCell<Box<Observer>>,
    /// `Builder::seed`: take ready tasks in a seeded pseudo-random order
    /// instead of FIFO (`order.rs`). `None`, the default, costs one test
    /// per batch.
    order: Option<Box<SeededOrder>>,
    /// Without a seed, the generator of the tasks' random choices (`pick`).
    picks: Picks,
}

/// The executor's counters (the rest of the metrics are derived: spawned
/// is `next_id - 1`, alive the registry's length).
#[derive(Default)]
pub(crate) struct Counts {
    /// Tasks taken off the run queue to poll (the `block_on` future not
    /// included; a task killed while queued counts too): one add each.
    pub(crate) polls: Cell<u64>,
    /// Tasks whose future was dropped by a kill.
    pub(crate) killed: Cell<u64>,
    /// Tasks whose poll panicked.
    pub(crate) panicked: Cell<u64>,
    /// Scope children created: they take task ids, but are not tasks.
    pub(crate) children: Cell<u64>,
}

impl Executor {
    /// An executor whose tasks' foreign paths post to `mailbox`.
    pub(crate) fn new(mailbox: Arc<dyn Mailbox>, tasks_per_turn: u32, ops_per_poll: u32, policy: PanicPolicy) -> Self {
        let home = TaskHome::new(mailbox);
        let root = raw::allocate_root(home);
        Executor {
            home,
            root,
            run_queue: RefCell::new(VecDeque::new()),
            deferred: RefCell::new(VecDeque::new()),
            current: Cell::new(root),
            running_child: Cell::new(None),
            scopes: Rc::default(),
            budget: Cell::new(ops_per_poll),
            ops_per_poll,
            tasks_per_turn,
            registry: RefCell::new(Registry::new()),
            next_id: Cell::new(1),
            harness: Harness::new(policy),
            counts: Counts::default(),
            observer: OnceCell::new(),
            order: None,
            picks: Picks::new(),
        }
    }

    /// Starts observing the tasks (`task/observe.rs`); before the first spawn.
    pub(crate) fn set_observer(&self, observer: Observer) {
        let _ = self.observer.set(Box::new(observer));
    }

    /// The observer, if the runtime observes its tasks.
    #[inline]
    pub(crate) fn observer(&self) -> Option<&Observer> {
        self.observer.get().map(|o| &**o)
    }

    /// Takes ready tasks in the pseudo-random order `seed` fixes from now on
    /// (`Builder::seed`; see `order.rs`).
    pub(crate) fn seed_order(&mut self, seed: u64) {
        self.order = Some(Box::new(SeededOrder::new(seed)));
    }

    /// A pseudo-random index below `n` (`n > 0`) for the choices tasks
    /// make (`select!`'s first branch): from the seeded order when there is
    /// one, so that a seeded run replays them too, else from the
    /// executor's own generator (`order.rs`, `Picks`).
    #[inline]
    pub(crate) fn pick(&self, n: usize) -> usize {
        match &self.order {
            Some(order) => order.pick(n),
            None => self.picks.pick(n),
        }
    }

    // --- Finding it ---

    /// The executor of the runtime running on this thread, if any.
    #[inline]
    pub(crate) fn current<'a>() -> Option<&'a Executor> {
        scoped::get(&CURRENT)
    }

    /// The running executor, or a panic naming the operation that needed one.
    #[inline]
    #[track_caller]
    pub(crate) fn expect<'a>(what: &str) -> &'a Executor {
        match Executor::current() {
            Some(executor) => executor,
            None => outside_runtime(what),
        }
    }

    /// The running executor, if it is the one whose tasks live in `home`:
    /// the "am I on this task's runtime thread, inside its runtime?" test.
    #[inline]
    pub(crate) fn owning<'a>(home: NonNull<TaskHome>) -> Option<&'a Executor> {
        Executor::current().filter(|executor| executor.home == home)
    }

    /// Makes this the current executor until the guard drops (the loop's `enter`).
    pub(crate) fn enter(&self) -> Reset<Executor> {
        scoped::set(&CURRENT, self)
    }

    // --- Tasks ---

    /// Creates a task for `future`, queued to run, and returns it with a
    /// reference for its `JoinHandle` (see `task::spawn_on`). `at` is the
    /// spawn site, for the observer.
    #[inline]
    pub(crate) fn spawn<F>(&self, future: F, name: Option<Box<str>>, at: &'static Location<'static>) -> NonNull<Header>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        // Three references: the registry's, the run queue's and the handle's.
        let task = raw::allocate(future, SCHEDULED | JOIN_HANDLE, 3, self.home, id);
        // SAFETY: freshly allocated, owned by this thread.
        let header = unsafe { task.as_ref() };
        if name.is_some() {
            header.with_extras(|e| e.name = name);
        }
        // Feature `tracing`: one load unless a subscriber is set.
        super::span::attach(header, at);
        let slot = self.registry.borrow_mut().insert(task);
        header.slot.set(slot);
        // Unobserved, a spawn pays this pointer test.
        if let Some(observer) = self.observer() {
            observer.spawned(slot, header.id, at, header.name());
        }
        self.push(task);
        task
    }

    /// The number of live (unfinished) tasks.
    pub(crate) fn live_tasks(&self) -> usize {
        self.registry.borrow().len()
    }

    /// The task being polled (the root pseudo-task outside task polls).
    #[inline]
    pub(crate) fn current_task(&self) -> NonNull<Header> {
        self.current.get()
    }

    /// Whether `task` is the `block_on` future's pseudo-task.
    pub(crate) fn is_root(&self, task: NonNull<Header>) -> bool {
        task == self.root
    }

    /// Kills a task of this runtime (see `Harness::kill`).
    pub(crate) fn kill(&self, task: NonNull<Header>) {
        let _dropped_now = self.harness.kill(self, task);
    }

    /// Applies the panic policy to a failure nobody joined, of a task known
    /// by its id (see `Harness::failed_as`).
    pub(crate) fn unjoined_failure(&self, who: Unjoined<'_>, err: JoinError) {
        self.harness.failed_as(who, err);
    }

    /// Drops a finished task's output nobody will take (see `Harness::discard_output`).
    pub(crate) fn discard_output(&self, task: NonNull<Header>) {
        self.harness.discard_output(task);
    }

    // --- Waking ---

    /// Schedules a task of this runtime. Returns true if the run queue took
    /// a new reference.
    ///
    /// # Safety
    /// `task` is live and belongs to this executor.
    #[inline]
    pub(crate) unsafe fn schedule(&self, task: NonNull<Header>) -> bool {
        // SAFETY: the caller guarantees liveness; this is the runtime thread.
        let header = unsafe { task.as_ref() };
        match header.state.transition_to_scheduled() {
            Wake::Push => {
                self.push(task);
                true
            }
            Wake::Child => {
                // SAFETY: `Child` comes only for a child that is not
                // COMPLETE; the queue takes the reference the caller gives.
                unsafe { child::enqueue(task) };
                true
            }
            Wake::Root | Wake::Nothing => false,
        }
    }

    /// Schedules the task a message from another thread woke, and settles
    /// the reference the message carried.
    ///
    /// # Safety
    /// `sent` is a reference to a task of this executor.
    pub(crate) unsafe fn wake_sent(&self, sent: SentRef) {
        let task = sent.task();
        // SAFETY: the message's reference keeps the task alive.
        unsafe {
            match (self.schedule(task), sent.kind()) {
                // The message's local reference becomes the queue's.
                (true, RefKind::Local) => {}
                (true, RefKind::Foreign) => {
                    task.as_ref().ref_inc();
                    foreign_ref_dec(task);
                }
                (false, _) => sent.release(),
            }
        }
    }

    /// Appends a task to the run queue. The caller hands over a reference.
    #[inline]
    pub(super) fn push(&self, task: NonNull<Header>) {
        self.run_queue.borrow_mut().push_back(task);
    }

    /// Defers a `yield_now` (or a spent budget, or a zero sleep) until after
    /// the next I/O poll.
    // Out of line: callers inline the budget check (`task::coop`) and
    // `yield_now`, which this would make too large to inline.
    #[inline(never)]
    pub(crate) fn defer(&self, waker: &Waker) {
        let entry = match waker::task_in(waker, self.home) {
            Some(task) => {
                // SAFETY: a task of this executor (its home), on its thread:
                // the entry owns the reference taken here.
                unsafe {
                    task.as_ref().ref_inc();
                    CompactWaker::from_task(task)
                }
            }
            None => CompactWaker::new(waker),
        };
        self.deferred.borrow_mut().push_back(entry);
    }

    // --- The budget (`task::coop`) ---

    /// Spends one unit of the running task's budget; false if it is spent.
    #[inline]
    pub(crate) fn spend_budget(&self) -> bool {
        let left = self.budget.get();
        if left == 0 {
            return false;
        }
        self.budget.set(left - 1);
        true
    }

    /// Whether the running task has budget left.
    pub(crate) fn has_budget(&self) -> bool {
        self.budget.get() > 0
    }

    // --- The loop's side ---

    /// A waker for the root pseudo-task, which the loop polls the
    /// `block_on` future with.
    ///
    /// # Safety
    /// The waker must not be used after the executor is gone (its clones
    /// own references and may). It is borrowed: never drop it.
    pub(crate) unsafe fn root_waker(&self) -> ManuallyDrop<Waker> {
        // SAFETY: the root lives as long as the executor; by the caller's
        // promise, the borrowed waker is neither dropped nor kept longer.
        ManuallyDrop::new(unsafe { waker::borrowed(self.root) })
    }

    /// Marks the root woken (the first poll of a `block_on` future).
    pub(crate) fn wake_root(&self) {
        // SAFETY: the root lives as long as the executor.
        let state = unsafe { &self.root.as_ref().state };
        let _: Wake = state.transition_to_scheduled();
    }

    /// If the root was woken, takes the wake and starts the root's poll (a
    /// fresh budget). Returns whether the loop should poll it.
    #[inline]
    pub(crate) fn begin_root_poll(&self) -> bool {
        // SAFETY: the root lives as long as the executor.
        let woken = unsafe { self.root.as_ref().state.transition_root_to_polled() };
        if woken {
            self.budget.set(self.ops_per_poll);
            if let Some(observer) = self.observer() {
                observer.poll_starts(None);
            }
        }
        woken
    }

    /// Runs up to `tasks_per_turn` tasks from the run queue.
    #[inline]
    pub(crate) fn run_batch(&self) {
        if let Some(order) = &self.order {
            return self.run_batch_seeded(order);
        }
        // The observer is looked at once per batch: unobserved, a poll
        // pays nothing for it.
        match self.observer() {
            None => self.run_tasks(None),
            Some(observer) => self.run_tasks(Some(observer)),
        }
    }

    /// The body of `run_batch`.
    #[inline(always)]
    fn run_tasks(&self, observer: Option<&Observer>) {
        for _ in 0..self.tasks_per_turn {
            let Some(task) = self.run_queue.borrow_mut().pop_front() else { break };
            self.counts.polls.set(self.counts.polls.get() + 1);
            // SAFETY: the queue entry owns a reference to a task of this runtime.
            unsafe { self.harness.run(self, task, observer) };
        }
    }

    /// `run_batch` in a seeded order: each pick is uniform among the
    /// queued tasks and, if it was woken, the root; picking the root ends
    /// the batch, so the loop polls it before any other queued task.
    #[inline(never)]
    fn run_batch_seeded(&self, order: &SeededOrder) {
        for _ in 0..self.tasks_per_turn {
            let task = {
                let mut queue = self.run_queue.borrow_mut();
                let ready = queue.len();
                if ready == 0 {
                    break;
                }
                // SAFETY: the root lives as long as the executor.
                let root_woken = unsafe { self.root.as_ref().state.has(SCHEDULED) };
                let pick = order.pick(ready + usize::from(root_woken));
                if pick == ready {
                    break;
                }
                match queue.swap_remove_back(pick) {
                    Some(task) => task,
                    None => break,
                }
            };
            self.counts.polls.set(self.counts.polls.get() + 1);
            // SAFETY: the queue entry owns a reference to a task of this runtime.
            unsafe { self.harness.run(self, task, self.observer()) };
        }
    }

    /// Re-raises a propagated panic (`PanicPolicy::Propagate`) from `block_on`.
    #[inline]
    pub(crate) fn raise_failure(&self) {
        self.harness.raise_failure();
    }

    /// Whether anything is ready to run without waiting: the root was
    /// woken, a task is queued, or one yielded.
    pub(crate) fn is_busy(&self) -> bool {
        // SAFETY: the root lives as long as the executor.
        let root_woken = unsafe { self.root.as_ref().state.has(SCHEDULED) };
        root_woken || !self.run_queue.borrow().is_empty() || self.has_deferred()
    }

    /// Whether a task yielded this turn.
    #[inline]
    pub(crate) fn has_deferred(&self) -> bool {
        !self.deferred.borrow().is_empty()
    }

    /// Wakes the tasks that yielded this turn (step 6 of the loop).
    /// Inlined into the loop's turn, its one caller: built with the
    /// `tracing` feature, the compiler otherwise kept it out of line, a
    /// call per turn (docs/benchmarks.md, "tracing").
    #[inline]
    pub(crate) fn wake_deferred(&self) {
        // Only the entries there now: waking may run a foreign waker that
        // defers again, and that must wait for the next turn. Popped one by
        // one, with no borrow held while a waker runs.
        let due = self.deferred.borrow().len();
        for _ in 0..due {
            let Some(entry) = self.deferred.borrow_mut().pop_front() else { break };
            match entry.into_task() {
                // An uncounted task waker here is always of this executor's
                // tasks (`defer`; `CompactWaker::new` keeps another
                // runtime's as a boxed foreign waker): what `wake` would
                // do on this thread, without the call.
                // SAFETY: the entry's reference becomes the queue's, or is
                // given up if the task needs no scheduling.
                Ok(task) => unsafe {
                    if !self.schedule(task) {
                        ref_dec(task);
                    }
                },
                Err(waker) => waker.wake(),
            }
        }
    }

    // --- The harness's side ---

    /// Makes `task` the current task (for its poll or its drop) and returns
    /// the previous one.
    #[inline]
    pub(super) fn set_current(&self, task: NonNull<Header>) -> NonNull<Header> {
        self.current.replace(task)
    }

    /// Starts a task's poll: a fresh budget, and the observer's note.
    #[inline(always)]
    pub(super) fn begin_poll(&self, header: &Header, observer: Option<&Observer>) {
        self.budget.set(self.ops_per_poll);
        if let Some(observer) = observer {
            observer.poll_starts(Some(header.slot.get()));
        }
    }

    /// The counters (`sprout::metrics()`).
    pub(crate) fn counts(&self) -> &Counts {
        &self.counts
    }

    /// The number of tasks spawned so far (scope children not included).
    pub(crate) fn spawned(&self) -> u64 {
        self.next_id.get() - 1 - self.counts.children.get()
    }

    // --- Scope children (`child.rs`) ---

    /// The task home, where children are allocated too.
    #[inline]
    pub(super) fn home(&self) -> NonNull<TaskHome> {
        self.home
    }

    /// The id of a new scope child: children share the tasks' ids, so that
    /// a dump never shows two alike.
    #[inline]
    pub(super) fn next_child_id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.counts.children.set(self.counts.children.get() + 1);
        id
    }

    /// Marks the scope child being polled (`None` when its poll ends) and
    /// returns the previous mark.
    #[inline]
    pub(super) fn set_running_child(&self, task: Option<NonNull<Header>>) -> Option<NonNull<Header>> {
        self.running_child.replace(task)
    }

    /// Who is running: the innermost scope child being polled, else the
    /// current task (for the dump's parent of a scope).
    pub(crate) fn running_id(&self) -> TaskId {
        let task = self.running_child.get().unwrap_or(self.current.get());
        // SAFETY: the running child, or the current task, is live while it runs.
        unsafe { task.as_ref().id }
    }

    /// The live scopes (the dump, the deadlock check).
    pub(crate) fn scopes(&self) -> &Rc<ScopeList> {
        &self.scopes
    }

    /// The number of tasks in the run queue.
    pub(crate) fn queued(&self) -> usize {
        self.run_queue.borrow().len()
    }

    /// The live tasks, in registry-slot order (the task dump, the deadlock check).
    pub(crate) fn live(&self) -> Vec<NonNull<Header>> {
        self.registry.borrow().snapshot()
    }

    /// Whether `f` holds for every live task; `f` must not run user code.
    pub(crate) fn all_live(&self, f: impl FnMut(NonNull<Header>) -> bool) -> bool {
        self.registry.borrow().all(f)
    }

    /// The `block_on` future's pseudo-task.
    pub(crate) fn root(&self) -> NonNull<Header> {
        self.root
    }

    /// Forgets a completed task's registry slot.
    #[inline]
    pub(super) fn unregister(&self, slot: u32) {
        self.registry.borrow_mut().remove(slot);
    }

    // --- Shutdown ---

    /// Kills every live task (their futures are dropped in place; their
    /// destructors may spawn more). Returns whether it dropped any future:
    /// the shutdown repeats it until a pass drops none, so a task that
    /// cannot be killed now (one still being polled, which a shutdown never
    /// meets) cannot keep it looping.
    pub(crate) fn kill_all(&self) -> bool {
        // Usually every task has finished: then the registry's slots (as
        // many as there ever were live tasks at once) need no scan.
        if self.live_tasks() == 0 {
            return false;
        }
        let live = self.registry.borrow().snapshot();
        // Take a reference to every task before killing any: a kill runs
        // destructors, which may kill and free a task later in the list.
        for &task in &live {
            // SAFETY: registered tasks are live, and nothing has run yet.
            unsafe { task.as_ref().ref_inc() };
        }
        let mut dropped = false;
        for task in live {
            dropped |= self.harness.kill(self, task);
            // SAFETY: the reference taken above.
            unsafe { ref_dec(task) };
        }
        dropped
    }

    /// Drops the run queue's references and the yielded tasks' wakers
    /// (shutdown, once every task is dead).
    pub(crate) fn clear_queues(&self) {
        let queued: Vec<_> = self.run_queue.borrow_mut().drain(..).collect();
        for task in queued {
            // SAFETY: each queue entry owns a reference.
            unsafe { ref_dec(task) };
        }
        drop(std::mem::take(&mut *self.deferred.borrow_mut()));
    }

    /// The end of the shutdown: lets go of the root and the home, which is
    /// freed now or by the last task block that outlives the runtime.
    /// Returns the number of such blocks.
    ///
    /// # Safety
    /// Called once, last: nothing uses the executor afterwards.
    pub(crate) unsafe fn release(&self) -> usize {
        // SAFETY: the executor's own reference to the root; then the home,
        // given up once, on its thread (the caller's promise).
        unsafe {
            ref_dec(self.root);
            TaskHome::release(self.home)
        }
    }
}

/// A task's poll panicked (`raw::poll`): counts it and makes the error.
/// Out of line and cold, so the poll's shape is what it was without the count.
#[cold]
#[inline(never)]
pub(super) fn panicked(payload: Box<dyn std::any::Any + Send>) -> super::error::JoinError {
    if let Some(executor) = Executor::current() {
        executor.counts.panicked.set(executor.counts.panicked.get() + 1);
    }
    super::error::JoinError::panicked(payload)
}

#[cold]
#[track_caller]
fn outside_runtime(what: &str) -> ! {
    panic!("{what} must be called from inside a sprout runtime (sprout::run or Runtime::block_on)")
}
