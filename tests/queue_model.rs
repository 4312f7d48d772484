//! Property tests: each queue kind against a plain model (a `VecDeque` or
//! a min-search over a `Vec`), under random interleavings of puts, gets,
//! waits, cancellations (which is what a time-out does), closes and
//! task_done calls, across several simulated tasks.
//!
//! Each simulated task is a slot holding at most one pending `put` or
//! `get` future, polled by hand with its own waker. After every step the
//! test checks the outcomes, the counters, and that every waiter the model
//! says is ready was woken.

mod support;

use std::collections::VecDeque;
use std::task::Poll;

use proptest::prelude::*;
use sprout::queue::{Channel, Closed, GetError, LifoQueue, PriorityQueue, PutError, Queue};
// The generic queue behind the aliases: not API, reached in the runtime.
use sprout_runtime::queue::{BaseQueue, Buffer};
use support::FlagWaker;

/// (priority, unique id): ordered by priority, then by arrival.
type Item = (u8, u32);

const SLOTS: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Fifo,
    Lifo,
    Priority,
    Channel,
}

#[derive(Clone, Debug)]
enum Op {
    PutNowait(u8),
    GetNowait,
    StartPut(usize, u8),
    StartGet(usize),
    Poll(usize),
    Cancel(usize),
    Close,
    TaskDone,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<u8>().prop_map(|p| Op::PutNowait(p % 4)),
        2 => Just(Op::GetNowait),
        4 => (0..SLOTS, any::<u8>()).prop_map(|(s, p)| Op::StartPut(s, p % 4)),
        4 => (0..SLOTS).prop_map(Op::StartGet),
        6 => (0..SLOTS).prop_map(Op::Poll),
        3 => (0..SLOTS).prop_map(Op::Cancel),
        1 => Just(Op::TaskDone),
        // Rare, so most runs see a long life before closing.
        1 => (0..8u8).prop_filter_map("rare", |n| (n == 0).then_some(Op::Close)),
    ]
}

#[derive(Clone, Debug, PartialEq)]
enum Slot {
    Empty,
    GetWaiting,
    /// Notified: `Some(item)` handed over, `None` woken by close.
    GetHanded(Option<Item>),
    PutWaiting(Item),
    PutDone(Result<(), Item>),
}

/// The model: the contract of the module docs, written plainly.
struct Model {
    kind: Kind,
    cap: usize,
    buf: VecDeque<Item>,
    getters: VecDeque<usize>,
    putters: VecDeque<usize>,
    slots: Vec<Slot>,
    closed: bool,
    unfinished: usize,
}

impl Model {
    fn push(&mut self, item: Item) {
        self.buf.push_back(item);
    }

    fn pop(&mut self) -> Option<Item> {
        match self.kind {
            Kind::Fifo | Kind::Channel => self.buf.pop_front(),
            Kind::Lifo => self.buf.pop_back(),
            Kind::Priority => {
                let (i, _) = self.buf.iter().enumerate().min_by_key(|(_, item)| **item)?;
                self.buf.remove(i)
            }
        }
    }

    fn peek(&self) -> Option<Item> {
        match self.kind {
            Kind::Fifo | Kind::Channel => self.buf.front().copied(),
            Kind::Lifo => self.buf.back().copied(),
            Kind::Priority => self.buf.iter().min().copied(),
        }
    }

    /// An item handed to a getter that gave up: to the next getter, else
    /// back where the oldest item goes.
    fn reoffer(&mut self, item: Item) {
        match self.getters.pop_front() {
            Some(g) => self.slots[g] = Slot::GetHanded(Some(item)),
            None => self.buf.push_front(item),
        }
    }

    fn try_put(&mut self, item: Item) -> Result<(), PutError<Item>> {
        if self.closed {
            return Err(PutError::Closed(item));
        }
        if let Some(g) = self.getters.pop_front() {
            self.slots[g] = Slot::GetHanded(Some(item));
        } else if self.buf.len() < self.cap {
            self.push(item);
        } else {
            return Err(PutError::Full(item));
        }
        self.unfinished += 1;
        Ok(())
    }

    fn take_putter(&mut self) -> Option<Item> {
        let p = self.putters.pop_front()?;
        let Slot::PutWaiting(item) = std::mem::replace(&mut self.slots[p], Slot::PutDone(Ok(()))) else {
            unreachable!()
        };
        self.unfinished += 1;
        Some(item)
    }

    fn try_get(&mut self) -> Result<Item, GetError> {
        if let Some(item) = self.pop() {
            if self.buf.len() < self.cap
                && let Some(moved) = self.take_putter()
            {
                self.push(moved);
            }
            return Ok(item);
        }
        if let Some(item) = self.take_putter() {
            return Ok(item);
        }
        Err(if self.closed { GetError::Closed } else { GetError::Empty })
    }

    /// A fresh get from a slot: done, or the slot waits.
    fn start_get(&mut self, slot: usize) -> Poll<Result<Item, Closed>> {
        match self.try_get() {
            Ok(item) => Poll::Ready(Ok(item)),
            Err(GetError::Closed) => Poll::Ready(Err(Closed(()))),
            Err(GetError::Empty) => {
                self.slots[slot] = Slot::GetWaiting;
                self.getters.push_back(slot);
                Poll::Pending
            }
        }
    }

    fn start_put(&mut self, slot: usize, item: Item) -> Poll<Result<(), Item>> {
        match self.try_put(item) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(PutError::Closed(item)) => Poll::Ready(Err(item)),
            Err(PutError::Full(item)) => {
                self.slots[slot] = Slot::PutWaiting(item);
                self.putters.push_back(slot);
                Poll::Pending
            }
        }
    }

    fn cancel(&mut self, slot: usize) {
        match std::mem::replace(&mut self.slots[slot], Slot::Empty) {
            Slot::GetWaiting => self.getters.retain(|&g| g != slot),
            Slot::GetHanded(Some(item)) => self.reoffer(item),
            Slot::PutWaiting(_) => self.putters.retain(|&p| p != slot),
            Slot::Empty | Slot::GetHanded(None) | Slot::PutDone(_) => {}
        }
    }

    fn close(&mut self) {
        self.closed = true;
        for g in std::mem::take(&mut self.getters) {
            self.slots[g] = Slot::GetHanded(None);
        }
        for p in std::mem::take(&mut self.putters) {
            let Slot::PutWaiting(item) = self.slots[p] else { unreachable!() };
            self.slots[p] = Slot::PutDone(Err(item));
        }
    }
}

enum Fut<'a, B: Buffer<Item>> {
    Get(sprout::queue::Get<'a, Item, B>),
    Put(sprout::queue::Put<'a, Item, B>),
}

fn run_case<B: Buffer<Item>>(queue: BaseQueue<Item, B>, kind: Kind, cap: usize, ops: Vec<Op>) {
    let q = &queue;
    let mut model = Model {
        kind,
        cap,
        buf: VecDeque::new(),
        getters: VecDeque::new(),
        putters: VecDeque::new(),
        slots: vec![Slot::Empty; SLOTS],
        closed: false,
        unfinished: 0,
    };
    let wakers: Vec<FlagWaker> = (0..SLOTS).map(|_| FlagWaker::new()).collect();
    let mut futs: Vec<Option<Fut<'_, B>>> = (0..SLOTS).map(|_| None).collect();
    let mut next_id = 0u32;
    let mut fresh = |p: u8| {
        next_id += 1;
        (p, next_id)
    };
    for op in ops {
        match op {
            Op::PutNowait(p) => {
                let item = fresh(p);
                assert_eq!(q.put_nowait(item), model.try_put(item), "put_nowait");
            }
            Op::GetNowait => assert_eq!(q.get_nowait(), model.try_get(), "get_nowait"),
            Op::StartPut(s, p) if model.slots[s] == Slot::Empty => {
                let item = fresh(p);
                let mut fut = q.put(item);
                let got = wakers[s].poll(&mut fut);
                let want = model.start_put(s, item);
                assert_eq!(got.map(|r| r.map_err(Closed::into_inner)), want, "start put");
                if got.is_pending() {
                    futs[s] = Some(Fut::Put(fut));
                }
            }
            Op::StartGet(s) if model.slots[s] == Slot::Empty => {
                let mut fut = q.get();
                let got = wakers[s].poll(&mut fut);
                assert_eq!(got, model.start_get(s), "start get");
                if got.is_pending() {
                    futs[s] = Some(Fut::Get(fut));
                }
            }
            Op::Poll(s) => match (futs[s].as_mut(), model.slots[s].clone()) {
                (None, slot) => assert_eq!(slot, Slot::Empty),
                (Some(Fut::Get(fut)), slot) => {
                    let got = wakers[s].poll(fut);
                    let want = match slot {
                        Slot::GetWaiting => Poll::Pending,
                        Slot::GetHanded(Some(item)) => {
                            model.slots[s] = Slot::Empty;
                            Poll::Ready(Ok(item))
                        }
                        Slot::GetHanded(None) => {
                            model.slots[s] = Slot::Empty;
                            model.start_get(s)
                        }
                        other => panic!("get future in model slot {other:?}"),
                    };
                    assert_eq!(got, want, "poll get");
                    if got.is_ready() {
                        futs[s] = None;
                    }
                }
                (Some(Fut::Put(fut)), slot) => {
                    let got = wakers[s].poll(fut).map(|r| r.map_err(Closed::into_inner));
                    let want = match slot {
                        Slot::PutWaiting(_) => Poll::Pending,
                        Slot::PutDone(result) => {
                            model.slots[s] = Slot::Empty;
                            Poll::Ready(result)
                        }
                        other => panic!("put future in model slot {other:?}"),
                    };
                    assert_eq!(got, want, "poll put");
                    if got.is_ready() {
                        futs[s] = None;
                    }
                }
            },
            Op::Cancel(s) => {
                futs[s] = None;
                model.cancel(s);
            }
            Op::Close => {
                q.close();
                model.close();
            }
            Op::TaskDone => {
                let want = if model.unfinished == 0 {
                    false
                } else {
                    model.unfinished -= 1;
                    true
                };
                assert_eq!(q.task_done().is_ok(), want, "task_done");
            }
            Op::StartPut(..) | Op::StartGet(_) => {}
        }
        // The observable state matches.
        assert_eq!(q.qsize(), model.buf.len(), "qsize");
        assert_eq!(q.full(), model.buf.len() >= model.cap, "full");
        assert_eq!(q.peek(), model.peek(), "peek");
        assert_eq!(q.getters(), model.getters.len(), "getters");
        assert_eq!(q.putters(), model.putters.len(), "putters");
        assert_eq!(q.unfinished_tasks(), model.unfinished, "unfinished");
        assert_eq!(q.is_closed(), model.closed);
        // Every waiter that may proceed was woken: no lost wake-ups.
        for (s, slot) in model.slots.iter().enumerate() {
            if matches!(slot, Slot::GetHanded(_) | Slot::PutDone(_)) {
                assert!(wakers[s].woken(), "slot {s} is ready ({slot:?}) but was not woken");
            }
        }
    }
    // Cancel everything left, then both drain to the same items.
    for (s, fut) in futs.iter_mut().enumerate() {
        *fut = None;
        model.cancel(s);
    }
    let mut drained = Vec::new();
    while let Ok(item) = q.get_nowait() {
        drained.push(item);
    }
    let mut expected = Vec::new();
    while let Ok(item) = model.try_get() {
        expected.push(item);
    }
    assert_eq!(drained, expected, "drain");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn fifo_matches_model(cap in 0..4usize, ops in prop::collection::vec(op(), 1..60)) {
        run_case(Queue::new(cap), Kind::Fifo, if cap == 0 { usize::MAX } else { cap }, ops);
    }

    #[test]
    fn lifo_matches_model(cap in 0..4usize, ops in prop::collection::vec(op(), 1..60)) {
        run_case(LifoQueue::new(cap), Kind::Lifo, if cap == 0 { usize::MAX } else { cap }, ops);
    }

    #[test]
    fn priority_matches_model(cap in 0..4usize, ops in prop::collection::vec(op(), 1..60)) {
        run_case(PriorityQueue::new(cap), Kind::Priority, if cap == 0 { usize::MAX } else { cap }, ops);
    }

    #[test]
    fn channel_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        run_case(Channel::new(), Kind::Channel, 0, ops);
    }

    #[test]
    fn threadsafe_fifo_matches_model(cap in 0..4usize, ops in prop::collection::vec(op(), 1..60)) {
        ts::run(sprout::queue::threadsafe::Queue::new(cap), Kind::Fifo, if cap == 0 { usize::MAX } else { cap }, ops);
    }

    #[test]
    fn threadsafe_channel_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        ts::run(sprout::queue::threadsafe::Channel::new(), Kind::Channel, 0, ops);
    }
}

/// The thread-safe queues share the state machine and the futures with the
/// local ones, but reach the state through a mutex: the same driver as
/// `run_case`, for `threadsafe::BaseQueue`.
mod ts {
    use super::*;
    use sprout_runtime::queue::threadsafe::{BaseQueue, Get, Put};

    enum Fut<'a, B: Buffer<Item>> {
        Get(Get<'a, Item, B>),
        Put(Put<'a, Item, B>),
    }

    pub(crate) fn run<B: Buffer<Item>>(queue: BaseQueue<Item, B>, kind: Kind, cap: usize, ops: Vec<Op>) {
        let q = &queue;
        let mut model = Model {
            kind,
            cap,
            buf: VecDeque::new(),
            getters: VecDeque::new(),
            putters: VecDeque::new(),
            slots: vec![Slot::Empty; SLOTS],
            closed: false,
            unfinished: 0,
        };
        let wakers: Vec<FlagWaker> = (0..SLOTS).map(|_| FlagWaker::new()).collect();
        let mut futs: Vec<Option<Fut<'_, B>>> = (0..SLOTS).map(|_| None).collect();
        let mut next_id = 0u32;
        for op in ops {
            match op {
                Op::PutNowait(p) => {
                    next_id += 1;
                    assert_eq!(q.put_nowait((p, next_id)), model.try_put((p, next_id)));
                }
                Op::GetNowait => assert_eq!(q.get_nowait(), model.try_get()),
                Op::StartPut(s, p) if model.slots[s] == Slot::Empty => {
                    next_id += 1;
                    let mut fut = q.put((p, next_id));
                    let got = wakers[s].poll(&mut fut);
                    assert_eq!(got.map(|r| r.map_err(Closed::into_inner)), model.start_put(s, (p, next_id)));
                    if got.is_pending() {
                        futs[s] = Some(Fut::Put(fut));
                    }
                }
                Op::StartGet(s) if model.slots[s] == Slot::Empty => {
                    let mut fut = q.get();
                    let got = wakers[s].poll(&mut fut);
                    assert_eq!(got, model.start_get(s));
                    if got.is_pending() {
                        futs[s] = Some(Fut::Get(fut));
                    }
                }
                Op::Poll(s) => match (futs[s].as_mut(), model.slots[s].clone()) {
                    (None, slot) => assert_eq!(slot, Slot::Empty),
                    (Some(Fut::Get(fut)), slot) => {
                        let got = wakers[s].poll(fut);
                        let want = match slot {
                            Slot::GetWaiting => Poll::Pending,
                            Slot::GetHanded(Some(item)) => {
                                model.slots[s] = Slot::Empty;
                                Poll::Ready(Ok(item))
                            }
                            Slot::GetHanded(None) => {
                                model.slots[s] = Slot::Empty;
                                model.start_get(s)
                            }
                            other => panic!("get future in model slot {other:?}"),
                        };
                        assert_eq!(got, want);
                        if got.is_ready() {
                            futs[s] = None;
                        }
                    }
                    (Some(Fut::Put(fut)), slot) => {
                        let got = wakers[s].poll(fut).map(|r| r.map_err(Closed::into_inner));
                        let want = match slot {
                            Slot::PutWaiting(_) => Poll::Pending,
                            Slot::PutDone(result) => {
                                model.slots[s] = Slot::Empty;
                                Poll::Ready(result)
                            }
                            other => panic!("put future in model slot {other:?}"),
                        };
                        assert_eq!(got, want);
                        if got.is_ready() {
                            futs[s] = None;
                        }
                    }
                },
                Op::Cancel(s) => {
                    futs[s] = None;
                    model.cancel(s);
                }
                Op::Close => {
                    q.close();
                    model.close();
                }
                Op::TaskDone => {
                    let want = model.unfinished > 0;
                    if want {
                        model.unfinished -= 1;
                    }
                    assert_eq!(q.task_done().is_ok(), want);
                }
                Op::StartPut(..) | Op::StartGet(_) => {}
            }
            assert_eq!(q.qsize(), model.buf.len());
            assert_eq!(q.peek(), model.peek());
            assert_eq!(q.getters(), model.getters.len());
            assert_eq!(q.putters(), model.putters.len());
            assert_eq!(q.unfinished_tasks(), model.unfinished);
            for (s, slot) in model.slots.iter().enumerate() {
                if matches!(slot, Slot::GetHanded(_) | Slot::PutDone(_)) {
                    assert!(wakers[s].woken(), "slot {s} is ready ({slot:?}) but was not woken");
                }
            }
        }
        for (s, fut) in futs.iter_mut().enumerate() {
            *fut = None;
            model.cancel(s);
        }
        let mut drained = Vec::new();
        while let Ok(item) = q.get_nowait() {
            drained.push(item);
        }
        let mut expected = Vec::new();
        while let Ok(item) = model.try_get() {
            expected.push(item);
        }
        assert_eq!(drained, expected);
    }
}
