//! `map`, `imap`, `imap_unordered` and `starmap` on Group and Pool: order,
//! the in-flight bound on endless iterators, errors, and cleanup.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use futures::StreamExt;
use sprout::JoinError;
use sprout::pool::{Group, Pool};

/// Counts items taken from an iterator and items finished, and records the
/// most ever in flight between the two.
#[derive(Default)]
struct Flight {
    pulled: Cell<usize>,
    finished: Cell<usize>,
    max: Cell<usize>,
}

impl Flight {
    fn pull(&self) {
        self.pulled.set(self.pulled.get() + 1);
        let now = self.pulled.get() - self.finished.get();
        self.max.set(self.max.get().max(now));
    }

    fn finish(&self) {
        self.finished.set(self.finished.get() + 1);
    }
}

/// A deterministic, uneven delay in whole milliseconds (0..=3).
fn jitter(i: u64) -> Duration {
    Duration::from_millis((i * 7 + 3) % 4)
}

#[sprout::test]
async fn map_returns_input_order_whatever_the_finish_order() {
    let pool = Pool::new(4);
    let out = pool
        .map(
            |i: u64| async move {
                sprout::sleep(jitter(i)).await;
                i * 10
            },
            0..20,
        )
        .await;
    let out: Vec<u64> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!(out, (0..20).map(|i| i * 10).collect::<Vec<_>>());
    // The group version, unbounded.
    let out = Group::new().map(|i: u64| async move { i + 1 }, vec![5, 6, 7]).await;
    assert_eq!(out.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [6, 7, 8]);
}

#[sprout::test]
async fn imap_is_in_input_order_and_imap_unordered_in_completion_order() {
    let pool = Pool::new(3);
    let delays = [30u64, 10, 20];
    let nap = |ms: u64| async move {
        sprout::sleep(Duration::from_millis(ms)).await;
        ms
    };
    let ordered: Vec<u64> = pool.imap(nap, delays).map(Result::unwrap).collect().await;
    assert_eq!(ordered, delays);
    let unordered: Vec<u64> = pool.imap_unordered(nap, delays).map(Result::unwrap).collect().await;
    assert_eq!(unordered, [10, 20, 30]);
}

#[test]
fn starmap_spreads_tuples_over_arguments() {
    async fn power(base: u64, exp: u32) -> u64 {
        base.pow(exp)
    }
    sprout::run(async {
        let out = Pool::new(2).starmap(power, [(2, 10), (3, 3), (10, 0)]).await;
        assert_eq!(out.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [1024, 27, 1]);
    });
}

/// The bound that keeps memory flat: a lazy iterator of ten million items,
/// of which never more than `size` are taken and unfinished. The stream is
/// consumed for a while and then dropped; if `imap` read the iterator
/// eagerly, `pulled` would show it.
#[test]
fn imap_on_ten_million_lazy_items_keeps_at_most_size_in_flight() {
    const SIZE: usize = 8;
    const CONSUMED: usize = 20_000;
    sprout::run(async {
        let pool = Pool::new(SIZE);
        let flight = Rc::new(Flight::default());
        let items = {
            let flight = flight.clone();
            (0..10_000_000u64).inspect(move |_| flight.pull())
        };
        let stream = pool.imap(
            |i: u64| {
                let flight = flight.clone();
                async move {
                    if i.is_multiple_of(3) {
                        sprout::yield_now().await;
                    }
                    flight.finish();
                    i
                }
            },
            items,
        );
        let mut stream = stream.take(CONSUMED);
        let mut expected = 0;
        while let Some(item) = stream.next().await {
            assert_eq!(item.unwrap(), expected);
            expected += 1;
        }
        assert_eq!(expected, CONSUMED as u64);
        assert!(flight.max.get() <= SIZE, "{} items in flight, size {SIZE}", flight.max.get());
        assert!(flight.max.get() >= 2, "the pool never ran items concurrently");
        assert!(flight.pulled.get() <= CONSUMED + SIZE, "the iterator was read ahead: {}", flight.pulled.get());
        drop(stream);
        // Dropping the stream killed what it had started.
        assert!(pool.is_empty());
        assert_eq!(pool.free_count(), SIZE);
    });
}

#[test]
fn imap_unordered_and_map_respect_the_bound_too() {
    const SIZE: usize = 5;
    sprout::run(async {
        let pool = Pool::new(SIZE);
        let flight = Rc::new(Flight::default());
        let work = |flight: Rc<Flight>| {
            move |i: u64| {
                let flight = flight.clone();
                async move {
                    sprout::sleep(jitter(i)).await;
                    flight.finish();
                    i
                }
            }
        };
        let items = {
            let flight = flight.clone();
            (0..1_000_000u64).inspect(move |_| flight.pull())
        };
        let firsts: Vec<u64> =
            pool.imap_unordered(work(flight.clone()), items).take(300).map(Result::unwrap).collect().await;
        assert_eq!(firsts.len(), 300);
        assert!(flight.max.get() <= SIZE);
        assert!(flight.pulled.get() <= 300 + SIZE);

        let flight = Rc::new(Flight::default());
        let items = {
            let flight = flight.clone();
            (0..300u64).inspect(move |_| flight.pull())
        };
        let all = pool.map(work(flight.clone()), items).await;
        assert_eq!(all.len(), 300);
        assert!(flight.max.get() <= SIZE);
        assert_eq!(flight.finished.get(), 300);
    });
}

#[sprout::test]
async fn a_panicking_item_fails_alone_and_the_pool_goes_on() {
    let pool = Pool::new(2);
    let out = pool
        .map(
            |i: u32| async move {
                sprout::yield_now().await;
                if i == 2 {
                    panic!("item {i} is bad");
                }
                i
            },
            0..5,
        )
        .await;
    assert_eq!(out.len(), 5);
    for (i, r) in out.iter().enumerate() {
        match r {
            Ok(v) => assert_eq!(*v as usize, i),
            Err(e) => {
                assert_eq!(i, 2);
                assert_eq!(e.panic_message(), Some("item 2 is bad"));
            }
        }
    }
    assert!(out[2].is_err());
    // Streams carry the panic too, and the pool still works.
    let mut s = pool.imap(|i: u32| async move { if i == 0 { panic!("first") } else { i } }, 0..2);
    assert!(s.next().await.unwrap().unwrap_err().is_panic());
    assert_eq!(s.next().await.unwrap().unwrap(), 1);
    assert!(s.next().await.is_none());
    assert_eq!(pool.apply(async { 7 }).await.unwrap(), 7);
}

#[sprout::test]
async fn killed_items_yield_killed_and_closed_pools_run_nothing_new() {
    let pool = Pool::new(2);
    let started = Rc::new(Cell::new(0));
    let stream = pool.imap(
        {
            let started = started.clone();
            move |i: u32| {
                started.set(started.get() + 1);
                async move {
                    std::future::pending::<()>().await;
                    i
                }
            }
        },
        0..5,
    );
    let collector = sprout::spawn(stream.collect::<Vec<_>>());
    sprout::sleep(Duration::from_millis(2)).await;
    assert_eq!(started.get(), 2);
    // terminate = close + kill: the two running items die; the other
    // three are never started, and each still yields one result.
    pool.terminate();
    let results = collector.await.unwrap();
    assert_eq!(results.len(), 5);
    assert!(results.iter().all(|r| matches!(r, Err(JoinError::Killed))));
    assert_eq!(started.get(), 2);
    assert!(pool.is_empty());
}

#[sprout::test]
async fn dropping_a_map_future_kills_its_items() {
    let pool = Pool::new(3);
    let dropped = Rc::new(Cell::new(0));
    struct Bump(Rc<Cell<u32>>);
    impl Drop for Bump {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let timed_out = sprout::timeout(
        Duration::from_millis(5),
        pool.map(
            |_| {
                let bump = Bump(dropped.clone());
                async move {
                    let _bump = bump;
                    std::future::pending::<()>().await
                }
            },
            0..10,
        ),
    )
    .await;
    assert!(timed_out.is_err());
    assert_eq!(dropped.get(), 3, "the three running items were dropped with the map");
    assert!(pool.is_empty());
    assert_eq!(pool.free_count(), 3);
}

#[sprout::test]
async fn a_panicking_closure_or_iterator_leaks_no_slot() {
    let pool = Pool::new(2);
    let consumer = sprout::spawn({
        let pool = pool.clone();
        async move {
            let f = |i: u32| {
                if i == 3 {
                    panic!("f fails on {i}");
                }
                async move {
                    sprout::sleep(Duration::from_millis(1)).await;
                    i
                }
            };
            pool.map(f, 0..10).await
        }
    });
    assert_eq!(consumer.await.unwrap_err().panic_message(), Some("f fails on 3"));
    assert!(pool.is_empty());
    assert_eq!(pool.free_count(), 2);

    let consumer = sprout::spawn({
        let pool = pool.clone();
        async move {
            let items = (0..10u32).map(|i| if i == 4 { panic!("the iterator fails") } else { i });
            pool.imap_unordered(|i| async move { i }, items).collect::<Vec<_>>().await
        }
    });
    assert!(consumer.await.unwrap_err().is_panic());
    assert!(pool.is_empty());
    assert_eq!(pool.free_count(), 2);
}

/// All ten million items, start to end: too slow for a debug build, so run
/// it with `cargo test --release --test pool_map -- --ignored`. The
/// resident-memory figure for the same run is in `benches/pools.rs`
/// (`imap_10m_rss`).
#[test]
#[ignore = "ten million items: run with --release -- --ignored"]
fn imap_runs_ten_million_items_with_at_most_size_in_flight() {
    const SIZE: usize = 64;
    const ITEMS: u64 = 10_000_000;
    sprout::run(async {
        let pool = Pool::new(SIZE);
        let flight = Rc::new(Flight::default());
        let items = {
            let flight = flight.clone();
            (0..ITEMS).inspect(move |_| flight.pull())
        };
        let work = {
            let flight = flight.clone();
            move |i: u64| {
                let flight = flight.clone();
                async move {
                    if i.is_multiple_of(2) {
                        sprout::yield_now().await;
                    }
                    flight.finish();
                    i
                }
            }
        };
        let mut stream = pool.imap(work, items);
        let mut expected = 0;
        while let Some(item) = stream.next().await {
            assert_eq!(item.unwrap(), expected);
            expected += 1;
        }
        assert_eq!(expected, ITEMS);
        assert!(flight.max.get() <= SIZE, "{} in flight", flight.max.get());
        assert_eq!(flight.finished.get(), ITEMS as usize);
    });
}
