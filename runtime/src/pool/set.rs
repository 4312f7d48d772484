//! The state `Group` and `Pool` share: the member set, the slots, close and
//! join.
//!
//! # Design notes
//!
//! - A member is an entry in a slab, keyed by `(key, stamp)`: the stamp (a
//!   generation count) stops a stale key from removing a later member that
//!   reuses the slot.
//! - A task spawned through the group carries a [`MemberGuard`] inside its
//!   future. Whatever ends the future (it returns, panics, is killed, or
//!   the runtime shuts down) drops the guard, which removes the entry and
//!   gives back its slot. The group therefore never polls its members.
//! - A task spawned elsewhere and `add`ed gets a small watcher task that
//!   holds the guard and waits for the task to finish.
//! - The entry keeps an [`UntypedHandle`] so that `kill` and `discard` can
//!   reach tasks of any output type.
//! - No `RefCell` borrow spans user code: kills, wakes and drops of user
//!   futures happen after the borrow ends, because each of them can re-enter
//!   the group (a killed member's guard removes its own entry).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use slab::Slab;

use super::slots::Slots;
use crate::sync::wait_list::WaitList;
use crate::task::compact::CompactWaker;
use crate::task::executor::Executor;
use crate::task::observe::{WaitOn, waiting};
use crate::task::{Finished, JoinHandle, TaskId, UntypedHandle, spawn_on};

pub(crate) struct Inner {
    /// `None` for a `Group`: no limit.
    pub(crate) slots: Option<Slots>,
    members: RefCell<Members>,
    /// `join` futures, notified when the member set becomes empty.
    joiners: RefCell<WaitList>,
    /// `Acquire`s that give up when the group closes.
    closers: RefCell<WaitList>,
    closed: Cell<bool>,
}

#[derive(Default)]
struct Members {
    slab: Slab<Member>,
    next_stamp: u32,
}

struct Member {
    stamp: u32,
    /// The member task.
    task: UntypedHandle,
    /// The watcher of an `add`ed task.
    watcher: Option<UntypedHandle>,
    /// The member holds one of the pool's slots.
    holds_slot: bool,
}

impl Inner {
    pub(crate) fn new(slots: Option<Slots>) -> Rc<Inner> {
        Rc::new(Inner {
            slots,
            members: RefCell::new(Members::default()),
            joiners: RefCell::new(WaitList::new()),
            closers: RefCell::new(WaitList::new()),
            closed: Cell::new(false),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.members.borrow().slab.len()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.get()
    }

    pub(crate) fn contains(&self, id: TaskId) -> bool {
        self.find(id).is_some()
    }

    fn find(&self, id: TaskId) -> Option<usize> {
        let members = self.members.borrow();
        members.slab.iter().find(|(_, m)| m.task.id() == id).map(|(key, _)| key)
    }

    fn next_stamp(members: &mut Members) -> u32 {
        let stamp = members.next_stamp;
        members.next_stamp = stamp.wrapping_add(1);
        stamp
    }

    /// A queued member now holds a slot. False if it left the group while
    /// it waited (`discard`): the caller must give the slot back.
    fn take_slot(&self, key: usize, stamp: u32) -> bool {
        let mut members = self.members.borrow_mut();
        match members.slab.get_mut(key).filter(|m| m.stamp == stamp) {
            Some(m) => {
                m.holds_slot = true;
                true
            }
            None => false,
        }
    }

    fn leave(&self, key: usize, stamp: u32) {
        let (member, empty) = {
            let mut members = self.members.borrow_mut();
            match members.slab.get(key) {
                Some(m) if m.stamp == stamp => {}
                // Discarded earlier.
                _ => return,
            }
            let member = members.slab.remove(key);
            (member, members.slab.is_empty())
        };
        self.after_removal(member, empty);
    }

    /// Gives back the member's slot and wakes the joiners if it was the last.
    fn after_removal(&self, member: Member, empty: bool) {
        if member.holds_slot
            && let Some(slots) = &self.slots
        {
            slots.release();
        }
        if empty {
            let mut woken = Vec::new();
            self.joiners.borrow_mut().notify_all(&mut woken);
            woken.into_iter().for_each(CompactWaker::wake);
        }
        // The references go last: nothing above depends on them.
        drop(member);
    }

    /// Spawns `future` as a member.
    #[track_caller]
    pub(crate) fn spawn_member<F>(self: &Rc<Self>, future: F, holds_slot: bool) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.spawn_guarded(holds_slot, |guard| Tracked { future, guard })
    }

    /// Spawns the future `make` builds around the new member's guard.
    ///
    /// # Panics
    /// Outside a sprout runtime, before anything changes.
    #[track_caller]
    pub(crate) fn spawn_guarded<G>(
        self: &Rc<Self>,
        holds_slot: bool,
        make: impl FnOnce(MemberGuard) -> G,
    ) -> JoinHandle<G::Output>
    where
        G: Future + 'static,
        G::Output: 'static,
    {
        let executor = Executor::expect("spawning into a sprout pool");
        let (key, stamp) = {
            let mut members = self.members.borrow_mut();
            (members.slab.vacant_key(), Inner::next_stamp(&mut members))
        };
        // Neither `make` (it only moves values into a struct) nor
        // `spawn_on` runs user code or fails: the key is still vacant
        // for the insert below.
        let handle = spawn_on(executor, make(MemberGuard { inner: self.clone(), key, stamp }), None);
        let member = Member { stamp, task: handle.untyped(), watcher: None, holds_slot };
        let inserted = self.members.borrow_mut().slab.insert(member);
        debug_assert_eq!(inserted, key);
        handle
    }

    /// Spawns `future` as a member that first waits for a slot (if the
    /// group has slots), for `apply_async`.
    #[track_caller]
    pub(crate) fn spawn_queued<F>(self: &Rc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.slots.is_none() {
            return self.spawn_member(future, false);
        }
        let acquire = Some(Acquire::new(self.clone(), false));
        self.spawn_guarded(false, |guard| Queued { future, guard, acquire })
    }

    /// Makes a task spawned elsewhere a member; `holds_slot` if the caller
    /// took a slot for it. Adding a finished task or a member does nothing.
    ///
    /// # Panics
    /// Outside a sprout runtime (after giving back the slot).
    #[track_caller]
    pub(crate) fn add(self: &Rc<Self>, task: UntypedHandle, holds_slot: bool) {
        let executor = Executor::current();
        if executor.is_none() || task.is_finished() || self.contains(task.id()) {
            if holds_slot && let Some(slots) = &self.slots {
                slots.release();
            }
            Executor::expect("adding a task to a sprout pool");
            return;
        }
        let (key, stamp) = {
            let mut members = self.members.borrow_mut();
            let stamp = Inner::next_stamp(&mut members);
            let member = Member { stamp, task: task.clone(), watcher: None, holds_slot };
            (members.slab.insert(member), stamp)
        };
        let executor = executor.expect("checked above");
        let guard = MemberGuard { inner: self.clone(), key, stamp };
        let watcher = spawn_on(executor, Watch { task: task.finished(), _guard: guard }, None);
        let mut members = self.members.borrow_mut();
        if let Some(m) = members.slab.get_mut(key).filter(|m| m.stamp == stamp) {
            m.watcher = Some(watcher.untyped());
        }
    }

    /// Stops tracking the task (it keeps running) and frees its slot.
    pub(crate) fn discard(&self, id: TaskId) -> bool {
        let Some(key) = self.find(id) else { return false };
        let (member, empty) = {
            let mut members = self.members.borrow_mut();
            let member = members.slab.remove(key);
            (member, members.slab.is_empty())
        };
        if let Some(watcher) = &member.watcher {
            // Its guard finds the entry gone and does nothing.
            watcher.kill();
        }
        self.after_removal(member, empty);
        true
    }

    /// Kills every member now (see `JoinHandle::kill`).
    pub(crate) fn kill(&self) {
        let targets: Vec<UntypedHandle> = {
            let members = self.members.borrow();
            members.slab.iter().flat_map(|(_, m)| std::iter::once(&m.task).chain(&m.watcher).cloned()).collect()
        };
        for task in targets {
            task.kill();
        }
    }

    /// Takes a slot without waiting: `Some(true)` if the caller may start
    /// work (holding a slot if the group has slots), `Some(false)` if the
    /// group is closed, `None` if it must wait (see [`Acquire`]).
    pub(crate) fn try_take(&self) -> Option<bool> {
        if self.closed.get() {
            return Some(false);
        }
        match &self.slots {
            None => Some(true),
            Some(slots) => slots.try_take().then_some(true),
        }
    }

    /// No new work from now on; wakes the `Acquire`s that watch for it.
    pub(crate) fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        let mut woken = Vec::new();
        self.closers.borrow_mut().notify_all(&mut woken);
        woken.into_iter().for_each(CompactWaker::wake);
    }

    /// For `join`: ready once the member set has been empty since `key`
    /// started waiting.
    #[track_caller]
    pub(crate) fn poll_join(&self, key: &mut Option<u32>, cx: &mut Context<'_>) -> Poll<()> {
        let mut joiners = self.joiners.borrow_mut();
        match *key {
            Some(k) => {
                if joiners.poll(k, cx.waker()) {
                    *key = None;
                    return Poll::Ready(());
                }
                drop(joiners);
                waiting(WaitOn::PoolJoin);
                Poll::Pending
            }
            None if self.members.borrow().slab.is_empty() => Poll::Ready(()),
            None => {
                *key = Some(joiners.push(cx.waker()));
                drop(joiners);
                waiting(WaitOn::PoolJoin);
                Poll::Pending
            }
        }
    }

    pub(crate) fn cancel_join(&self, key: &mut Option<u32>) {
        if let Some(k) = key.take() {
            // Every joiner is notified at once: nothing to pass on.
            let _ = self.joiners.borrow_mut().cancel(k);
        }
    }
}

/// The share of a `Group` or `Pool` that only its handles hold (members
/// hold the `Inner`): dropped with the last handle, it kills every member
/// if `kill_on_drop` was set.
pub(crate) struct Owner {
    inner: Rc<Inner>,
    kill_on_drop: Cell<bool>,
}

impl Owner {
    pub(crate) fn new(inner: &Rc<Inner>) -> Rc<Owner> {
        Rc::new(Owner { inner: inner.clone(), kill_on_drop: Cell::new(false) })
    }

    pub(crate) fn set_kill_on_drop(&self, kill: bool) {
        self.kill_on_drop.set(kill);
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        if self.kill_on_drop.get() {
            self.inner.kill();
        }
    }
}

/// A handle to a task that never ran: what `spawn` gives after `close`.
pub(crate) fn rejected<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let handle = crate::spawn(future);
    // Killed before its first poll: the future is dropped unrun.
    handle.kill();
    handle
}

/// Membership of one entry: dropping it removes the entry.
pub(crate) struct MemberGuard {
    inner: Rc<Inner>,
    key: usize,
    stamp: u32,
}

impl Drop for MemberGuard {
    fn drop(&mut self) {
        self.inner.leave(self.key, self.stamp);
    }
}

pin_project! {
    /// A member's future: the user's future and the guard that removes the
    /// member when the future goes, however it goes.
    struct Tracked<F> {
        #[pin]
        future: F,
        guard: MemberGuard,
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().future.poll(cx)
    }
}

pin_project! {
    /// An `apply_async` member: waits for a slot, then runs.
    struct Queued<F> {
        #[pin]
        future: F,
        guard: MemberGuard,
        acquire: Option<Acquire>,
    }
}

impl<F: Future> Future for Queued<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if let Some(acquire) = this.acquire.as_mut() {
            if Pin::new(&mut *acquire).poll(cx).is_pending() {
                return Poll::Pending;
            }
            // The slot is ours now: record it on the entry, or give it back
            // if the task was discarded while it waited.
            acquire.disarm();
            *this.acquire = None;
            let guard = &*this.guard;
            if !guard.inner.take_slot(guard.key, guard.stamp)
                && let Some(slots) = &guard.inner.slots
            {
                slots.release();
            }
        }
        this.future.poll(cx)
    }
}

/// The watcher of an `add`ed task: finishes with it.
struct Watch {
    task: Finished,
    _guard: MemberGuard,
}

impl Future for Watch {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.task).poll(cx)
    }
}

/// Waits for a slot (immediately ready without slots) and, if asked, gives
/// up when the group closes.
///
/// Output: `true` if the caller now holds a slot (or the group has none and
/// is open), `false` if the group was closed. A slot taken is the caller's
/// to release; one granted after a drop or a close is passed on.
pub(crate) struct Acquire {
    inner: Rc<Inner>,
    slot_key: Option<u32>,
    close_key: Option<u32>,
    watch_close: bool,
    /// A slot was taken and not handed to the caller yet (see `disarm`).
    holding: bool,
}

impl Acquire {
    pub(crate) fn new(inner: Rc<Inner>, watch_close: bool) -> Acquire {
        Acquire { inner, slot_key: None, close_key: None, watch_close, holding: false }
    }

    /// The caller takes over the slot this future acquired.
    pub(crate) fn disarm(&mut self) {
        self.holding = false;
    }

    fn stop_waiting(&mut self) {
        if let Some(slots) = &self.inner.slots {
            slots.cancel(&mut self.slot_key);
        }
        if let Some(k) = self.close_key.take() {
            let _ = self.inner.closers.borrow_mut().cancel(k);
        }
    }
}

impl Future for Acquire {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = &mut *self;
        if this.holding {
            return Poll::Ready(true);
        }
        if this.watch_close && this.inner.closed.get() {
            this.stop_waiting();
            return Poll::Ready(false);
        }
        let Some(slots) = &this.inner.slots else { return Poll::Ready(true) };
        match slots.poll_acquire(&mut this.slot_key, cx) {
            Poll::Ready(()) => {
                this.holding = true;
                if let Some(k) = this.close_key.take() {
                    let _ = this.inner.closers.borrow_mut().cancel(k);
                }
                Poll::Ready(true)
            }
            Poll::Pending => {
                if this.watch_close {
                    let closed = {
                        let mut closers = this.inner.closers.borrow_mut();
                        match this.close_key {
                            Some(k) => closers.poll(k, cx.waker()),
                            None => {
                                this.close_key = Some(closers.push(cx.waker()));
                                false
                            }
                        }
                    };
                    if closed {
                        // `poll` freed the entry. Only `close` notifies, and
                        // it sets the flag first, so the check above should
                        // have seen it; handle it anyway.
                        this.close_key = None;
                        this.stop_waiting();
                        return Poll::Ready(false);
                    }
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for Acquire {
    fn drop(&mut self) {
        self.stop_waiting();
        if self.holding
            && let Some(slots) = &self.inner.slots
        {
            slots.release();
        }
    }
}
