//! `JoinHandle`: await, kill and watch a spawned task.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::ptr::NonNull;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::error::{JoinError, TryJoinError};
use super::executor::Executor;
use super::harness;
use super::header::{Header, TaskId, ref_dec};
use super::home::TaskHome;
use super::observe::{self, WaitOn};
use super::state::{COMPLETE, Detach};
use super::waker::{RefKind, SentRef};
use super::waker_set::WakerKey;

/// An owned permission to join, kill and watch a task: gevent's `Greenlet`
/// object, as returned by `spawn`.
///
/// Awaiting it gives the task's output, or a [`JoinError`] if the task was
/// killed or panicked. Dropping it detaches the task, which keeps running.
///
/// `JoinHandle` is `!Send`: the task lives on this thread's runtime. To
/// spawn from another thread use [`Handle`](crate::Handle).
///
/// ```
/// use std::time::Duration;
/// use sprout::{run, sleep, spawn, JoinError};
///
/// run(async {
///     let worker = spawn(async {
///         sleep(Duration::from_secs(60)).await;
///         "done"
///     });
///     worker.kill(); // the future is dropped right here
///     assert!(matches!(worker.await, Err(JoinError::Killed)));
/// });
/// ```
pub struct JoinHandle<T> {
    raw: NonNull<Header>,
    /// `!Send` (the task lives on this thread) and covariant in `T`.
    _marker: PhantomData<NotSendOutput<T>>,
}

type NotSendOutput<T> = (Rc<()>, fn() -> T);

impl<T: 'static> JoinHandle<T> {
    /// # Safety
    /// The caller hands over one reference to a task whose output type is `T`.
    pub(crate) unsafe fn from_raw(raw: NonNull<Header>) -> JoinHandle<T> {
        JoinHandle { raw, _marker: PhantomData }
    }

    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: the handle owns a reference, so the header is live; the
        // handle is !Send, so this is the runtime thread.
        unsafe { self.raw.as_ref() }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.header().id
    }

    /// The name given with [`Builder::name`](crate::task::Builder::name).
    pub fn name(&self) -> Option<&str> {
        self.header().name()
    }

    /// Whether the task has finished (returned, panicked or was killed) and
    /// its completion callbacks have run.
    pub fn is_finished(&self) -> bool {
        self.header().state.has(COMPLETE)
    }

    /// Kills the task now: its future is dropped on the spot, so its
    /// destructors run before `kill` returns, as `GreenletExit` unwinds a
    /// greenlet. Joiners get [`JoinError::Killed`]. A task killed before
    /// its first poll never runs. Killing a finished task does nothing.
    ///
    /// If a task kills itself, the drop happens right after its current poll.
    pub fn kill(&self) {
        kill_task(self.raw);
    }

    /// The task half of [`kill_graceful`](Self::kill_graceful)
    /// (`time/timed_task.rs`): marks the task as asked to stop and wakes
    /// what waits in [`killed()`](crate::task::killed). Returns a handle
    /// for the watchdog, or `None` if the task had already been asked (or
    /// has finished), when there is nothing more to do.
    pub(crate) fn ask_to_stop(&self) -> Option<UntypedHandle> {
        let header = self.header();
        if !header.state.transition_to_graceful() {
            return None;
        }
        let wakers = header.with_extras(|e| e.kill_wakers.take());
        wakers.wake();
        Some(self.untyped())
    }

    /// Takes the result if the task has finished, without waiting.
    ///
    /// The error says why there is no result: [`TryJoinError::Running`] if
    /// the task has not finished (its completion callbacks count as part of
    /// it: called from one of them, the answer is `Running`), or
    /// [`TryJoinError::Taken`] if this handle already handed the result out
    /// (through `try_join`, `join_timeout` or an `.await`). Like
    /// `std::sync::mpsc::Receiver::try_recv`'s `Empty` and `Disconnected`.
    ///
    /// ```
    /// use sprout::task::TryJoinError;
    /// use sprout::{run, spawn, yield_now};
    ///
    /// run(async {
    ///     let mut task = spawn(async { 7 });
    ///     assert_eq!(task.try_join().unwrap_err(), TryJoinError::Running);
    ///     yield_now().await;
    ///     assert_eq!(task.try_join().unwrap().unwrap(), 7);
    ///     assert_eq!(task.try_join().unwrap_err(), TryJoinError::Taken);
    /// });
    /// ```
    pub fn try_join(&mut self) -> Result<Result<T, JoinError>, TryJoinError> {
        if !self.is_finished() {
            return Err(TryJoinError::Running);
        }
        self.take_output().ok_or(TryJoinError::Taken)
    }

    /// Calls `f` with the result when the task finishes, like gevent's
    /// `link`. Callbacks run on the runtime thread, in registration order,
    /// after the task's future and task-local values are dropped and before
    /// any joiner resumes; if the task has already finished, `f` runs now.
    /// The result stays for the joiner. A panic seen by a callback counts as
    /// handled: it is not reported as unjoined.
    ///
    /// While callbacks run, the task is not yet finished: from inside one,
    /// [`is_finished`](Self::is_finished) is false and
    /// [`try_join`](Self::try_join) answers `Running`, so that no callback
    /// can take or drop the result another one is looking at. Dropping the
    /// handle from a callback is fine: the result is dropped after the last
    /// callback.
    ///
    /// # Panics
    /// If this handle already handed the result out (through `try_join`,
    /// `join_timeout` or an `.await`): `f` could never see it, and running
    /// it with something else, or silently never, would hide the mistake.
    /// Register callbacks before taking the result.
    #[track_caller]
    pub fn on_done(&self, f: impl FnOnce(&Result<T, JoinError>) + 'static) {
        let header = self.header();
        let callback = move |output: &dyn Any| {
            if let Some(output) = output.downcast_ref::<Result<T, JoinError>>() {
                f(output);
            }
        };
        if header.state.has(COMPLETE) {
            match self.output_ref() {
                Some(output) => {
                    header.state.mark_handled();
                    callback(output);
                }
                None => panic!(
                    "JoinHandle::on_done: the task's result was already taken (by try_join, join_timeout or \
                     an await), so the callback could never see it; register callbacks before taking the result"
                ),
            }
        } else {
            header.state.mark_handled();
            header.with_extras(|e| e.callbacks.push(Box::new(callback)));
        }
    }

    /// Calls `f` with the value if the task returns, like gevent's `link_value`.
    ///
    /// # Panics
    /// As [`on_done`](Self::on_done), if the result was already taken.
    #[track_caller]
    pub fn on_ok(&self, f: impl FnOnce(&T) + 'static) {
        self.on_done(move |r| {
            if let Ok(v) = r {
                f(v)
            }
        });
    }

    /// Calls `f` with the error if the task panics or is killed, like
    /// gevent's `link_exception`.
    ///
    /// # Panics
    /// As [`on_done`](Self::on_done), if the result was already taken.
    #[track_caller]
    pub fn on_err(&self, f: impl FnOnce(&JoinError) + 'static) {
        self.on_done(move |r| {
            if let Err(e) = r {
                f(e)
            }
        });
    }

    /// Hands the output to `sink` instead of dropping it if no handle takes
    /// it: if this handle is dropped without taking it, before or after the
    /// task finishes (a collecting `pool::Group`'s `join_next`). A panic so
    /// handed on counts as handled: the sink's owner reports it.
    pub(crate) fn set_sink(&self, sink: impl FnOnce(Result<T, JoinError>) + 'static) {
        let sink = move |task: NonNull<Header>| {
            // SAFETY: `harness::drop_output` calls the sink once, on the
            // runtime thread, right after setting CONSUMED, with the output
            // live and a reference held; the task's output type is `T`.
            let output = unsafe {
                let mut out = MaybeUninit::<Result<T, JoinError>>::uninit();
                (task.as_ref().vtable.read_output)(task, out.as_mut_ptr().cast());
                out.assume_init()
            };
            sink(output);
        };
        self.header().with_extras(|e| e.sink = Some(Box::new(sink)));
    }

    /// The finished task's output, borrowed, unless it was taken.
    fn output_ref(&self) -> Option<&dyn Any> {
        let header = self.header();
        if !header.state.has_output() {
            return None;
        }
        // SAFETY: COMPLETE and not CONSUMED: the output is live, and only this
        // handle (borrowed for the result's lifetime) could consume it; the
        // runtime drops it only once the handle is gone.
        Some(unsafe { &*(header.vtable.output)(self.raw) })
    }

    /// Moves the output out, once.
    #[inline]
    fn take_output(&mut self) -> Option<Result<T, JoinError>> {
        let header = self.header();
        if !header.state.transition_to_consumed() {
            return None;
        }
        header.state.mark_handled();
        let mut out = MaybeUninit::<Result<T, JoinError>>::uninit();
        // SAFETY: the output is live and now marked consumed; the handle's
        // type parameter is the task's output type.
        unsafe {
            (header.vtable.read_output)(self.raw, out.as_mut_ptr().cast());
            Some(out.assume_init())
        }
    }
}

impl<T: 'static> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    // Inlined into the awaiting future: the ready path is a state test and
    // the move of the output; the waiting path is out of line.
    #[inline]
    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.header().state.has(COMPLETE) {
            return match this.take_output() {
                Some(output) => Poll::Ready(output),
                None => polled_after_ready(),
            };
        }
        wait_for(this.header(), cx.waker());
        Poll::Pending
    }
}

/// A handle's wait: notes it for the observer (at the caller's `.await`)
/// and keeps the waker for the task's completion.
#[inline(never)]
#[track_caller]
fn wait_for(header: &Header, waker: &Waker) {
    observe::waiting(WaitOn::Join { task: header.id });
    header.set_joiner(waker);
}

#[cold]
#[track_caller]
fn polled_after_ready() -> ! {
    panic!("JoinHandle polled after it returned its result")
}

impl<T: 'static> JoinHandle<T> {
    /// Ready once the task has finished, taking nothing: the
    /// [`Waitable`](crate::Waitable) side of a handle.
    pub(crate) fn finished(&self) -> DoneWatch<'_> {
        DoneWatch { header: self.header(), key: None }
    }
}

/// The future of [`JoinHandle::finished`]. It keeps an entry of its own in
/// the task's done wakers, which it takes out when dropped, so a watch
/// given up leaves nothing behind.
pub(crate) struct DoneWatch<'a> {
    header: &'a Header,
    /// Its entry in the task's done wakers, while it waits.
    key: Option<WakerKey>,
}

impl Future for DoneWatch<'_> {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let header = self.header;
        let poll = poll_done(header, &mut self.key, cx);
        if poll.is_pending() {
            observe::waiting(WaitOn::Join { task: header.id });
        }
        poll
    }
}

impl Drop for DoneWatch<'_> {
    fn drop(&mut self) {
        leave_done(self.header, &mut self.key);
    }
}

/// Ready once the task has completed; otherwise `key` holds (or now
/// holds) an entry in its done wakers. The one body of `DoneWatch` and
/// `Finished`.
fn poll_done(header: &Header, key: &mut Option<WakerKey>, cx: &mut Context<'_>) -> Poll<()> {
    if header.state.has(COMPLETE) {
        // The completion emptied the set, and the key with it.
        *key = None;
        return Poll::Ready(());
    }
    header.with_extras(|e| e.done_wakers.register(key, cx.waker()));
    Poll::Pending
}

/// A watch on the task's completion given up: its entry leaves.
fn leave_done(header: &Header, key: &mut Option<WakerKey>) {
    if key.is_some() {
        // Dropped after the borrow of the extras: a waker's drop may run code.
        let waker = header.with_extras_if_any(|e| e.done_wakers.remove(key));
        drop(waker);
    }
}

impl<T> Drop for JoinHandle<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the handle owns a reference and gives it up here; !Send
        // keeps us on the runtime thread.
        unsafe { drop_handle(self.raw) }
    }
}

/// A `JoinHandle`'s drop, for any output type.
///
/// # Safety
/// The caller gives up a `JoinHandle`'s reference to `raw`, on the task's
/// runtime thread.
#[inline]
unsafe fn drop_handle(raw: NonNull<Header>) {
    // SAFETY: the handle's reference keeps the header alive.
    let header = unsafe { raw.as_ref() };
    let detach = header.state.transition_to_detached();
    // Usually the output was taken by the await, and the joiner's waker
    // with it: nothing else to do.
    if detach == Detach::DiscardOutput || header.has_joiner() {
        drop_unjoined(raw, detach);
    }
    // SAFETY: giving up the handle's reference.
    unsafe { ref_dec(raw) };
}

/// The rest of a drop of a handle that did not take the output, or that
/// waited: drops the joiner's waker, and the output unless it was taken.
#[cold]
#[inline(never)]
fn drop_unjoined(raw: NonNull<Header>, detach: Detach) {
    // SAFETY: the caller's reference keeps the header alive; runtime thread.
    let header = unsafe { raw.as_ref() };
    drop(header.join_waker.take());
    if detach == Detach::DiscardOutput {
        match Executor::owning(header.home) {
            Some(executor) => executor.discard_output(raw),
            // The handle outlived `block_on` or the runtime: nobody is
            // left to propagate to, so an unhandled panic is logged.
            None => {
                if let Some(err) = harness::drop_output(raw) {
                    harness::report(harness::Unjoined::task(header), &err, "task");
                }
            }
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: as in `header`.
        let header = unsafe { self.raw.as_ref() };
        f.debug_struct("JoinHandle")
            .field("id", &header.id)
            .field("name", &header.name())
            .field("finished", &header.state.has(COMPLETE))
            .finish()
    }
}

/// Kills a task from its runtime thread.
pub(crate) fn kill_task(task: NonNull<Header>) {
    // SAFETY: the caller holds a reference; this is the runtime's thread.
    let header = unsafe { task.as_ref() };
    if header.state.has(COMPLETE) {
        return;
    }
    match Executor::owning(header.home) {
        Some(executor) => executor.kill(task),
        None => {
            // The runtime exists but is not running right now: it kills the
            // task when it next runs. The message carries a reference.
            header.ref_inc();
            let target = SentRef::new(task, RefKind::Local);
            // SAFETY: the home outlives every task allocation.
            let mailbox = unsafe { TaskHome::mailbox_of(header.home) };
            let kill = Box::new(move || {
                let target = target;
                kill_task(target.task());
                // SAFETY: the message's reference, given up on the runtime thread.
                unsafe { target.release() };
            });
            if mailbox.post_run(kill).is_err() {
                // The runtime is gone, and its shutdown already dropped the
                // task's future. Give back the message's reference here.
                // SAFETY: the reference taken above; this is the runtime thread.
                unsafe { ref_dec(task) };
            }
        }
    }
}

/// A `JoinHandle` without its output type: a counted reference to a task
/// that can kill and watch it, but not take its result. For internal
/// watchers: the graceful-kill watchdog, and `pool::Group`, which must kill
/// and watch tasks of any output type. `!Send`: it lives on the runtime
/// thread (the raw pointer makes it so).
pub(crate) struct UntypedHandle(NonNull<Header>);

impl UntypedHandle {
    fn header(&self) -> &Header {
        // SAFETY: the handle owns a reference, so the header is live; it is
        // !Send, so this is the runtime thread.
        unsafe { self.0.as_ref() }
    }

    /// The task's id.
    pub(crate) fn id(&self) -> TaskId {
        self.header().id
    }

    /// Whether the task has finished.
    pub(crate) fn is_finished(&self) -> bool {
        self.header().state.has(COMPLETE)
    }

    /// Kills the task, as [`JoinHandle::kill`] does.
    pub(crate) fn kill(&self) {
        kill_task(self.0);
    }

    /// A future that resolves once the task has completed.
    pub(crate) fn finished(self) -> Finished {
        Finished { task: self, key: None }
    }
}

impl<T: 'static> JoinHandle<T> {
    /// An untyped handle to the same task.
    pub(crate) fn untyped(&self) -> UntypedHandle {
        UntypedHandle::new(self.raw)
    }
}

impl UntypedHandle {
    /// Takes a reference, counted as HELD: an internal handle cannot wake
    /// the task (see `observe.rs`, "provably stuck").
    fn new(raw: NonNull<Header>) -> UntypedHandle {
        // SAFETY: the caller's handle keeps the header alive; !Send handles
        // keep us on the runtime thread.
        let header = unsafe { raw.as_ref() };
        header.ref_inc();
        header.state.note_held();
        UntypedHandle(raw)
    }
}

impl Clone for UntypedHandle {
    fn clone(&self) -> UntypedHandle {
        UntypedHandle::new(self.0)
    }
}

impl Drop for UntypedHandle {
    fn drop(&mut self) {
        self.header().state.note_released();
        // SAFETY: the handle owns a reference, and it is !Send, so this is
        // the runtime thread.
        unsafe { ref_dec(self.0) };
    }
}

/// Resolves when its task completes (`UntypedHandle::finished`): the
/// graceful-kill watchdog's wait, and a pool's watch on an `add`ed task.
/// Dropped before, it leaves the task's done wakers.
pub(crate) struct Finished {
    task: UntypedHandle,
    /// Its entry in the task's done wakers, while it waits.
    key: Option<WakerKey>,
}

impl Future for Finished {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        poll_done(this.task.header(), &mut this.key, cx)
    }
}

impl Drop for Finished {
    fn drop(&mut self) {
        leave_done(self.task.header(), &mut self.key);
    }
}
