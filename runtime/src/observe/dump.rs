//! The task dump: the live tasks of one runtime, read on its thread.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::reactor::{Direction, Reactor};
use crate::task::TaskId;
use crate::task::executor::Executor;
use crate::task::header::Header;
use crate::task::observe::{Millis, Record, WaitOn};
use crate::task::state::{RUNNING, SCHEDULED};
use crate::time::driver::TimeDriver;

/// The live tasks of a runtime, as [`dump`](super::dump) or
/// [`Handle::dump`](crate::Handle::dump) found them: the main future
/// (`block_on`'s, id `#0`) first, then every task not finished yet, in no
/// particular order, each followed by the children of the scopes it runs
/// ([`sprout::scope`](crate::scope()); [`TaskDump::parent`] says whose).
///
/// `Display` prints a table, one task per line, scope children indented
/// under the task (or child) that runs their scope:
///
/// ```text
/// sprout: 4 tasks (1 running, 0 scheduled, 3 waiting), 1 of them a scope child
///   id    name    state    polls  age     waits on  at                   spawned at
///   #0    main    running      3  40 ms   -         -                    src/main.rs:8
///   #1    alice   waiting      2  40 ms   lock      src/main.rs:15       src/main.rs:22
///   #2    -       waiting      1  39 ms   scope     src/main.rs:31       src/main.rs:29
///     #3  fetch   waiting      1  39 ms   readable  src/main.rs:33       src/main.rs:32
/// ```
///
/// Spawn sites, polls, ages and wait sites are known only when the runtime
/// keeps records ([`Builder::observe`](crate::Builder::observe), on by
/// default in debug builds); otherwise they show as `-`.
#[derive(Clone, Debug)]
pub struct Dump {
    tasks: Vec<TaskDump>,
    records: bool,
}

/// One task of a [`Dump`].
#[derive(Clone, Debug)]
pub struct TaskDump {
    id: TaskId,
    name: Option<String>,
    state: TaskState,
    spawned_at: Option<&'static Location<'static>>,
    age: Option<Duration>,
    polls: Option<u64>,
    waits_on: Option<WaitOn>,
    wait_at: Option<&'static Location<'static>>,
    thread_safe: bool,
    also_waits: u32,
    /// For a scope child: the task (or child) that runs its scope.
    parent: Option<TaskId>,
    /// How deep under a task: 0 for a task, 1 for its scopes' children...
    depth: u32,
}

/// Where a task is in its life, for a [`Dump`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Being polled (the task that took the dump, or one whose completion
    /// callbacks run).
    Running,
    /// Woken, in the run queue.
    Scheduled,
    /// Waiting for a wake-up.
    Waiting,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Running => "running",
            TaskState::Scheduled => "scheduled",
            TaskState::Waiting => "waiting",
        })
    }
}

impl Dump {
    /// Reads the executor's tasks. `from_main`: the dump is taken from
    /// inside a poll (so the running task is the current one; the main
    /// future counts as running if it is the current one).
    pub(crate) fn gather(executor: &Executor, from_main: bool) -> Dump {
        let observer = executor.observer();
        let now = Instant::now();
        let timers_and_sockets = timers_and_sockets();
        let row = |header: &Header, record: Option<Record>, name: Option<String>, state: TaskState| {
            let noted = record.and_then(|r| r.wait).filter(|_| state == TaskState::Waiting);
            // A wait no primitive noted: a timer or a socket of the task, if any.
            let found = match (noted, state) {
                (None, TaskState::Waiting) => timers_and_sockets.get(&std::ptr::from_ref(header).addr()).copied(),
                _ => None,
            };
            TaskDump {
                id: header.id,
                name,
                state,
                spawned_at: record.and_then(|r| r.spawned_at),
                age: record.and_then(|r| r.born).map(|born| now.saturating_duration_since(born)),
                polls: record.map(|r| r.polls),
                waits_on: noted.map(|w| w.what).or(found),
                wait_at: noted.and_then(|w| w.at),
                thread_safe: noted.is_some_and(|w| w.shared),
                also_waits: noted.map_or(0, |w| w.also),
                parent: None,
                depth: 0,
            }
        };
        let state_of = |header: &Header| {
            if header.state.has(RUNNING) {
                TaskState::Running
            } else if header.state.has(SCHEDULED) {
                TaskState::Scheduled
            } else {
                TaskState::Waiting
            }
        };
        let mut tasks = Vec::with_capacity(executor.live_tasks() + 1);
        let root = executor.root();
        // SAFETY: the root lives as long as the executor.
        let root_header = unsafe { root.as_ref() };
        let main_state = if from_main && executor.current_task() == root {
            TaskState::Running
        } else if root_header.state.has(SCHEDULED) {
            TaskState::Scheduled
        } else {
            TaskState::Waiting
        };
        let main_record = observer.and_then(|o| o.record(None));
        tasks.push(row(root_header, main_record, Some("main".to_owned()), main_state));
        for task in executor.live() {
            // SAFETY: the registry holds a reference to each live task; no
            // user code runs while the dump is built.
            let header = unsafe { task.as_ref() };
            let record = observer.and_then(|o| o.record(Some(header.slot.get())));
            tasks.push(row(header, record, header.name().map(str::to_owned), state_of(header)));
        }
        let mut children = Vec::new();
        executor.scopes().all(|scope| {
            scope.for_each_child(|task| {
                // SAFETY: the scope's live set holds a reference to each
                // child; no user code runs while the dump is built.
                let header = unsafe { task.as_ref() };
                let record = observer.and_then(|o| o.child_record(task.as_ptr().addr()));
                let mut dump = row(header, record, header.name().map(str::to_owned), state_of(header));
                dump.parent = Some(scope.parent_id());
                children.push(dump);
                true
            })
        });
        Dump { tasks: nest(tasks, children), records: observer.is_some_and(|o| o.keeps_records()) }
    }

    /// The tasks: the main future first.
    pub fn tasks(&self) -> &[TaskDump] {
        &self.tasks
    }

    /// The task named `name`, if any.
    pub fn task_named(&self, name: &str) -> Option<&TaskDump> {
        self.tasks.iter().find(|t| t.name() == Some(name))
    }

    /// Whether the runtime kept records (spawn sites, waits, ages, polls).
    pub fn has_records(&self) -> bool {
        self.records
    }
}

/// The tasks, each followed by the scope children under it (depth first);
/// children whose parent is not listed (a leaked scope's) come last.
fn nest(tasks: Vec<TaskDump>, mut children: Vec<TaskDump>) -> Vec<TaskDump> {
    fn place(out: &mut Vec<TaskDump>, children: &mut Vec<TaskDump>, parent: TaskId, depth: u32) {
        let (mine, rest): (Vec<_>, Vec<_>) =
            std::mem::take(children).into_iter().partition(|c| c.parent == Some(parent));
        *children = rest;
        for mut child in mine {
            child.depth = depth;
            let id = child.id;
            out.push(child);
            place(out, children, id, depth + 1);
        }
    }
    let mut out = Vec::with_capacity(tasks.len() + children.len());
    for task in tasks {
        let id = task.id;
        out.push(task);
        if !children.is_empty() {
            place(&mut out, &mut children, id, 1);
        }
    }
    out.extend(children.into_iter().map(|c| TaskDump { depth: 1, ..c }));
    out
}

/// What each task waits on among the timers (the earliest) and the
/// sockets (timers and sockets note nothing when a task waits on them:
/// they are found here, at dump time, so that their hot paths stay as
/// they were). Keyed by header address.
fn timers_and_sockets() -> HashMap<usize, WaitOn> {
    let mut found = HashMap::new();
    if let Some(time) = TimeDriver::current() {
        time.sleepers(|task, deadline| match found.entry(task) {
            Entry::Vacant(e) => {
                e.insert(WaitOn::Sleep { deadline });
            }
            Entry::Occupied(mut e) => {
                if let WaitOn::Sleep { deadline: d } = e.get_mut() {
                    *d = (*d).min(deadline);
                }
            }
        });
    }
    if let Some(reactor) = Reactor::current() {
        reactor.waiters(|task, dir| {
            found.insert(task, if dir == Direction::Read { WaitOn::Readable } else { WaitOn::Writable });
        });
    }
    found
}

impl TaskDump {
    /// The task's id (`#0` for the main future).
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name (`"main"` for the main future).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Running, scheduled or waiting.
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// Where it was spawned (`spawn`'s caller; for the main future,
    /// `block_on`'s or `run`'s).
    pub fn spawned_at(&self) -> Option<&'static Location<'static>> {
        self.spawned_at
    }

    /// How long ago it was spawned.
    pub fn age(&self) -> Option<Duration> {
        self.age
    }

    /// How many times it was polled.
    pub fn polls(&self) -> Option<u64> {
        self.polls
    }

    /// What a waiting task waits on, if its last poll waited on a sprout
    /// primitive, timer, socket or task (the first one, if several).
    pub fn waits_on(&self) -> Option<WaitOn> {
        self.waits_on
    }

    /// Where it waits: the `.await` of the waiting call.
    pub fn wait_at(&self) -> Option<&'static Location<'static>> {
        self.wait_at
    }

    /// Whether it waits on a thread-safe primitive (which a plain thread may release).
    pub fn waits_on_thread_safe(&self) -> bool {
        self.thread_safe
    }

    /// How many more sprout waits its last poll started (after the first).
    pub fn also_waits(&self) -> u32 {
        self.also_waits
    }

    /// For a child of a [`scope`](crate::scope()): the task, or the scope
    /// child, whose poll runs the scope. `None` for a task.
    pub fn parent(&self) -> Option<TaskId> {
        self.parent
    }
}

/// `file:line`, or `-`.
fn site(at: Option<&Location<'_>>) -> String {
    at.map_or_else(|| "-".to_owned(), |at| format!("{}:{}", at.file(), at.line()))
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |state| self.tasks.iter().filter(|t| t.state == state).count();
        write!(
            f,
            "sprout: {} tasks ({} running, {} scheduled, {} waiting)",
            self.tasks.len(),
            count(TaskState::Running),
            count(TaskState::Scheduled),
            count(TaskState::Waiting)
        )?;
        match self.tasks.iter().filter(|t| t.parent.is_some()).count() {
            0 => writeln!(f)?,
            1 => writeln!(f, ", 1 of them a scope child")?,
            n => writeln!(f, ", {n} of them scope children")?,
        }
        let header = ["id", "name", "state", "polls", "age", "waits on", "at", "spawned at"];
        let rows: Vec<[String; 8]> = self
            .tasks
            .iter()
            .map(|t| {
                let waits = match t.waits_on {
                    None => "-".to_owned(),
                    Some(what) => {
                        let mut s = what.to_string();
                        if t.thread_safe {
                            s.push_str(" (thread-safe)");
                        }
                        if t.also_waits > 0 {
                            s.push_str(&format!(" +{} more", t.also_waits));
                        }
                        s
                    }
                };
                [
                    // Scope children indented under whoever runs their scope.
                    format!("{}{}", "  ".repeat(t.depth as usize), t.id),
                    t.name.clone().unwrap_or_else(|| "-".to_owned()),
                    t.state.to_string(),
                    t.polls.map_or_else(|| "-".to_owned(), |p| p.to_string()),
                    t.age.map_or_else(|| "-".to_owned(), |a| Millis(a).to_string()),
                    waits,
                    site(t.wait_at),
                    site(t.spawned_at),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: &[&str]| -> fmt::Result {
            f.write_str(" ")?;
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                // Polls right-aligned, the rest left-aligned; no trailing blanks.
                if i == 3 {
                    write!(f, " {cell:>w$}")?;
                } else if i == cells.len() - 1 {
                    write!(f, " {cell}")?;
                } else {
                    write!(f, " {cell:<w$}")?;
                }
            }
            writeln!(f)
        };
        line(f, &header)?;
        for row in &rows {
            line(f, &row.each_ref().map(String::as_str))?;
        }
        if !self.records {
            writeln!(
                f,
                "  (no records: Runtime::builder().observe(true), the default in debug builds, \
                 adds spawn sites, waits, ages and polls)"
            )?;
        }
        Ok(())
    }
}
