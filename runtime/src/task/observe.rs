//! What a runtime records about its tasks for the tools that look inside
//! it (`crate::observe`: the task dump, the deadlock report, the blocking
//! detector): the hot-path half, which the harness and the waiting
//! primitives call.
//!
//! Ground rules:
//! - Nothing here runs unless the runtime was built to observe (an
//!   [`Observer`] exists only then): the executor's poll and spawn paths
//!   test one pointer, and a waiting primitive one thread-local slot
//!   ([`waiting`]). Everything else is behind that test.
//! - Two independent parts, each optional:
//!   - the *records* (`Builder::observe`, on by default in debug builds):
//!     per task, by registry slot, where it was spawned, when, how many
//!     polls, and what its last poll waits on. Runtime thread only;
//!   - the *watch* (`Builder::warn_blocking`): one word the monitor thread
//!     samples, stored at the start of every poll with the `.await` the
//!     poll resumes from (known when records are kept), plus each slot's
//!     task id and spawn site in atomics the monitor can read while the
//!     runtime thread is stuck in a poll ([`Watch`]).
//! - A waiting primitive names what it waits on when its poll returns
//!   `Pending` ([`waiting`]); the site is the caller of its `poll`, which
//!   is `#[track_caller]`: for `lock.lock().await` that is the line of the
//!   `.await` in the task. The record is cleared when the task is next
//!   polled, so it always describes the last poll. The first wait noted in
//!   a poll is kept; later ones are only counted (`select` of a lock and a
//!   sleep shows the lock, "and 1 more").
//!
//! The watch's word, as the monitor reads it:
//!
//! ```text
//!  bits 63..32  stamp: bumped at every store, so two polls never look alike
//!  bits 31..0   0 = idle (the loop is waiting, or no block_on runs),
//!               1 = the block_on future, 2 = a closure posted from another
//!               thread, n + 3 = the task in registry slot n
//! ```

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::ptr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::time::Instant;

use super::header::{Header, TaskId};
use super::state::{JOIN_HANDLE, RUNNING, SCHEDULED};
use crate::loom::lock;
use crate::scoped::{self, Reset};

thread_local! {
    /// The observer of the running runtime, if it keeps records.
    static TRACKING: Cell<*const Observer> = const { Cell::new(ptr::null()) };
}

/// What a waiting task waits on, as far as sprout knows: the primitive (or
/// resource) whose `poll` returned `Pending` in the task's last poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitOn {
    /// A `sleep` (or a timeout, an interval) until this instant.
    Sleep {
        /// When it ends.
        deadline: Instant,
    },
    /// Another task's end (`JoinHandle`, `joinall`).
    Join {
        /// The task awaited.
        task: TaskId,
    },
    /// A `Lock`.
    Lock,
    /// An `RLock`.
    RLock,
    /// An `Event`.
    Event,
    /// An `AsyncResult`.
    AsyncResult,
    /// A `Semaphore` (or `BoundedSemaphore`).
    Semaphore,
    /// A `Condition`.
    Condition,
    /// A `Barrier`.
    Barrier,
    /// An `RwLock`, to read.
    RwLockRead,
    /// An `RwLock`, to write.
    RwLockWrite,
    /// A `OnceCell` (or `Lazy`) that another task is initialising.
    OnceCell,
    /// A `Notify`.
    Notify,
    /// A message on a `broadcast` channel.
    Broadcast,
    /// A change of a `watch` channel's value.
    Watch,
    /// An item from a queue (`get`, or a receiver).
    QueueGet,
    /// Room in a queue (`put`).
    QueuePut,
    /// A queue's `join` (every item marked done).
    QueueJoin,
    /// A free slot in a pool (`Pool::spawn` on a full pool).
    PoolSlot,
    /// The tasks of a group or pool (`join`, `close`).
    PoolJoin,
    /// A socket (or other registered descriptor) to become readable.
    Readable,
    /// A socket (or other registered descriptor) to become writable.
    Writable,
    /// A job on the blocking thread pool (`spawn_blocking`, files).
    Blocking,
    /// `sprout::wait()`: every other task to be idle.
    Idle,
    /// `task::killed()`: a graceful kill.
    Killed,
    /// A `CancelToken` to be cancelled (`cancelled()`).
    Cancelled,
    /// The children of a `sprout::scope` whose body has returned (they are
    /// listed under the task in the dump, with what each waits on).
    Scope,
}

impl WaitOn {
    /// A short name: "lock", "sleep", "join"...
    pub fn name(&self) -> &'static str {
        match self {
            WaitOn::Sleep { .. } => "sleep",
            WaitOn::Join { .. } => "join",
            WaitOn::Lock => "lock",
            WaitOn::RLock => "rlock",
            WaitOn::Event => "event",
            WaitOn::AsyncResult => "async result",
            WaitOn::Semaphore => "semaphore",
            WaitOn::Condition => "condition",
            WaitOn::Barrier => "barrier",
            WaitOn::RwLockRead => "rwlock read",
            WaitOn::RwLockWrite => "rwlock write",
            WaitOn::OnceCell => "once cell",
            WaitOn::Notify => "notify",
            WaitOn::Broadcast => "broadcast",
            WaitOn::Watch => "watch",
            WaitOn::QueueGet => "queue get",
            WaitOn::QueuePut => "queue put",
            WaitOn::QueueJoin => "queue join",
            WaitOn::PoolSlot => "pool slot",
            WaitOn::PoolJoin => "pool join",
            WaitOn::Readable => "readable",
            WaitOn::Writable => "writable",
            WaitOn::Blocking => "blocking job",
            WaitOn::Idle => "wait()",
            WaitOn::Killed => "killed()",
            WaitOn::Cancelled => "cancelled()",
            WaitOn::Scope => "scope",
        }
    }
}

impl fmt::Display for WaitOn {
    /// The name, with the detail sprout has: a sleep's time left, the task joined.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitOn::Sleep { deadline } => {
                let left = deadline.saturating_duration_since(Instant::now());
                write!(f, "sleep ({} left)", Millis(left))
            }
            WaitOn::Join { task } => write!(f, "join {task}"),
            other => f.write_str(other.name()),
        }
    }
}

/// A duration in readable units: "850 us", "12 ms", "3.4 s", "2 h".
pub(crate) struct Millis(pub(crate) std::time::Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.as_secs() >= 365 * 86_400 {
            f.write_str("never")
        } else if d.as_secs() >= 7200 {
            write!(f, "{} h", d.as_secs() / 3600)
        } else if d.as_secs() >= 10 {
            write!(f, "{} s", d.as_secs())
        } else if d.as_millis() >= 1000 {
            write!(f, "{:.1} s", d.as_secs_f64())
        } else if d.as_millis() >= 1 {
            write!(f, "{} ms", d.as_millis())
        } else {
            write!(f, "{} us", d.as_micros())
        }
    }
}

/// What a task's last poll waits on and where: `what` is the first wait
/// noted in that poll; `also` counts the others.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WaitSite {
    pub(crate) what: WaitOn,
    /// The caller of the waiting future's `poll`: the `.await`; `None`
    /// when that is inside the standard library (a future polled through
    /// `&mut F`, `Pin<Box<F>>` or `dyn Future`), which would say nothing.
    pub(crate) at: Option<&'static Location<'static>>,
    /// A thread-safe primitive (another thread may end the wait).
    pub(crate) shared: bool,
    pub(crate) also: u32,
}

/// One task's record (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Record {
    pub(crate) spawned_at: Option<&'static Location<'static>>,
    pub(crate) born: Option<Instant>,
    pub(crate) polls: u64,
    pub(crate) wait: Option<WaitSite>,
}

/// The watch's `what` for the loop waiting (not in any poll).
pub(crate) const IDLE: u32 = 0;
/// The watch's `what` for the `block_on` future's poll.
pub(crate) const MAIN: u32 = 1;
/// The watch's `what` for a closure posted from another thread.
pub(crate) const CLOSURE: u32 = 2;
/// The watch's `what` of registry slot 0.
const FIRST_SLOT: u32 = 3;

/// A runtime's observer: see the module docs. Owned by the executor.
pub(crate) struct Observer {
    /// Index 0: the `block_on` future; index n + 1: registry slot n.
    records: Option<RefCell<Vec<Record>>>,
    /// The index of the record of the poll running now.
    current: Cell<usize>,
    /// The records of scope children (`task/child.rs`), which are polled
    /// inside a task's poll and so have no registry slot: by the address
    /// of the child's block (a child's record goes before its block is
    /// freed). Kept when `records` is.
    children: Option<RefCell<HashMap<usize, Record>>>,
    /// The child whose poll runs now inside the current task's poll, if
    /// any ([`NO_CHILD`]): its record takes the waits noted.
    current_child: Cell<usize>,
    watch: Option<std::sync::Arc<Watch>>,
}

/// `current_child` when no scope child is being polled (no block is at 0).
const NO_CHILD: usize = 0;

impl Observer {
    /// An observer keeping records (if `records`) and feeding `watch`.
    pub(crate) fn new(records: bool, watch: Option<std::sync::Arc<Watch>>) -> Observer {
        let main = Record { born: Some(Instant::now()), ..Record::default() };
        Observer {
            records: records.then(|| RefCell::new(vec![main])),
            current: Cell::new(0),
            children: records.then(|| RefCell::new(HashMap::new())),
            current_child: Cell::new(NO_CHILD),
            watch,
        }
    }

    /// Whether it keeps records (and `waiting` should reach it).
    pub(crate) fn keeps_records(&self) -> bool {
        self.records.is_some()
    }

    /// Makes this the observer `waiting` reports to, until the guard drops.
    pub(crate) fn enter(&self) -> Option<Reset<Observer>> {
        self.keeps_records().then(|| scoped::set(&TRACKING, self))
    }

    /// A task was spawned into registry slot `slot`.
    #[cold]
    pub(crate) fn spawned(&self, slot: u32, id: TaskId, at: &'static Location<'static>, name: Option<&str>) {
        if let Some(records) = &self.records {
            let mut records = records.borrow_mut();
            let index = slot as usize + 1;
            if records.len() <= index {
                records.resize(index + 1, Record::default());
            }
            records[index] = Record { spawned_at: Some(at), born: Some(Instant::now()), polls: 0, wait: None };
        }
        if let Some(watch) = &self.watch {
            watch.slots.set(slot, id, at, name);
        }
    }

    /// A poll of the task in registry slot `slot` starts (`None`: the
    /// `block_on` future).
    #[inline]
    pub(crate) fn poll_starts(&self, slot: Option<u32>) {
        // Where the last poll waited: the `.await` this one resumes from.
        let mut resumed = None;
        if let Some(records) = &self.records {
            let index = slot.map_or(0, |s| s as usize + 1);
            self.current.set(index);
            if let Some(record) = records.borrow_mut().get_mut(index) {
                record.polls += 1;
                resumed = record.wait.take().and_then(|w| w.at);
            }
        }
        if let Some(watch) = &self.watch {
            watch.set_resumed_at(resumed);
            // A registry never holds 2^32 - 3 tasks: a plain add.
            watch.store(slot.map_or(MAIN, |s| s.wrapping_add(FIRST_SLOT)));
        }
    }

    /// `block_on` (or `run`) was called at `at`: the main future's spawn site.
    pub(crate) fn main_site(&self, at: &'static Location<'static>) {
        if let Some(records) = &self.records
            && let Some(main) = records.borrow_mut().first_mut()
        {
            main.spawned_at = Some(at);
        }
        if let Some(watch) = &self.watch {
            watch.set_main_site(at);
        }
    }

    /// The loop runs a closure posted from another thread (`Handle::call`).
    #[inline]
    pub(crate) fn closure_starts(&self) {
        if let Some(watch) = &self.watch {
            watch.store(CLOSURE);
        }
    }

    /// The loop is about to wait for events: no poll is running.
    #[inline]
    pub(crate) fn loop_waits(&self) {
        if let Some(watch) = &self.watch {
            watch.store(IDLE);
        }
    }

    /// Notes what the running poll waits on.
    #[cold]
    fn note(&self, what: WaitOn, at: &'static Location<'static>, shared: bool) {
        let at = (!at.file().starts_with("/rustc/")).then_some(at);
        self.with_running(|record| match &mut record.wait {
            Some(site) => site.also = site.also.saturating_add(1),
            None => record.wait = Some(WaitSite { what, at, shared, also: 0 }),
        });
    }

    /// Runs `f` on the record of the poll running now: the scope child's,
    /// if one is being polled, else the task's.
    fn with_running(&self, f: impl FnOnce(&mut Record)) {
        let child = self.current_child.get();
        if child != NO_CHILD {
            if let Some(children) = &self.children {
                children.borrow_mut().get_mut(&child).map(f);
            }
        } else if let Some(records) = &self.records {
            records.borrow_mut().get_mut(self.current.get()).map(f);
        }
    }

    // --- Scope children (`task/child.rs`) ---

    /// The scope child whose block is at `child` was spawned at `at`.
    #[cold]
    pub(crate) fn child_spawned(&self, child: usize, at: &'static Location<'static>) {
        if let Some(children) = &self.children {
            let record = Record { spawned_at: Some(at), born: Some(Instant::now()), polls: 0, wait: None };
            children.borrow_mut().insert(child, record);
        }
    }

    /// The poll of the child at `child` starts: its waits go to its record
    /// until [`child_poll_ends`](Self::child_poll_ends), given what this
    /// returns.
    pub(crate) fn child_poll_starts(&self, child: usize) -> usize {
        if let Some(children) = &self.children
            && let Some(record) = children.borrow_mut().get_mut(&child)
        {
            record.polls += 1;
            record.wait = None;
        }
        self.current_child.replace(child)
    }

    /// The child's poll ended: waits go back to `outer` (what
    /// `child_poll_starts` returned).
    pub(crate) fn child_poll_ends(&self, outer: usize) {
        self.current_child.set(outer);
    }

    /// The child at `child` has completed.
    pub(crate) fn child_done(&self, child: usize) {
        if let Some(children) = &self.children {
            children.borrow_mut().remove(&child);
        }
    }

    /// The record of the scope child at `child`.
    pub(crate) fn child_record(&self, child: usize) -> Option<Record> {
        self.children.as_ref().and_then(|c| c.borrow().get(&child).copied())
    }

    /// What the poll running now has noted so far (a scope keeps its body's
    /// wait, to note it again in the polls that do not poll the body).
    pub(crate) fn noted(&self) -> Option<WaitSite> {
        let mut site = None;
        self.with_running(|record| site = record.wait);
        site
    }

    /// Notes `site` for the poll running now, as if its wait were noted again.
    pub(crate) fn renote(&self, site: WaitSite) {
        self.with_running(|record| {
            if record.wait.is_none() {
                record.wait = Some(site);
            }
        });
    }

    /// Where the task in `slot` (`None`: the `block_on` future) was
    /// spawned, from the records or, without them, the watch.
    pub(crate) fn spawn_site(&self, slot: Option<u32>) -> Option<&'static Location<'static>> {
        if self.records.is_some() {
            return self.record(slot).and_then(|r| r.spawned_at);
        }
        let watch = self.watch.as_ref()?;
        match slot {
            Some(slot) => watch.slots.get(slot).1,
            // SAFETY: only ever a `&'static Location` (or null).
            None => unsafe { watch.main_at.load(Ordering::Acquire).as_ref() },
        }
    }

    /// The record of the task in `slot` (`None`: the `block_on` future).
    pub(crate) fn record(&self, slot: Option<u32>) -> Option<Record> {
        let index = slot.map_or(0, |s| s as usize + 1);
        self.records.as_ref().and_then(|r| r.borrow().get(index).copied())
    }
}

/// Notes what the running task waits on, where its poll returned
/// `Pending` (see the module docs): called by sprout's waiting futures,
/// whose `poll` is `#[track_caller]`, so the site is the task's `.await`.
/// One thread-local load when the runtime keeps no records.
#[inline]
#[track_caller]
pub(crate) fn waiting(what: WaitOn) {
    if let Some(observer) = scoped::get(&TRACKING) {
        observer.note(what, Location::caller(), false);
    }
}

/// [`waiting`] for a thread-safe primitive: another thread may end the wait.
#[inline]
#[track_caller]
pub(crate) fn waiting_shared(what: WaitOn, shared: bool) {
    if let Some(observer) = scoped::get(&TRACKING) {
        observer.note(what, Location::caller(), shared);
    }
}

/// Whether the task of `header` (the `block_on` future's pseudo-task if
/// `root`) can be woken only by this runtime's own tasks, timers and
/// sockets: the deadlock check's test (`observe/deadlock.rs` says what the
/// loop checks besides).
///
/// It is idle (not queued, not running), no other thread holds a reference
/// to it (`foreign_refs`: a waker cloned there, or a message on its way),
/// and every runtime-thread reference is accounted for: the registry's
/// (the root's own, for the main future), the `JoinHandle`'s, and the HELD
/// count (`state.rs`): counted `CompactWaker`s, which sit only in
/// runtime-local wait lists and join slots, and internal task handles. A reference beyond those is a `Waker` somewhere
/// sprout cannot see (a hand-written future's, a thread-safe primitive's
/// list, another thread): that task might be woken, and is not stuck.
///
/// `also_held` counts references the caller has accounted for itself:
/// the wakers of timers that can never fire (a paused clock that only
/// `time::advance` moves, `observe/deadlock.rs`).
pub(crate) fn provably_stuck(header: &Header, root: bool, also_held: u32) -> bool {
    let state = &header.state;
    if state.has(SCHEDULED | RUNNING) || header.foreign_refs.load(Ordering::Acquire) != 0 {
        return false;
    }
    let handle = u32::from(!root && state.has(JOIN_HANDLE));
    u64::from(header.refs.get()) == 1 + u64::from(handle) + u64::from(state.held()) + u64::from(also_held)
}

/// What the monitor thread reads while the runtime thread may be stuck in
/// a poll: the word, and for each registry slot the id, spawn site and
/// name of the task spawned there last. Written by the runtime thread (at
/// spawn and at each poll), read by the monitor; shared through an `Arc`.
pub(crate) struct Watch {
    word: AtomicU64,
    slots: SlotTable,
    /// Where `block_on` (or `run`) was called: the `block_on` future's "spawn site".
    main_at: AtomicPtr<Location<'static>>,
    /// The `.await` the running poll resumed from, when records are kept
    /// (null otherwise, or when unknown); stored just before the word.
    resumed_at: AtomicPtr<Location<'static>>,
}

/// Who a watch word points at, as the monitor found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Culprit {
    pub(crate) id: Option<TaskId>,
    pub(crate) name: Option<String>,
    pub(crate) spawned_at: Option<&'static Location<'static>>,
    pub(crate) resumed_at: Option<&'static Location<'static>>,
}

impl Default for Watch {
    fn default() -> Self {
        Watch::new()
    }
}

impl Watch {
    pub(crate) fn new() -> Watch {
        Watch {
            word: AtomicU64::new(0),
            slots: SlotTable::new(),
            main_at: AtomicPtr::new(ptr::null_mut()),
            resumed_at: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The current word (see the module docs).
    pub(crate) fn word(&self) -> u64 {
        self.word.load(Ordering::Acquire)
    }

    /// Stores `what` with the next stamp: with `set_resumed_at`, the two
    /// stores per poll the blocking detector costs. Runtime thread only: as the word's one
    /// writer, it reads back its own last store. `Release`, so that the
    /// monitor, loading with `Acquire`, sees the slot's id and spawn site
    /// written at spawn; on x86 both are plain `mov`s.
    #[inline]
    pub(crate) fn store(&self, what: u32) {
        let stamp = self.word.load(Ordering::Relaxed).wrapping_add(1 << 32) & !u64::from(u32::MAX);
        self.word.store(stamp | u64::from(what), Ordering::Release);
    }

    /// Records the `.await` the poll about to start resumes from (runtime
    /// thread, before `store`, whose `Release` publishes it).
    #[inline]
    fn set_resumed_at(&self, at: Option<&'static Location<'static>>) {
        self.resumed_at.store(at.map_or(ptr::null_mut(), |at| ptr::from_ref(at).cast_mut()), Ordering::Relaxed);
    }

    /// Records where `block_on` was called.
    pub(crate) fn set_main_site(&self, at: &'static Location<'static>) {
        self.main_at.store(ptr::from_ref(at).cast_mut(), Ordering::Release);
    }

    /// Who the word `word` points at: `None` for the idle loop.
    ///
    /// The `.await` a poll resumed from is read after the word: a poll
    /// that ends as the monitor reads may show the next poll's line. The
    /// monitor reads the word again once it has the rest (and the stack),
    /// which narrows that to the few instructions between two stores.
    pub(crate) fn culprit(&self, word: u64) -> Option<Culprit> {
        let what = word as u32;
        // SAFETY: only ever a `&'static Location` (or null).
        let resumed_at = unsafe { self.resumed_at.load(Ordering::Relaxed).as_ref() };
        match what {
            IDLE => None,
            MAIN => {
                // SAFETY: only ever a `&'static Location` (or null).
                let at = unsafe { self.main_at.load(Ordering::Acquire).as_ref() };
                Some(Culprit { id: Some(TaskId(0)), name: Some("main".to_owned()), spawned_at: at, resumed_at })
            }
            CLOSURE => Some(Culprit {
                id: None,
                name: Some("a closure posted by Handle::call".to_owned()),
                spawned_at: None,
                resumed_at: None,
            }),
            slot => {
                let (id, at, name) = self.slots.get(slot - FIRST_SLOT);
                Some(Culprit { id: id.map(TaskId), name, spawned_at: at, resumed_at })
            }
        }
    }
}

/// Slots per chunk of the slot table.
const CHUNK: usize = 1024;
/// Chunks in the table: 4,194,304 slots. A task in a higher slot (more
/// than four million tasks alive at once) is reported without its name
/// and spawn site.
const CHUNKS: usize = 4096;

/// The monitor's view of the registry: per slot, the id, the spawn site
/// and whether the task has a name. Chunks are allocated on first use and
/// never move or shrink until the table is dropped, so the monitor can
/// read them without a lock; each field is an atomic written only by the
/// runtime thread. Names live in a map under a lock: only named tasks touch it.
struct SlotTable {
    chunks: Box<[AtomicPtr<[SlotInfo; CHUNK]>]>,
    names: Mutex<HashMap<u32, (u64, Box<str>)>>,
}

#[derive(Default)]
struct SlotInfo {
    id: AtomicU64,
    at: AtomicPtr<Location<'static>>,
    named: AtomicBool,
}

impl SlotTable {
    fn new() -> SlotTable {
        SlotTable {
            chunks: (0..CHUNKS).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
            names: Mutex::new(HashMap::new()),
        }
    }

    /// Records the task spawned into `slot` (runtime thread only).
    fn set(&self, slot: u32, id: TaskId, at: &'static Location<'static>, name: Option<&str>) {
        let (chunk, index) = (slot as usize / CHUNK, slot as usize % CHUNK);
        let Some(cell) = self.chunks.get(chunk) else { return };
        let mut chunk = cell.load(Ordering::Acquire);
        if chunk.is_null() {
            // Zeroed memory straight from the allocator: no chunk built on
            // the stack and copied (that cost 50 instructions a slot).
            let layout = std::alloc::Layout::new::<[SlotInfo; CHUNK]>();
            // SAFETY: the layout's size is not zero.
            chunk = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<[SlotInfo; CHUNK]>();
            if chunk.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            // The chunk is freed as the `Box` this layout makes (`Drop`):
            // `SlotInfo` is three atomics, for which all-zero bytes are
            // valid values (0, null, false), its `Default`.
            // Only the runtime thread writes `chunks`: a plain store publishes it.
            cell.store(chunk, Ordering::Release);
        }
        // SAFETY: a chunk, once published, lives until the table drops.
        let info = unsafe { &(*chunk)[index] };
        info.id.store(id.0, Ordering::Relaxed);
        info.at.store(ptr::from_ref(at).cast_mut(), Ordering::Relaxed);
        // Only the runtime thread writes: a load and a store, no atomic
        // read-modify-write on the spawn path.
        let was_named = info.named.load(Ordering::Relaxed);
        if was_named != name.is_some() {
            info.named.store(name.is_some(), Ordering::Relaxed);
        }
        if was_named || name.is_some() {
            let mut names = lock(&self.names);
            match name {
                Some(name) => names.insert(slot, (id.0, name.into())),
                None => names.remove(&slot),
            };
        }
    }

    /// What slot `slot` holds: id, spawn site, name (any thread).
    fn get(&self, slot: u32) -> (Option<u64>, Option<&'static Location<'static>>, Option<String>) {
        let (chunk, index) = (slot as usize / CHUNK, slot as usize % CHUNK);
        let Some(chunk) = self.chunks.get(chunk).map(|c| c.load(Ordering::Acquire)).filter(|c| !c.is_null()) else {
            return (None, None, None);
        };
        // SAFETY: a chunk, once published, lives until the table drops.
        let info = unsafe { &(*chunk)[index] };
        let id = info.id.load(Ordering::Relaxed);
        // SAFETY: only ever a `&'static Location` (or null).
        let at = unsafe { info.at.load(Ordering::Relaxed).as_ref() };
        let name = if info.named.load(Ordering::Relaxed) {
            lock(&self.names).get(&slot).filter(|(owner, _)| *owner == id).map(|(_, name)| name.to_string())
        } else {
            None
        };
        (Some(id), at, name)
    }
}

impl Drop for SlotTable {
    fn drop(&mut self) {
        for cell in self.chunks.iter() {
            let chunk = cell.load(Ordering::Acquire);
            if !chunk.is_null() {
                // SAFETY: allocated by `set` with the global allocator and
                // the layout of `[SlotInfo; CHUNK]`, as a `Box` of it would
                // be, and zeroed (valid `SlotInfo`s); freed once, here.
                drop(unsafe { Box::from_raw(chunk) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_table_hands_back_what_was_written() {
        let table = SlotTable::new();
        let here = Location::caller();
        table.set(5, TaskId(9), here, Some("nine"));
        table.set(CHUNK as u32 + 1, TaskId(10), here, None);
        assert_eq!(table.get(5), (Some(9), Some(here), Some("nine".to_owned())));
        assert_eq!(table.get(CHUNK as u32 + 1), (Some(10), Some(here), None));
        // The slot reused by an unnamed task forgets the name.
        table.set(5, TaskId(11), here, None);
        assert_eq!(table.get(5), (Some(11), Some(here), None));
        assert_eq!(table.get(7), (Some(0), None, None));
        assert_eq!(table.get(u32::MAX - 3), (None, None, None));
    }

    #[test]
    fn the_word_names_main_closures_and_slots() {
        let watch = Watch::new();
        let observer = Observer::new(false, Some(std::sync::Arc::new(Watch::new())));
        assert_eq!(watch.culprit(0), None);
        observer.poll_starts(None);
        let word = observer.watch.as_ref().unwrap().word();
        assert_eq!(word as u32, MAIN);
        observer.poll_starts(Some(4));
        let next = observer.watch.as_ref().unwrap().word();
        assert_eq!(next as u32, 4 + FIRST_SLOT);
        assert_ne!(next >> 32, word >> 32, "every store bumps the stamp");
        assert_eq!(watch.culprit(u64::from(CLOSURE)).unwrap().id, None);
    }

    #[test]
    fn durations_read_well() {
        use std::time::Duration;
        assert_eq!(Millis(Duration::from_micros(850)).to_string(), "850 us");
        assert_eq!(Millis(Duration::from_millis(12)).to_string(), "12 ms");
        assert_eq!(Millis(Duration::from_millis(3400)).to_string(), "3.4 s");
        assert_eq!(Millis(Duration::from_secs(86_400 * 400)).to_string(), "never");
    }
}
