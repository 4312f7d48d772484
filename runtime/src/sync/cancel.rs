//! `CancelToken`: a way to ask running work to stop (tokio-util's
//! `CancellationToken`, Go's `context.WithCancel`).
//!
//! A token is a node in a tree. Every clone of a token is a handle to the
//! same node; `child_token` makes a new node under it. Cancelling a node
//! cancels it and everything below it, never anything above.
//!
//! # The ground rules
//! - A node's state (its waiters and its children) changes in **steps**
//!   of its flavour (`flavor.rs`): under its `Mutex` for the thread-safe
//!   token, a plain borrow for the runtime-local one. No step holds two
//!   nodes' states at once, and no waker is woken, nor any node dropped,
//!   inside a step.
//! - The `cancelled` flag is written only inside a step, once, from false
//!   to true, in the same step that takes the node's waiters and children.
//!   It is read without the step (an atomic load) on the fast paths, and
//!   again inside the step before a waiter registers, so a `cancel` on
//!   another thread cannot fall between the check and the registration.
//! - A parent holds its children **weakly** (a slab of weak pointers); a
//!   child holds its parent strongly, with its key in that slab. The last
//!   handle of a child dropping drops the node, whose `Drop` takes its key
//!   out of the parent's slab: a long-lived parent's slab holds only the
//!   children that still exist. A grandchild keeps its parent node alive,
//!   and so reachable from the grandparent, even after every handle of the
//!   parent is gone.
//! - `cancel` moves a node's whole slab out in its step (after which the
//!   flag says "cancelled" and nobody inserts or removes again), upgrades
//!   the weak pointers outside the step and walks the tree with an explicit
//!   stack (no recursion, whatever the depth).
//! - A child takes two steps of its parent: one keeps a place in the
//!   slab (a weak pointer to nothing: the child does not exist yet), the
//!   next puts the child there. A `cancel` on another thread between the
//!   two takes the slab with the empty place and cannot reach the child,
//!   so the second step, finding the parent cancelled, cancels the child
//!   itself (the loom model `cancel_races_a_new_child` tries every
//!   interleaving, and fails without that check).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{self, Rc};
use std::sync::{self as std_sync, Arc};
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use slab::Slab;

use super::flavor::{Flavor, Local, ThreadSafe};
use super::threadsafe::{block_on, block_on_timeout};
use super::wait_list::{Cancelled as Left, WaitList};
use super::withdraw::Withdraw;
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::task::compact::CompactWaker;
use crate::task::observe::{WaitOn, waiting_shared};

/// The pointers of a token tree: `Rc` for the runtime-local token, `Arc`
/// for the thread-safe one.
///
/// Public only so that [`CancelToken`] can name it in its bounds; its
/// module is private, so nothing outside the crate can name or implement
/// it, and it is implemented for both flavours.
pub trait TreeFlavor: Flavor {
    /// A strong pointer to a node.
    type Ptr<T>: Clone + std::ops::Deref<Target = T>;
    /// A weak pointer to a node (what a parent keeps of its children).
    type Weak<T>;

    /// A new node.
    fn new<T>(node: T) -> Self::Ptr<T>;
    /// A weak pointer to `ptr`'s node.
    fn downgrade<T>(ptr: &Self::Ptr<T>) -> Self::Weak<T>;
    /// A weak pointer to nothing: a place kept for a child being made.
    fn dangling<T>() -> Self::Weak<T>;
    /// A strong pointer from a weak one, if the node still exists.
    fn upgrade<T>(weak: &Self::Weak<T>) -> Option<Self::Ptr<T>>;
    /// The node itself, if `ptr` was its last strong pointer.
    fn into_inner<T>(ptr: Self::Ptr<T>) -> Option<T>;
}

impl TreeFlavor for Local {
    type Ptr<T> = Rc<T>;
    type Weak<T> = rc::Weak<T>;

    fn new<T>(node: T) -> Rc<T> {
        Rc::new(node)
    }

    fn downgrade<T>(ptr: &Rc<T>) -> rc::Weak<T> {
        Rc::downgrade(ptr)
    }

    fn dangling<T>() -> rc::Weak<T> {
        rc::Weak::new()
    }

    fn upgrade<T>(weak: &rc::Weak<T>) -> Option<Rc<T>> {
        weak.upgrade()
    }

    fn into_inner<T>(ptr: Rc<T>) -> Option<T> {
        Rc::into_inner(ptr)
    }
}

// std's `Arc` even under loom: the models are about the state's `Mutex`
// and the flag; reference counts are not where the races are.
impl TreeFlavor for ThreadSafe {
    type Ptr<T> = Arc<T>;
    type Weak<T> = std_sync::Weak<T>;

    fn new<T>(node: T) -> Arc<T> {
        Arc::new(node)
    }

    fn downgrade<T>(ptr: &Arc<T>) -> std_sync::Weak<T> {
        Arc::downgrade(ptr)
    }

    fn dangling<T>() -> std_sync::Weak<T> {
        std_sync::Weak::new()
    }

    fn upgrade<T>(weak: &std_sync::Weak<T>) -> Option<Arc<T>> {
        weak.upgrade()
    }

    fn into_inner<T>(ptr: Arc<T>) -> Option<T> {
        Arc::into_inner(ptr)
    }
}

/// A token that work checks to learn it should stop: `cancel()` on any
/// clone wakes every `cancelled().await` and makes `is_cancelled()` true,
/// for good. Use it as [`sync::CancelToken`](crate::sync::CancelToken) (or
/// `sprout::CancelToken`) or
/// [`sync::threadsafe::CancelToken`](crate::sync::threadsafe::CancelToken).
///
/// Clones share one token (one node); [`child_token`](Self::child_token)
/// makes a token that is cancelled with this one but can be cancelled on
/// its own. The module docs of `sync` say how the waits behave when dropped.
pub struct CancelToken<F: TreeFlavor> {
    node: F::Ptr<Node<F>>,
}

/// One node of a token tree. See the module docs.
pub(super) struct Node<F: TreeFlavor> {
    /// Set once, inside a step, with the waiters and children taken in
    /// the same step; read without it on the fast paths.
    cancelled: AtomicBool,
    state: F::Shared<State<F>>,
    /// The parent and this node's key in its slab; `None` for a root, and
    /// for a child made already cancelled.
    parent: Option<(F::Ptr<Node<F>>, usize)>,
}

/// What a step changes.
struct State<F: TreeFlavor> {
    waiters: RefCell<WaitList>,
    children: RefCell<Slab<F::Weak<Node<F>>>>,
}

impl<F: TreeFlavor> Node<F> {
    fn new(parent: Option<(F::Ptr<Node<F>>, usize)>, cancelled: bool) -> Node<F> {
        Node {
            cancelled: AtomicBool::new(cancelled),
            state: F::share(State {
                waiters: RefCell::new(WaitList::new_in(F::THREAD_SAFE)),
                children: RefCell::new(Slab::new()),
            }),
            parent,
        }
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// The step that cancels this node: sets the flag, takes the waiters
    /// (into `woken`) and the children (returned). Empty if it was
    /// cancelled already.
    fn cancel_step(&self, woken: &mut Woken) -> Slab<F::Weak<Node<F>>> {
        let state = F::step(&self.state);
        if self.cancelled.load(Ordering::Relaxed) {
            return Slab::new();
        }
        self.cancelled.store(true, Ordering::Release);
        let mut waiters = state.waiters.borrow_mut();
        while let Some(waker) = waiters.notify_one() {
            woken.push(waker);
        }
        drop(waiters);
        std::mem::take(&mut *state.children.borrow_mut())
    }

    /// Cancels this node and every node below it, then wakes their waiters.
    fn cancel_tree(&self) {
        let mut woken = Woken::default();
        let mut below: Vec<F::Ptr<Node<F>>> = Vec::new();
        let mut children = self.cancel_step(&mut woken);
        loop {
            // Upgraded outside any step: a child whose last handle is
            // being dropped upgrades to `None` and removes nothing (our
            // flag is set).
            below.extend(children.drain().filter_map(|weak| F::upgrade(&weak)));
            let Some(node) = below.pop() else { break };
            children = node.cancel_step(&mut woken);
            // `node` drops here, outside every step: if it was the last
            // pointer, its `Drop` looks at its (cancelled) parent only.
        }
        woken.wake();
    }

    /// One poll of a `cancelled()` wait that holds `key` (see `Cancelled`).
    #[track_caller]
    fn poll_wait(&self, key: &mut Option<u32>, cx: &mut Context<'_>) -> Poll<()> {
        if key.is_none() && self.is_cancelled() {
            return Poll::Ready(());
        }
        let state = F::step(&self.state);
        let mut waiters = state.waiters.borrow_mut();
        let done = match *key {
            Some(k) => waiters.poll(k, cx.waker()),
            // Checked again in the step: a cancel from another thread has
            // either set the flag before it, or will find this waiter.
            None if self.cancelled.load(Ordering::Relaxed) => true,
            None => {
                *key = Some(waiters.push(cx.waker()));
                false
            }
        };
        drop(waiters);
        drop(state);
        if done {
            *key = None;
            return Poll::Ready(());
        }
        waiting_shared(WaitOn::Cancelled, F::THREAD_SAFE);
        Poll::Pending
    }

    /// Leaves the wait line; whether the wait had been woken by a cancel.
    fn leave(&self, key: &mut Option<u32>) -> bool {
        match key.take() {
            Some(k) => F::step(&self.state).waiters.borrow_mut().cancel(k) == Left::Notified,
            None => false,
        }
    }
}

/// The wakers a cancel collects, woken once every step is over. The
/// first is kept in place: a token with one waiter (the common case: a
/// task watching its own token) is cancelled without an allocation.
#[derive(Default)]
struct Woken {
    first: Option<CompactWaker>,
    rest: Vec<CompactWaker>,
}

impl Woken {
    fn push(&mut self, waker: CompactWaker) {
        match self.first {
            None => self.first = Some(waker),
            Some(_) => self.rest.push(waker),
        }
    }

    fn wake(self) {
        self.first.into_iter().chain(self.rest).for_each(CompactWaker::wake);
    }
}

impl<F: TreeFlavor> Drop for Node<F> {
    /// Takes the node's key out of its parent's slab. The parent pointer
    /// may be the last one: its node is then dropped here too, in a loop
    /// rather than by recursion, so a long chain of children cannot
    /// overflow the stack.
    fn drop(&mut self) {
        let mut link = self.parent.take();
        while let Some((parent, key)) = link {
            let removed = {
                let state = F::step(&parent.state);
                // A cancelled parent has given its slab away: nothing to remove.
                if parent.cancelled.load(Ordering::Relaxed) {
                    None
                } else {
                    state.children.borrow_mut().try_remove(key)
                }
            };
            drop(removed);
            link = F::into_inner(parent).and_then(|mut node| node.parent.take());
        }
    }
}

impl CancelToken<Local> {
    /// A new token, not cancelled.
    pub fn new() -> Self {
        Self::default()
    }
}

impl CancelToken<ThreadSafe> {
    /// A new token, not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Blocks this OS thread until the token is cancelled.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn cancelled_blocking(&self) {
        block_on("CancelToken::cancelled_blocking", self.cancelled());
    }

    /// Blocks this OS thread up to `timeout`; returns whether the token was
    /// cancelled (a cancel that lands as the time-out falls counts).
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn cancelled_blocking_timeout(&self, timeout: Duration) -> bool {
        block_on_timeout("CancelToken::cancelled_blocking_timeout", self.cancelled(), timeout).is_some()
    }
}

impl<F: TreeFlavor> Default for CancelToken<F> {
    fn default() -> Self {
        CancelToken { node: F::new(Node::new(None, false)) }
    }
}

impl<F: TreeFlavor> Clone for CancelToken<F> {
    /// Another handle to the same token: cancelling either cancels both.
    fn clone(&self) -> Self {
        CancelToken { node: self.node.clone() }
    }
}

impl<F: TreeFlavor> CancelToken<F> {
    /// Cancels the token and every child token made from it (and theirs),
    /// and wakes every task and thread waiting on any of them. Cancelling
    /// again does nothing; there is no way back.
    pub fn cancel(&self) {
        self.node.cancel_tree();
    }

    /// Whether the token has been cancelled (by itself or through a parent).
    pub fn is_cancelled(&self) -> bool {
        self.node.is_cancelled()
    }

    /// Waits until the token is cancelled; returns at once if it is.
    ///
    /// Cancellation-safe, and cheap: a check of the flag, then one entry in
    /// the token's wait list, which the future's drop removes.
    pub fn cancelled(&self) -> Cancelled<'_, F> {
        Cancelled { node: &self.node, key: None }
    }

    /// [`cancelled`](Self::cancelled), owning a handle of the token: for
    /// a future that must be `'static` (a spawned task, a `wait_any` list
    /// kept across calls).
    pub fn cancelled_owned(self) -> CancelledOwned<F> {
        CancelledOwned { token: self, key: None }
    }

    /// A new token under this one: cancelled when this one is (at once if
    /// it already is), while cancelling the child leaves this one alone.
    ///
    /// The parent keeps only a weak pointer to the child, dropped with the
    /// child's last handle, so a long-lived token that hands a child to
    /// each request does not grow.
    pub fn child_token(&self) -> CancelToken<F> {
        let parent = &self.node;
        // Step 1: a place in the parent's slab, holding a weak pointer to
        // nothing until the child exists.
        let key = {
            let state = F::step(&parent.state);
            (!parent.cancelled.load(Ordering::Relaxed)).then(|| state.children.borrow_mut().insert(F::dangling()))
        };
        let Some(key) = key else {
            return CancelToken { node: F::new(Node::new(None, true)) };
        };
        let child = F::new(Node::new(Some((parent.clone(), key)), false));
        // Step 2: the child in its place, unless a cancel took the slab in
        // between (see the module docs): then the child is cancelled here.
        let placed = {
            let state = F::step(&parent.state);
            let placed = !parent.cancelled.load(Ordering::Relaxed);
            if placed {
                state.children.borrow_mut()[key] = F::downgrade(&child);
            }
            placed
        };
        if !placed {
            child.cancel_tree();
        }
        CancelToken { node: child }
    }

    /// Runs `future` until it completes (`Some(output)`) or the token is
    /// cancelled (`None`, and `future` is dropped). The token is checked
    /// first: a token already cancelled returns `None` without polling
    /// `future`.
    pub fn run_until_cancelled<Fut: Future>(&self, future: Fut) -> RunUntilCancelled<'_, F, Fut> {
        RunUntilCancelled { cancelled: self.cancelled(), future }
    }

    /// [`run_until_cancelled`](Self::run_until_cancelled), owning a handle
    /// of the token: `spawn(token.clone().run_until_cancelled_owned(work))`.
    pub fn run_until_cancelled_owned<Fut: Future>(self, future: Fut) -> RunUntilCancelledOwned<F, Fut> {
        RunUntilCancelledOwned { cancelled: self.cancelled_owned(), future }
    }

    /// A guard that cancels the token when dropped, unless
    /// [`disarm`](DropGuard::disarm)ed: tie a token to a scope (the tasks
    /// working for a request stop when its handler returns or is dropped).
    pub fn drop_guard(self) -> DropGuard<F> {
        DropGuard { token: Some(self) }
    }
}

impl<F: TreeFlavor> fmt::Debug for CancelToken<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken").field("cancelled", &self.is_cancelled()).finish()
    }
}

/// The future returned by [`CancelToken::cancelled`]. Dropping it stops
/// the wait and removes its entry from the token.
#[must_use = "futures do nothing unless awaited"]
pub struct Cancelled<'a, F: TreeFlavor> {
    node: &'a Node<F>,
    key: Option<u32>,
}

impl<F: TreeFlavor> Future for Cancelled<'_, F> {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.node.poll_wait(&mut this.key, cx)
    }
}

impl<F: TreeFlavor> Withdraw for Cancelled<'_, F> {
    fn withdraw(&mut self) -> Option<()> {
        self.node.leave(&mut self.key).then_some(())
    }
}

impl<F: TreeFlavor> Drop for Cancelled<'_, F> {
    fn drop(&mut self) {
        self.node.leave(&mut self.key);
    }
}

impl<F: TreeFlavor> fmt::Debug for Cancelled<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancelled").field("waiting", &self.key.is_some()).finish()
    }
}

/// The future returned by [`CancelToken::cancelled_owned`].
#[must_use = "futures do nothing unless awaited"]
pub struct CancelledOwned<F: TreeFlavor> {
    token: CancelToken<F>,
    key: Option<u32>,
}

impl<F: TreeFlavor> CancelledOwned<F> {
    /// The token waited on.
    pub fn token(&self) -> &CancelToken<F> {
        &self.token
    }
}

impl<F: TreeFlavor> Unpin for CancelledOwned<F> {}

impl<F: TreeFlavor> Future for CancelledOwned<F> {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.token.node.poll_wait(&mut this.key, cx)
    }
}

impl<F: TreeFlavor> Drop for CancelledOwned<F> {
    fn drop(&mut self) {
        self.token.node.leave(&mut self.key);
    }
}

impl<F: TreeFlavor> fmt::Debug for CancelledOwned<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelledOwned").field("waiting", &self.key.is_some()).finish()
    }
}

pin_project! {
    /// The future returned by [`CancelToken::run_until_cancelled`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct RunUntilCancelled<'a, F: TreeFlavor, Fut> {
        cancelled: Cancelled<'a, F>,
        #[pin]
        future: Fut,
    }
}

impl<F: TreeFlavor, Fut: Future> Future for RunUntilCancelled<'_, F, Fut> {
    type Output = Option<Fut::Output>;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if Pin::new(this.cancelled).poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        this.future.poll(cx).map(Some)
    }
}

impl<F: TreeFlavor, Fut> fmt::Debug for RunUntilCancelled<'_, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntilCancelled").field("cancelled", &self.cancelled.node.is_cancelled()).finish()
    }
}

pin_project! {
    /// The future returned by [`CancelToken::run_until_cancelled_owned`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct RunUntilCancelledOwned<F: TreeFlavor, Fut> {
        cancelled: CancelledOwned<F>,
        #[pin]
        future: Fut,
    }
}

impl<F: TreeFlavor, Fut: Future> Future for RunUntilCancelledOwned<F, Fut> {
    type Output = Option<Fut::Output>;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if Pin::new(this.cancelled).poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        this.future.poll(cx).map(Some)
    }
}

impl<F: TreeFlavor, Fut> fmt::Debug for RunUntilCancelledOwned<F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntilCancelledOwned").field("cancelled", &self.cancelled.token.is_cancelled()).finish()
    }
}

/// Cancels its token when dropped, unless disarmed. See
/// [`CancelToken::drop_guard`].
#[must_use = "dropping the guard cancels the token at once"]
pub struct DropGuard<F: TreeFlavor> {
    /// `None` once disarmed.
    token: Option<CancelToken<F>>,
}

impl<F: TreeFlavor> DropGuard<F> {
    /// Gives the token back without cancelling it.
    pub fn disarm(mut self) -> CancelToken<F> {
        self.token.take().expect("a guard is disarmed only once")
    }

    /// The token the guard will cancel.
    pub fn token(&self) -> &CancelToken<F> {
        self.token.as_ref().expect("a guard holds its token until disarmed")
    }
}

impl<F: TreeFlavor> Drop for DropGuard<F> {
    fn drop(&mut self) {
        if let Some(token) = &self.token {
            token.cancel();
        }
    }
}

impl<F: TreeFlavor> fmt::Debug for DropGuard<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropGuard").field("token", &self.token).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn children<F: TreeFlavor>(token: &CancelToken<F>) -> usize {
        F::step(&token.node.state).children.borrow().len()
    }

    #[test]
    fn dropped_children_leave_the_parent() {
        let parent = CancelToken::<Local>::new();
        for _ in 0..1000 {
            let child = parent.child_token();
            let grandchild = child.child_token();
            assert_eq!(children(&parent), 1);
            drop((child, grandchild));
        }
        assert_eq!(children(&parent), 0, "no child outlives its handles in the parent's slab");
        let shared = CancelToken::<ThreadSafe>::new();
        let kept: Vec<_> = (0..10).map(|_| shared.child_token()).collect();
        assert_eq!(children(&shared), 10);
        drop(kept);
        assert_eq!(children(&shared), 0);
    }

    #[test]
    fn a_parent_without_handles_still_passes_a_cancel_on() {
        let root = CancelToken::<Local>::new();
        let middle = root.child_token();
        let leaf = middle.child_token();
        drop(middle);
        assert_eq!(children(&root), 1, "the leaf keeps its parent node in the tree");
        root.cancel();
        assert!(leaf.is_cancelled());
        drop(leaf);
        assert_eq!(children(&root), 0);
    }

    #[test]
    fn a_long_chain_drops_and_cancels_without_recursion() {
        // Deep enough to overflow a recursive drop natively; under Miri
        // (a thousand times slower) the walk's memory safety is the point.
        const DEPTH: usize = if cfg!(miri) { 1_000 } else { 200_000 };
        let root = CancelToken::<ThreadSafe>::new();
        let mut leaf = root.child_token();
        for _ in 0..DEPTH {
            leaf = leaf.child_token();
        }
        root.cancel();
        assert!(leaf.is_cancelled());
        let root = CancelToken::<Local>::new();
        let mut leaf = root.child_token();
        for _ in 0..DEPTH {
            leaf = leaf.child_token();
        }
        drop(leaf); // the whole chain, one node after the other
        assert_eq!(children(&root), 0);
    }
}
