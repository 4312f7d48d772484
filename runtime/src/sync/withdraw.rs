//! `Withdraw`: a deadline that races a grant.
//!
//! A waiter's deadline and the hand-off of what it waits for (a permit,
//! the lock, an item, a notification) can fall at the same moment: on
//! two threads, the grant can land after the waiter last looked and before
//! its timer is seen. The rule for every `*_timeout` call is **the grant
//! wins**: at its deadline the waiter leaves the line in one step under
//! the primitive's lock ([`Withdraw::withdraw`]). If it had been granted
//! meanwhile, it keeps what it was given and the call succeeds; only a
//! waiter that was still waiting reports the time-out, and from that step
//! on nobody can grant it anything. So a grant is never lost, never passed
//! on behind the caller's back, and a success is never reported as a
//! failure.
//!
//! Dropping a waiting future instead (an outer `timeout`, `select`, a
//! killed task) is a cancellation, not a time-out: its `Drop` passes a
//! grant it had received on to the next waiter (see the `sync` module's
//! docs).
//!
//! On one thread the race cannot happen ([`crate::time::timeout`] polls the
//! work before the timer, and nothing runs in between), but the
//! runtime-local primitives and queues share their bodies with the
//! thread-safe ones (`flavor.rs`) and so follow the same rule.

use std::future::Future;
use std::time::Duration;

use crate::time::Elapsed;

/// A wait that can leave its line at a deadline (see the module docs).
pub(crate) trait Withdraw: Future + Unpin {
    /// Leaves the line: `Some(output)` if it had been granted meanwhile
    /// (the caller now owns the grant), `None` if it was still waiting and
    /// is now out of the line. Called on a future that has not completed.
    fn withdraw(&mut self) -> Option<Self::Output>;
}

/// Waits for `wait` at most `duration` in a green task; at the deadline a
/// grant that raced it wins.
pub(crate) async fn timeout<W: Withdraw>(duration: Duration, mut wait: W) -> Result<W::Output, Elapsed> {
    match crate::time::timeout(duration, &mut wait).await {
        Ok(output) => Ok(output),
        Err(elapsed) => wait.withdraw().ok_or(elapsed),
    }
}

/// The rule, primitive by primitive, with the interleaving the loom models
/// find driven by hand: a wait polled once, the grant, then the deadline.
#[cfg(all(test, not(loom)))]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Waker};

    use super::Withdraw;
    use crate::queue::threadsafe::Queue;
    use crate::sync::threadsafe::{AsyncResult, Barrier, Event, Lock, RLock, Semaphore};

    fn pending<F: Future + Unpin>(mut future: F) -> F {
        let poll = Pin::new(&mut future).poll(&mut Context::from_waker(Waker::noop()));
        assert!(poll.is_pending());
        future
    }

    /// Bug 7: the round passed as the deadline fell; it stands for the
    /// waiter that timed out, and the barrier is not broken.
    #[test]
    fn barrier_round_that_passes_at_the_deadline_stands() {
        let barrier = Barrier::new(2);
        let mut late = pending(barrier.wait());
        let leader = crate::park::block_on(barrier.wait()).unwrap();
        assert!(leader.is_leader());
        let timed_out = late.time_out().unwrap();
        assert_eq!((timed_out.index(), timed_out.is_leader()), (0, false));
        assert!(!barrier.is_broken());
        assert_eq!(barrier.n_waiting(), 0);
        // Still waiting at the deadline: broken, for the others too.
        let barrier = Barrier::new(3);
        let mut first = pending(barrier.wait());
        let other = pending(barrier.wait());
        assert!(first.time_out().is_err());
        assert!(barrier.is_broken());
        assert!(crate::park::block_on(other).is_err());
    }

    #[test]
    fn lock_handed_over_at_the_deadline_is_taken() {
        let lock = Lock::new(0);
        let held = lock.try_lock().unwrap();
        let mut wait = pending(lock.lock());
        drop(held); // hands the lock to `wait`
        let mut guard = wait.withdraw().expect("the lock was handed over");
        *guard += 1;
        drop(guard);
        assert!(!lock.locked());
        // Not handed over: out of the line, the next unlock frees the lock.
        let held = lock.try_lock().unwrap();
        let mut wait = pending(lock.lock());
        assert!(wait.withdraw().is_none());
        drop(held);
        assert!(!lock.locked() && lock.waiters() == 0);
    }

    #[test]
    fn rlock_handed_over_at_the_deadline_is_taken() {
        use std::sync::mpsc::channel;
        let lock = RLock::new(());
        let lock = &lock;
        let (held_tx, held_rx) = channel();
        let (go_tx, go_rx) = channel::<()>();
        std::thread::scope(|s| {
            let holder = s.spawn(move || {
                let guard = lock.lock_blocking();
                held_tx.send(()).unwrap();
                go_rx.recv().unwrap();
                drop(guard); // hands the lock to the waiting main thread
            });
            held_rx.recv().unwrap();
            let mut wait = pending(lock.lock());
            go_tx.send(()).unwrap();
            holder.join().unwrap();
            let guard = wait.withdraw().expect("the lock was handed over");
            assert!(lock.is_owned() && lock.holds() == 1);
            drop(guard);
        });
        assert!(!lock.locked() && lock.waiters() == 0);
    }

    #[test]
    fn semaphore_permit_handed_over_at_the_deadline_is_taken() {
        let sem = Semaphore::new(0);
        let mut wait = pending(sem.acquire());
        sem.release().unwrap();
        let permit = wait.withdraw().expect("the permit was handed over").unwrap();
        assert_eq!(sem.available_permits(), 0);
        drop(permit);
        assert_eq!(sem.available_permits(), 1);
        let _all = sem.try_acquire().unwrap();
        let mut wait = pending(sem.acquire());
        assert!(wait.withdraw().is_none());
        assert_eq!(sem.waiters(), 0);
    }

    #[test]
    fn event_and_result_set_at_the_deadline_count() {
        let event = Event::new();
        let mut wait = pending(event.wait());
        event.set();
        assert_eq!(wait.withdraw(), Some(()));
        let result: AsyncResult<u8, ()> = AsyncResult::new();
        let mut get = pending(result.get());
        result.set(Ok(3));
        assert_eq!(get.withdraw(), Some(Ok(3)));
        // Set, then taken before the waiter looked: nothing to report.
        let _ = result.take();
        let mut get = pending(result.get());
        result.set(Ok(4));
        let _ = result.take();
        assert_eq!(get.withdraw(), None);
    }

    #[test]
    fn queue_item_handed_over_at_the_deadline_is_taken() {
        let q = Queue::new(0);
        let mut get = pending(q.get());
        q.put_nowait(5).unwrap();
        assert_eq!(get.withdraw(), Some(Ok(5)));
        assert_eq!((q.qsize(), q.getters()), (0, 0));
        // Woken by `close`: Closed, not a time-out.
        let mut get = pending(q.get());
        q.close();
        assert_eq!(get.withdraw(), Some(Err(crate::queue::Closed(()))));
    }
}
