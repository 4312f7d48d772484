//! `ThreadPool::map` and `imap_unordered`: an iterator fed to the threads
//! in chunks, at most `2 × threads` chunks in flight.
//!
//! Both are one type, [`MapStream`], whose order parameter says how the
//! chunks in flight are kept: a `VecDeque` (input order) or a
//! `FuturesUnordered` (as they finish).
//!
//! Each chunk is one submission that runs `f` on its items, catching each
//! item's panic separately, so one bad item fails alone. Both streams are
//! `Stream`s for green tasks and `IntoIterator`s for plain threads; they
//! are not `Iterator`s themselves, so that `StreamExt::next` and
//! `Iterator::next` never clash.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::stream::{FuturesUnordered, StreamExt};

use super::thread_pool::PoolHandle;
use super::work::{WorkFuture, forbid_blocking};
use crate::task::JoinError;
use crate::task::coop;

type ItemFn<A, T> = Arc<dyn Fn(A) -> T + Send + Sync>;
type Results<T> = Vec<Result<T, JoinError>>;

/// Chunks in flight per pool thread: one running, one queued behind it,
/// so a thread never waits for the consumer to hand it more.
const CHUNKS_PER_THREAD: usize = 2;

/// Pulls items in chunks and submits them.
struct Feeder<I: Iterator, T> {
    pool: PoolHandle,
    /// `None` once exhausted.
    items: Option<I>,
    f: ItemFn<I::Item, T>,
    chunksize: usize,
    window: usize,
}

impl<I, T> Feeder<I, T>
where
    I: Iterator,
    I::Item: Send + 'static,
    T: Send + 'static,
{
    fn new(pool: PoolHandle, f: ItemFn<I::Item, T>, items: I) -> Feeder<I, T> {
        let window = pool.threads().saturating_mul(CHUNKS_PER_THREAD);
        Feeder { pool, items: Some(items), f, chunksize: 1, window }
    }

    /// The next chunk's submission, or `None` once the items run out.
    fn next_chunk(&mut self) -> Option<Chunk<T>> {
        let items = self.items.as_mut()?;
        let chunk: Vec<I::Item> = items.by_ref().take(self.chunksize).collect();
        if chunk.is_empty() {
            self.items = None;
            return None;
        }
        let len = chunk.len();
        let f = self.f.clone();
        let work = self.pool.submit(move || {
            chunk
                .into_iter()
                .map(|item| catch_unwind(AssertUnwindSafe(|| f(item))).map_err(JoinError::panicked))
                .collect()
        });
        Some(Chunk { len, work })
    }
}

/// One chunk's results. A chunk that never ran (pool closed or broken)
/// gives its error once per item. (`pub` for the sealed `InFlight`, which
/// names it; it is not reachable from outside.)
pub struct Chunk<T> {
    len: usize,
    work: WorkFuture<Results<T>>,
}

impl<T> fmt::Debug for Chunk<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunk").field("len", &self.len).finish_non_exhaustive()
    }
}

impl<T> Future for Chunk<T> {
    type Output = Results<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Results<T>> {
        let len = self.len;
        Pin::new(&mut self.work).poll(cx).map(|result| match result {
            Ok(results) => results,
            Err(JoinError::Killed) => (0..len).map(|_| Err(JoinError::Killed)).collect(),
            Err(err) => {
                let message = err.panic_message().unwrap_or("Box<dyn Any>").to_owned();
                (0..len).map(|_| Err(JoinError::panicked(Box::new(message.clone())))).collect()
            }
        })
    }
}

mod sealed {
    use super::*;

    /// What an [`Order`](super::Order) is made of, in a supertrait users
    /// cannot name: not API.
    pub trait Sealed {
        /// The chunks in flight.
        type InFlight<T>: InFlight<T>;
        /// The name `Debug` and panic messages print.
        const NAME: &'static str;
    }

    /// The chunks in flight, kept in the order their results come out.
    pub trait InFlight<T>: Default {
        fn len(&self) -> usize;
        fn push(&mut self, chunk: Chunk<T>);
        /// The next chunk's results in this order; `None` when none is left.
        fn poll_next_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Results<T>>>;
    }
}

use sealed::InFlight;

/// The order in which a [`MapStream`] yields results: the marker of its
/// last type parameter, [`InOrder`] ([`Map`]) or [`AsFinished`]
/// ([`ImapUnordered`]).
pub trait Order: sealed::Sealed + 'static {}

/// Results in input order: a chunk's results wait for the chunks before it.
#[derive(Debug)]
pub struct InOrder {
    _private: (),
}

/// Results as their chunks finish.
#[derive(Debug)]
pub struct AsFinished {
    _private: (),
}

impl sealed::Sealed for InOrder {
    type InFlight<T> = VecDeque<Chunk<T>>;
    const NAME: &'static str = "Map";
}

impl sealed::Sealed for AsFinished {
    type InFlight<T> = FuturesUnordered<Chunk<T>>;
    const NAME: &'static str = "ImapUnordered";
}

impl Order for InOrder {}
impl Order for AsFinished {}

impl<T> InFlight<T> for VecDeque<Chunk<T>> {
    fn len(&self) -> usize {
        VecDeque::len(self)
    }

    fn push(&mut self, chunk: Chunk<T>) {
        self.push_back(chunk);
    }

    fn poll_next_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Results<T>>> {
        let Some(front) = self.front_mut() else { return Poll::Ready(None) };
        let results = std::task::ready!(Pin::new(front).poll(cx));
        self.pop_front();
        Poll::Ready(Some(results))
    }
}

impl<T> InFlight<T> for FuturesUnordered<Chunk<T>> {
    fn len(&self) -> usize {
        FuturesUnordered::len(self)
    }

    fn push(&mut self, chunk: Chunk<T>) {
        FuturesUnordered::push(self, chunk);
    }

    fn poll_next_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Results<T>>> {
        self.poll_next_unpin(cx)
    }
}

/// The stream returned by [`ThreadPool::map`](super::ThreadPool::map):
/// results in input order.
///
/// `.await` its items with `StreamExt::next` in a green task, or iterate it
/// (`for r in map`, `map.into_iter()`) on a plain thread, which blocks for
/// each result (and panics on a runtime thread). Dropping it drops the
/// results of chunks in flight; their work still runs.
pub type Map<I, T> = MapStream<I, T, InOrder>;

/// The stream returned by
/// [`ThreadPool::imap_unordered`](super::ThreadPool::imap_unordered):
/// results as they finish. See [`Map`] for how to consume it.
pub type ImapUnordered<I, T> = MapStream<I, T, AsFinished>;

/// The one type behind [`Map`] and [`ImapUnordered`], which differ only in
/// the order `O` of their results: feeds the items to the pool's threads
/// in chunks, at most two chunks per thread in flight, and yields each
/// item's result. Use those names.
#[must_use = "streams do nothing unless polled"]
pub struct MapStream<I: Iterator, T, O: Order> {
    feeder: Feeder<I, T>,
    in_flight: O::InFlight<T>,
    current: std::vec::IntoIter<Result<T, JoinError>>,
}

// Nothing is pinned structurally.
impl<I: Iterator, T, O: Order> Unpin for MapStream<I, T, O> {}

impl<I, T, O> MapStream<I, T, O>
where
    I: Iterator,
    I::Item: Send + 'static,
    T: Send + 'static,
    O: Order,
{
    pub(crate) fn new(pool: PoolHandle, f: ItemFn<I::Item, T>, items: I) -> MapStream<I, T, O> {
        MapStream {
            feeder: Feeder::new(pool, f, items),
            in_flight: Default::default(),
            current: Vec::new().into_iter(),
        }
    }

    /// Sends items to the threads `n` at a time (default 1), like
    /// `chunksize` in Python: bigger chunks cost fewer hand-overs when each
    /// item is quick. Set it before the first poll.
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn chunksize(mut self, n: usize) -> MapStream<I, T, O> {
        assert!(n > 0, "blocking::{}::chunksize: the chunk size must be at least 1", O::NAME);
        self.feeder.chunksize = n;
        self
    }
}

impl<I, T, O> Stream for MapStream<I, T, O>
where
    I: Iterator,
    I::Item: Send + 'static,
    T: Send + 'static,
    O: Order,
{
    type Item = Result<T, JoinError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        loop {
            if let Some(result) = this.current.next() {
                return Poll::Ready(Some(result));
            }
            while this.in_flight.len() < this.feeder.window {
                match this.feeder.next_chunk() {
                    Some(chunk) => this.in_flight.push(chunk),
                    None => break,
                }
            }
            match this.in_flight.poll_next_chunk(cx) {
                Poll::Ready(Some(results)) => this.current = results.into_iter(),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<I, T, O> IntoIterator for MapStream<I, T, O>
where
    I: Iterator,
    I::Item: Send + 'static,
    T: Send + 'static,
    O: Order,
{
    type Item = Result<T, JoinError>;
    type IntoIter = BlockingIter<MapStream<I, T, O>>;

    fn into_iter(self) -> BlockingIter<MapStream<I, T, O>> {
        BlockingIter(self)
    }
}

impl<I: Iterator, T, O: Order> fmt::Debug for MapStream<I, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(O::NAME)
            .field("chunksize", &self.feeder.chunksize)
            .field("chunks_in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

/// A result stream consumed from a plain thread: each `next` blocks until
/// the next result is in.
///
/// # Panics
/// `next` panics on a sprout runtime thread, where blocking would stall
/// every green task: consume the stream with `.await` there.
#[derive(Debug)]
pub struct BlockingIter<S>(S);

impl<S: Stream + Unpin> Iterator for BlockingIter<S> {
    type Item = S::Item;

    #[track_caller]
    fn next(&mut self) -> Option<S::Item> {
        forbid_blocking("iterating a thread-pool map");
        crate::park::block_on(self.0.next())
    }
}
