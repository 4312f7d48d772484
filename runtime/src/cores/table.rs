//! `Cores`, the table of every core's `Handle`, and `Core`, one core's
//! view of it.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use crate::handle::Handle;

/// The cores started together: how many, and a [`Handle`] to each. `Send`
/// and cheap to clone (one `Arc`), so a task on any core, or any thread,
/// may keep it.
///
/// ```
/// use sprout::cores;
///
/// let sums = cores::run(2, |core| async move {
///     // Ask the other core to do a sum, and wait for it without blocking.
///     let other = core.cores().handle((core.id() + 1) % core.count());
///     other.spawn(async { (1..=10).sum::<u32>() }).await
/// });
/// assert_eq!(sums.unwrap(), [55, 55]);
/// ```
#[derive(Clone)]
pub struct Cores {
    handles: Arc<[Handle]>,
}

impl Cores {
    pub(super) fn new(handles: Vec<Handle>) -> Cores {
        Cores { handles: handles.into() }
    }

    /// How many cores there are.
    pub fn count(&self) -> usize {
        self.handles.len()
    }

    /// The handle of core `id`: [`spawn`](Handle::spawn) a `Send` future
    /// on it, or [`call`](Handle::call) a closure there. After the cores
    /// have stopped, spawned tasks are killed at once (their joiners see
    /// `Killed`) and calls fail with `RuntimeGone`.
    ///
    /// # Panics
    /// If `id >= count()`.
    #[track_caller]
    pub fn handle(&self, id: usize) -> &Handle {
        match self.handles.get(id) {
            Some(handle) => handle,
            None => panic!("cores: no core {id}; there are {}", self.handles.len()),
        }
    }

    /// Every core's handle, in id order.
    pub fn handles(&self) -> &[Handle] {
        &self.handles
    }
}

impl fmt::Debug for Cores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cores").field("count", &self.count()).finish()
    }
}

/// One core, as its own future sees it: its id (0 to `count() - 1`), the
/// number of cores, and the [`Cores`] table to reach the others. Passed to
/// the closure of [`run`](super::run); [`Core::current`] finds it again
/// from anywhere on the core's thread.
#[derive(Clone)]
pub struct Core {
    id: usize,
    cores: Cores,
}

thread_local! {
    /// The core running on this thread, if it is one of a set's threads.
    static CURRENT: RefCell<Option<Core>> = const { RefCell::new(None) };
}

impl Core {
    pub(super) fn new(id: usize, cores: Cores) -> Core {
        Core { id, cores }
    }

    /// This core's id, from 0 to `count() - 1`.
    pub fn id(&self) -> usize {
        self.id
    }

    /// How many cores run together.
    pub fn count(&self) -> usize {
        self.cores.count()
    }

    /// Every core's handle (this one's too).
    pub fn cores(&self) -> &Cores {
        &self.cores
    }

    /// The handle of core `id` (see [`Cores::handle`]).
    ///
    /// # Panics
    /// If `id >= count()`.
    #[track_caller]
    pub fn handle(&self, id: usize) -> &Handle {
        self.cores.handle(id)
    }

    /// The core whose thread this is, or `None` on a thread that no set of
    /// cores started (the main thread, a blocking-pool thread...).
    pub fn current() -> Option<Core> {
        CURRENT.with(|c| c.borrow().clone())
    }

    /// Makes `self` the thread's current core until the guard drops,
    /// which puts back the core the thread had before (none, on a core's
    /// own thread; on the thread of a set's lead, whatever it was).
    pub(super) fn enter(self) -> Entered {
        let (id, cores) = (self.id, self.cores.clone());
        let previous = CURRENT.with(|c| c.borrow_mut().replace(self));
        Entered { thread: std::thread::current().id(), id, cores, previous }
    }
}

/// A thread's turn as one core of a set ([`Core::enter`]). `Send`, so that
/// a `Running` holding the lead's turn stays `Send`; dropped on another
/// thread, it changes nothing (that thread-local is not its own).
pub(super) struct Entered {
    thread: std::thread::ThreadId,
    id: usize,
    cores: Cores,
    previous: Option<Core>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        if std::thread::current().id() != self.thread {
            return;
        }
        let previous = self.previous.take();
        // `try_with`: the guard may drop while thread-locals go away.
        let _ = CURRENT.try_with(|c| {
            let mut current = c.borrow_mut();
            // Only if the thread is still this core: a later set's lead
            // that entered since, and is still running, keeps its turn.
            if current
                .as_ref()
                .is_some_and(|core| core.id == self.id && Arc::ptr_eq(&core.cores.handles, &self.cores.handles))
            {
                *current = previous;
            }
        });
    }
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core").field("id", &self.id).field("count", &self.count()).finish()
    }
}
