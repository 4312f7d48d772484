//! Property tests: `Semaphore`, `BoundedSemaphore` and `Lock` against a
//! counter, under random interleavings of acquires, waits, cancellations
//! (what a time-out does), guard drops, forgets and explicit releases,
//! across several simulated tasks polled by hand.

mod support;

use std::collections::VecDeque;
use std::task::Poll;

use proptest::prelude::*;
use sprout::sync::{
    AcquireError, BoundedSemaphore, Lock, LockFuture, LockGuard, Semaphore, SemaphoreAcquire, SemaphoreGuard,
};
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
    type Fut<'a> = SemaphoreAcquire<'a>;
    /// Never closed here: always `Ok`.
    type Guard<'a> = Result<SemaphoreGuard<'a>, AcquireError>;
    const CAN_FORGET: bool = true;
    fn start(&self) -> SemaphoreAcquire<'_> {
        self.acquire()
    }
    fn try_take(&self) -> Option<Self::Guard<'_>> {
        self.try_acquire().ok().map(Ok)
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
    type Fut<'a> = SemaphoreAcquire<'a>;
    /// Never closed here: always `Ok`.
    type Guard<'a> = Result<SemaphoreGuard<'a>, AcquireError>;
    const CAN_FORGET: bool = true;
    fn start(&self) -> SemaphoreAcquire<'_> {
        self.acquire()
    }
    fn try_take(&self) -> Option<Self::Guard<'_>> {
        self.try_acquire().ok().map(Ok)
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

/// `acquire_many`, `add_permits` and `close` against a model of the
/// semaphore's contract: requests of 0 to 3 permits served strictly in
/// arrival order, permits assigned to the first waiter as they come, and a
/// waiter that leaves (dropped, or woken by `close`) giving back what it
/// was assigned. Borrowed and owned guards, plain and bounded semaphores.
mod many {
    use std::collections::VecDeque;
    use std::future::Future;
    use std::rc::Rc;
    use std::task::Poll;

    use proptest::prelude::*;
    use sprout::sync::{AcquireError, BoundedSemaphore, Semaphore, TryAcquireError};

    use super::{FlagWaker, SLOTS};

    #[derive(Clone, Debug)]
    enum Op {
        Try(usize, usize),
        Start(usize, usize),
        Poll(usize),
        Drop(usize),
        Forget(usize),
        Add(usize),
        Close,
    }

    fn op(most: usize) -> impl Strategy<Value = Op> {
        prop_oneof![
            2 => (0..SLOTS, 0..=most).prop_map(|(s, n)| Op::Try(s, n)),
            4 => (0..SLOTS, 0..=most).prop_map(|(s, n)| Op::Start(s, n)),
            5 => (0..SLOTS).prop_map(Op::Poll),
            4 => (0..SLOTS).prop_map(Op::Drop),
            1 => (0..SLOTS).prop_map(Op::Forget),
            2 => (0..3usize).prop_map(Op::Add),
            1 => Just(Op::Close),
        ]
    }

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Slot {
        Empty,
        /// Asked for `n`, still lacks `missing`.
        Waiting {
            n: usize,
            missing: usize,
        },
        Granted {
            n: usize,
        },
        /// Woken by `close` holding `assigned` permits, not yet polled.
        Refused {
            assigned: usize,
        },
        Holding {
            n: usize,
        },
    }

    struct Model {
        free: usize,
        bound: Option<usize>,
        closed: bool,
        queue: VecDeque<usize>,
        slots: [Slot; SLOTS],
    }

    impl Model {
        fn assign(&mut self, mut k: usize) {
            while k > 0 {
                let Some(&first) = self.queue.front() else { break };
                let Slot::Waiting { n, missing } = self.slots[first] else { unreachable!() };
                let given = k.min(missing);
                k -= given;
                self.slots[first] = Slot::Waiting { n, missing: missing - given };
                if missing == given {
                    self.queue.pop_front();
                    self.slots[first] = Slot::Granted { n };
                }
            }
            self.free += k;
        }

        fn give_back(&mut self, k: usize) {
            let k = match self.bound {
                Some(b) => k.min(b - self.free),
                None => k,
            };
            self.assign(k);
        }

        fn add(&mut self, k: usize) -> bool {
            if self.bound.is_some_and(|b| self.free + k > b) {
                return false;
            }
            self.assign(k);
            true
        }

        /// What dropping slot `s`'s future or guard gives back.
        fn leave(&mut self, s: usize) {
            let back = match self.slots[s] {
                Slot::Empty => 0,
                Slot::Waiting { n, missing } => {
                    self.queue.retain(|&w| w != s);
                    n - missing
                }
                Slot::Granted { n } | Slot::Holding { n } => n,
                Slot::Refused { assigned } => assigned,
            };
            self.slots[s] = Slot::Empty;
            self.give_back(back);
        }
    }

    /// What the model reads and changes besides acquiring: the same for a
    /// semaphore's borrowed and owned guards.
    trait Counters {
        fn add(&self, k: usize) -> bool;
        fn close(&self);
        fn available(&self) -> usize;
        fn waiters(&self) -> usize;
    }

    impl Counters for Semaphore {
        fn add(&self, k: usize) -> bool {
            self.add_permits(k);
            true
        }
        fn close(&self) {
            Semaphore::close(self)
        }
        fn available(&self) -> usize {
            self.available_permits()
        }
        fn waiters(&self) -> usize {
            Semaphore::waiters(self)
        }
    }

    impl Counters for BoundedSemaphore {
        fn add(&self, k: usize) -> bool {
            self.add_permits(k).is_ok()
        }
        fn close(&self) {
            BoundedSemaphore::close(self)
        }
        fn available(&self) -> usize {
            self.available_permits()
        }
        fn waiters(&self) -> usize {
            BoundedSemaphore::waiters(self)
        }
    }

    /// The ways to acquire: borrowed guards (from a leaked semaphore) or
    /// owned ones (each future and guard holds an `Rc`).
    trait Sem: std::ops::Deref<Target: Counters> {
        type Guard;
        type Fut: Future<Output = Result<Self::Guard, AcquireError>> + Unpin;
        fn start(&self, n: usize) -> Self::Fut;
        fn try_take(&self, n: usize) -> Result<Self::Guard, TryAcquireError>;
        /// Keeps the guard's permits taken (the guard's own `forget`).
        fn forget(guard: Self::Guard);
    }

    impl Sem for &'static Semaphore {
        type Guard = sprout::sync::SemaphoreGuard<'static>;
        type Fut = sprout::sync::SemaphoreAcquire<'static>;
        fn start(&self, n: usize) -> Self::Fut {
            self.acquire_many(n)
        }
        fn try_take(&self, n: usize) -> Result<Self::Guard, TryAcquireError> {
            self.try_acquire_many(n)
        }
        fn forget(guard: Self::Guard) {
            guard.forget();
        }
    }

    impl Sem for &'static BoundedSemaphore {
        type Guard = sprout::sync::SemaphoreGuard<'static>;
        type Fut = sprout::sync::SemaphoreAcquire<'static>;
        fn start(&self, n: usize) -> Self::Fut {
            self.acquire_many(n)
        }
        fn try_take(&self, n: usize) -> Result<Self::Guard, TryAcquireError> {
            self.try_acquire_many(n)
        }
        fn forget(guard: Self::Guard) {
            guard.forget();
        }
    }

    impl Sem for Rc<BoundedSemaphore> {
        type Guard = sprout::sync::OwnedSemaphoreGuard<BoundedSemaphore>;
        type Fut = sprout::sync::SemaphoreAcquireOwned<BoundedSemaphore>;
        fn start(&self, n: usize) -> Self::Fut {
            self.clone().acquire_many_owned(n)
        }
        fn try_take(&self, n: usize) -> Result<Self::Guard, TryAcquireError> {
            self.clone().try_acquire_many_owned(n)
        }
        fn forget(guard: Self::Guard) {
            guard.forget();
        }
    }

    fn run_case<S: Sem>(sem: S, permits: usize, bound: Option<usize>, ops: Vec<Op>) {
        let mut model =
            Model { free: permits, bound, closed: false, queue: VecDeque::new(), slots: [Slot::Empty; SLOTS] };
        let wakers: Vec<FlagWaker> = (0..SLOTS).map(|_| FlagWaker::new()).collect();
        let mut futs: Vec<Option<S::Fut>> = (0..SLOTS).map(|_| None).collect();
        let mut guards: Vec<Option<S::Guard>> = (0..SLOTS).map(|_| None).collect();
        for op in ops {
            match op {
                Op::Try(s, n) if model.slots[s] == Slot::Empty => {
                    let got = sem.try_take(n);
                    let want = if model.closed {
                        Err(TryAcquireError::Closed)
                    } else if model.free >= n {
                        Ok(())
                    } else {
                        Err(TryAcquireError::NoPermits)
                    };
                    assert_eq!(got.as_ref().map(|_| ()).map_err(|e| *e), want, "try_acquire_many({n})");
                    if let Ok(guard) = got {
                        model.free -= n;
                        model.slots[s] = Slot::Holding { n };
                        guards[s] = Some(guard);
                    }
                }
                Op::Start(s, n) if model.slots[s] == Slot::Empty => {
                    let mut fut = sem.start(n);
                    match wakers[s].poll(&mut fut) {
                        Poll::Ready(Ok(guard)) => {
                            assert!(!model.closed && model.free >= n, "acquired {n} with {} free", model.free);
                            model.free -= n;
                            model.slots[s] = Slot::Holding { n };
                            guards[s] = Some(guard);
                        }
                        Poll::Ready(Err(_)) => assert!(model.closed, "refused, not closed"),
                        Poll::Pending => {
                            assert!(!model.closed && model.free < n, "waits for {n} with {} free", model.free);
                            model.slots[s] = Slot::Waiting { n, missing: n - model.free };
                            model.free = 0;
                            model.queue.push_back(s);
                            futs[s] = Some(fut);
                        }
                    }
                }
                Op::Poll(s) => {
                    if let Some(fut) = futs[s].as_mut() {
                        match (wakers[s].poll(fut), model.slots[s]) {
                            (Poll::Ready(Ok(guard)), Slot::Granted { n }) => {
                                model.slots[s] = Slot::Holding { n };
                                guards[s] = Some(guard);
                                futs[s] = None;
                            }
                            (Poll::Ready(Err(_)), Slot::Refused { assigned }) => {
                                futs[s] = None;
                                model.slots[s] = Slot::Empty;
                                model.give_back(assigned);
                            }
                            (Poll::Pending, Slot::Waiting { .. }) => {}
                            (got, slot) => panic!("slot {s} in {slot:?} polled to {:?}", got.map(|r| r.is_ok())),
                        }
                    }
                }
                Op::Drop(s) => {
                    futs[s] = None;
                    guards[s] = None;
                    model.leave(s);
                }
                Op::Forget(s) => {
                    if let (Slot::Holding { .. }, Some(guard)) = (model.slots[s], guards[s].take()) {
                        S::forget(guard);
                        model.slots[s] = Slot::Empty;
                    }
                }
                Op::Add(k) => assert_eq!(sem.add(k), model.add(k), "add_permits({k})"),
                Op::Close => {
                    sem.close();
                    model.closed = true;
                    for s in std::mem::take(&mut model.queue) {
                        let Slot::Waiting { n, missing } = model.slots[s] else { unreachable!() };
                        model.slots[s] = Slot::Refused { assigned: n - missing };
                    }
                }
                Op::Try(..) | Op::Start(..) => {}
            }
            assert_eq!(sem.available(), model.free, "available permits");
            assert_eq!(sem.waiters(), model.queue.len(), "waiters");
            for (s, waker) in wakers.iter().enumerate() {
                if let Slot::Granted { .. } | Slot::Refused { .. } = model.slots[s] {
                    assert!(waker.woken(), "slot {s} ({:?}) was not woken", model.slots[s]);
                }
            }
        }
        for s in 0..SLOTS {
            futs[s] = None;
            guards[s] = None;
            model.leave(s);
            assert_eq!(sem.available(), model.free, "available permits after drops");
        }
        assert_eq!(sem.waiters(), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn semaphore_many_matches_the_model(permits in 0..4usize, ops in prop::collection::vec(op(3), 1..60)) {
            let sem: &'static Semaphore = Box::leak(Box::new(Semaphore::new(permits)));
            run_case(sem, permits, None, ops);
        }

        #[test]
        fn bounded_semaphore_many_matches_the_model(permits in 0..4usize, ops in prop::collection::vec(op(3), 1..60)) {
            let ops: Vec<Op> = ops.into_iter().map(|op| match op {
                Op::Try(s, n) => Op::Try(s, n.min(permits)),
                Op::Start(s, n) => Op::Start(s, n.min(permits)),
                op => op,
            }).collect();
            let sem: &'static BoundedSemaphore = Box::leak(Box::new(BoundedSemaphore::new(permits)));
            run_case(sem, permits, Some(permits), ops);
        }

        #[test]
        fn owned_bounded_semaphore_matches_the_model(permits in 0..4usize, ops in prop::collection::vec(op(3), 1..60)) {
            let ops: Vec<Op> = ops.into_iter().map(|op| match op {
                Op::Try(s, n) => Op::Try(s, n.min(permits)),
                Op::Start(s, n) => Op::Start(s, n.min(permits)),
                op => op,
            }).collect();
            let sem = Rc::new(BoundedSemaphore::new(permits));
            run_case(sem.clone(), permits, Some(permits), ops);
            assert_eq!(Rc::strong_count(&sem), 1, "no future or guard kept the semaphore");
        }
    }
}
