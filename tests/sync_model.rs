//! Property tests: `Semaphore`, `BoundedSemaphore` and `Lock` against a
//! counter, under random interleavings of acquires, waits, cancellations
//! (what a time-out does), guard drops, forgets and explicit releases,
//! across several simulated tasks polled by hand.

mod support;

use std::collections::VecDeque;
use std::task::Poll;

use proptest::prelude::*;
use sprout::sync::{Acquire, BoundedSemaphore, Lock, LockFuture, LockGuard, Semaphore, SemaphoreGuard};
use support::FlagWaker;

const SLOTS: usize = 6;

#[derive(Clone, Debug)]
enum Op {
    TryAcquire(usize),
    Start(usize),
    Poll(usize),
    /// Drops the slot's future or guard, whichever it has.
    Drop(usize),
    Forget(usize),
    Release,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..SLOTS).prop_map(Op::TryAcquire),
        4 => (0..SLOTS).prop_map(Op::Start),
        5 => (0..SLOTS).prop_map(Op::Poll),
        4 => (0..SLOTS).prop_map(Op::Drop),
        1 => (0..SLOTS).prop_map(Op::Forget),
        1 => Just(Op::Release),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Empty,
    Waiting,
    /// Handed a permit, not yet polled.
    Handed,
    Holding,
}

struct Model {
    permits: usize,
    bound: Option<usize>,
    waiting: VecDeque<usize>,
    slots: [Slot; SLOTS],
}

impl Model {
    /// A guard or a handed waiter lets go of its permit. A bounded
    /// semaphore already full (the permit came back by hand) stays as is.
    fn give_back(&mut self) {
        match self.waiting.pop_front() {
            Some(s) => self.slots[s] = Slot::Handed,
            None if self.bound.is_some_and(|b| self.permits >= b) => {}
            None => self.permits += 1,
        }
    }

    fn release(&mut self) -> bool {
        if self.bound.is_some_and(|b| self.permits >= b) {
            return false;
        }
        match self.waiting.pop_front() {
            Some(s) => self.slots[s] = Slot::Handed,
            None => self.permits += 1,
        }
        true
    }
}

/// What the driver needs from each primitive.
trait Permits {
    type Fut<'a>: std::future::Future<Output = Self::Guard<'a>> + Unpin
    where
        Self: 'a;
    type Guard<'a>
    where
        Self: 'a;
    /// Whether forgetting a guard is allowed (it is not for a `Lock`,
    /// whose guard holds a borrow of the value).
    const CAN_FORGET: bool;
    fn start(&self) -> Self::Fut<'_>;
    fn try_take(&self) -> Option<Self::Guard<'_>>;
    fn release(&self) -> Option<bool>;
    fn available(&self) -> usize;
    fn waiters(&self) -> usize;
}

impl Permits for Semaphore {
    type Fut<'a> = Acquire<'a>;
    type Guard<'a> = SemaphoreGuard<'a>;
    const CAN_FORGET: bool = true;
    fn start(&self) -> Acquire<'_> {
        self.acquire()
    }
    fn try_take(&self) -> Option<SemaphoreGuard<'_>> {
        self.try_acquire()
    }
    fn release(&self) -> Option<bool> {
        self.release();
        Some(true)
    }
    fn available(&self) -> usize {
        self.available_permits()
    }
    fn waiters(&self) -> usize {
        self.waiters()
    }
}

impl Permits for BoundedSemaphore {
    type Fut<'a> = Acquire<'a>;
    type Guard<'a> = SemaphoreGuard<'a>;
    const CAN_FORGET: bool = true;
    fn start(&self) -> Acquire<'_> {
        self.acquire()
    }
    fn try_take(&self) -> Option<SemaphoreGuard<'_>> {
        self.try_acquire()
    }
    fn release(&self) -> Option<bool> {
        Some(self.release().is_ok())
    }
    fn available(&self) -> usize {
        self.available_permits()
    }
    fn waiters(&self) -> usize {
        self.waiters()
    }
}

impl Permits for Lock<u32> {
    type Fut<'a> = LockFuture<'a, u32>;
    type Guard<'a> = LockGuard<'a, u32>;
    const CAN_FORGET: bool = false;
    fn start(&self) -> LockFuture<'_, u32> {
        self.lock()
    }
    fn try_take(&self) -> Option<LockGuard<'_, u32>> {
        self.try_lock()
    }
    /// A lock has no explicit release (and no forget).
    fn release(&self) -> Option<bool> {
        None
    }
    fn available(&self) -> usize {
        usize::from(!self.locked())
    }
    fn waiters(&self) -> usize {
        self.waiters()
    }
}

fn run_case<P: Permits>(sem: &P, permits: usize, bound: Option<usize>, ops: Vec<Op>) {
    let mut model = Model { permits, bound, waiting: VecDeque::new(), slots: [Slot::Empty; SLOTS] };
    let wakers: Vec<FlagWaker> = (0..SLOTS).map(|_| FlagWaker::new()).collect();
    let mut futs: Vec<Option<P::Fut<'_>>> = (0..SLOTS).map(|_| None).collect();
    let mut guards: Vec<Option<P::Guard<'_>>> = (0..SLOTS).map(|_| None).collect();
    for op in ops {
        match op {
            Op::TryAcquire(s) if model.slots[s] == Slot::Empty => {
                let got = sem.try_take();
                let want = model.permits > 0;
                assert_eq!(got.is_some(), want, "try_acquire");
                if want {
                    model.permits -= 1;
                    model.slots[s] = Slot::Holding;
                    guards[s] = got;
                }
            }
            Op::Start(s) if model.slots[s] == Slot::Empty => {
                let mut fut = sem.start();
                match wakers[s].poll(&mut fut) {
                    Poll::Ready(guard) => {
                        assert!(model.permits > 0, "acquired with no permit free");
                        model.permits -= 1;
                        model.slots[s] = Slot::Holding;
                        guards[s] = Some(guard);
                    }
                    Poll::Pending => {
                        assert_eq!(model.permits, 0, "waits with a permit free");
                        model.slots[s] = Slot::Waiting;
                        model.waiting.push_back(s);
                        futs[s] = Some(fut);
                    }
                }
            }
            Op::Poll(s) => {
                if let Some(fut) = futs[s].as_mut() {
                    match wakers[s].poll(fut) {
                        Poll::Ready(guard) => {
                            assert_eq!(model.slots[s], Slot::Handed, "ready without being handed a permit");
                            model.slots[s] = Slot::Holding;
                            guards[s] = Some(guard);
                            futs[s] = None;
                        }
                        Poll::Pending => assert_eq!(model.slots[s], Slot::Waiting, "pending though handed a permit"),
                    }
                }
            }
            Op::Drop(s) => {
                futs[s] = None;
                guards[s] = None;
                match model.slots[s] {
                    Slot::Waiting => model.waiting.retain(|&w| w != s),
                    Slot::Handed | Slot::Holding => model.give_back(),
                    Slot::Empty => {}
                }
                model.slots[s] = Slot::Empty;
            }
            Op::Forget(s) if model.slots[s] == Slot::Holding && P::CAN_FORGET => {
                // The permit stays taken until an explicit release.
                std::mem::forget(guards[s].take());
                model.slots[s] = Slot::Empty;
            }
            Op::Release => {
                if let Some(ok) = sem.release() {
                    assert_eq!(ok, model.release(), "release");
                }
            }
            Op::TryAcquire(_) | Op::Start(_) | Op::Forget(_) => {}
        }
        assert_eq!(sem.available(), model.permits, "available permits");
        assert_eq!(sem.waiters(), model.waiting.len(), "waiters");
        for (s, waker) in wakers.iter().enumerate() {
            if model.slots[s] == Slot::Handed {
                assert!(waker.woken(), "slot {s} was handed a permit but not woken");
            }
        }
    }
    // Drop everything, in slot order: every permit comes home.
    for s in 0..SLOTS {
        futs[s] = None;
        guards[s] = None;
        match model.slots[s] {
            Slot::Waiting => model.waiting.retain(|&w| w != s),
            Slot::Handed | Slot::Holding => model.give_back(),
            Slot::Empty => {}
        }
        model.slots[s] = Slot::Empty;
        assert_eq!(sem.available(), model.permits, "available permits after drops");
    }
    assert_eq!(sem.waiters(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn semaphore_matches_counter(permits in 0..3usize, ops in prop::collection::vec(op(), 1..60)) {
        let sem = Semaphore::new(permits);
        run_case(&sem, permits, None, ops);
    }

    #[test]
    fn bounded_semaphore_matches_counter(permits in 0..3usize, ops in prop::collection::vec(op(), 1..60)) {
        let sem = BoundedSemaphore::new(permits);
        run_case(&sem, permits, Some(permits), ops);
    }

    #[test]
    fn lock_matches_counter(ops in prop::collection::vec(op(), 1..60)) {
        let lock = Lock::new(0u32);
        run_case(&lock, 1, None, ops);
    }
}
