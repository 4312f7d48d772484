//! Seeded schedules: `Builder::seed` replays one interleaving per seed,
//! and `testing::check_seeds` finds a race that the default FIFO order
//! hides (docs/debugging.md, "Seeded schedules").

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

use sprout::testing::{check_seeds, check_seeds_with, run_test, run_test_with};
use sprout::{Runtime, sleep, spawn, yield_now};

/// The racy program: a box office with one ticket left. Customers arrive
/// one after another; each checks that a ticket is left, then records the
/// sale (an `await`: other tasks may run here), then takes the ticket. The
/// check and the act are not one step.
///
/// In FIFO order each customer finishes before the next one checks, and
/// the test passes. A schedule that lets the second customer check before
/// the first one takes the ticket sells it twice.
async fn box_office() {
    let left = Rc::new(Cell::new(1u32));
    let sold = Rc::new(Cell::new(0u32));
    let mut customers = Vec::new();
    for _ in 0..2 {
        let (left, sold) = (left.clone(), sold.clone());
        customers.push(spawn(async move {
            if left.get() > 0 {
                // check
                yield_now().await; // "record the sale"
                left.set(left.get().saturating_sub(1)); // act
                sold.set(sold.get() + 1);
            }
        }));
        yield_now().await; // the next customer arrives a moment later
    }
    for c in customers {
        c.await.unwrap();
    }
    assert_eq!(sold.get(), 1, "oversold: the last ticket went twice");
}

#[test]
fn the_race_passes_in_the_default_order() {
    for _ in 0..20 {
        run_test(box_office);
    }
}

#[test]
fn check_seeds_catches_the_race_and_names_a_seed_that_replays_it() {
    let failure = catch_unwind(AssertUnwindSafe(|| check_seeds(0..100, |_seed| box_office())))
        .expect_err("check_seeds must find the oversold ticket within 100 seeds");
    let message = failure.downcast_ref::<String>().expect("a message");
    println!("{message}");
    let seed: u64 = message
        .strip_prefix("sprout::testing::check_seeds: seed ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| panic!("the message names the seed: {message}"));
    assert!(seed < 100);
    assert!(message.contains("oversold: the last ticket went twice"), "{message}");
    assert!(message.contains(&format!("SPROUT_SEED={seed} cargo test")), "{message}");
    assert!(message.contains(&format!("#[sprout::test(seed = {seed})]")), "{message}");
    // The seed replays the failure, every time.
    for _ in 0..5 {
        let replay = catch_unwind(|| run_test_with(Runtime::builder().seed(seed), box_office));
        assert!(replay.is_err(), "seed {seed} must fail again");
    }
}

#[test]
fn a_correct_program_passes_every_seed() {
    check_seeds(0..100, |_| async {
        let left = Rc::new(Cell::new(1u32));
        let sold = Rc::new(Cell::new(0u32));
        let customers: Vec<_> = (0..4)
            .map(|_| {
                let (left, sold) = (left.clone(), sold.clone());
                spawn(async move {
                    // Check and act in one step: nothing can run between them.
                    if left.get() > 0 {
                        left.set(left.get() - 1);
                        yield_now().await;
                        sold.set(sold.get() + 1);
                    }
                })
            })
            .collect();
        for c in customers {
            c.await.unwrap();
        }
        assert_eq!(sold.get(), 1);
    });
}

/// Eight tasks, each yielding a few times, log `10 * task + step`: the
/// order in which they interleaved.
async fn eight_tasks_interleave() -> Vec<u32> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let log = log.clone();
            spawn(async move {
                for step in 0..3 {
                    log.borrow_mut().push(i * 10 + step);
                    yield_now().await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    log.take()
}

/// The interleaving on a runtime built by `builder`.
fn interleaving(builder: sprout::Builder) -> Vec<u32> {
    run_test_with(builder, eight_tasks_interleave)
}

/// The interleaving in FIFO order: every task's step 0, then every step 1...
fn fifo_order() -> Vec<u32> {
    (0..3).flat_map(|step| (0..8).map(move |i| i * 10 + step)).collect()
}

#[test]
fn the_same_seed_replays_the_same_interleaving() {
    let fifo = interleaving(Runtime::builder());
    assert_eq!(fifo, fifo_order(), "no seed: FIFO, unchanged");
    let a = interleaving(Runtime::builder().seed(7));
    assert_eq!(a, interleaving(Runtime::builder().seed(7)));
    assert_ne!(a, fifo);
    let distinct: std::collections::HashSet<_> = (0..20).map(|s| interleaving(Runtime::builder().seed(s))).collect();
    assert!(distinct.len() > 15, "20 seeds gave {} orders", distinct.len());
}

/// Seeds and paused time together: timers, sleeps and the order all come
/// from the seed, so even a run with timers replays exactly.
#[test]
fn seeded_and_paused_runs_replay_exactly() {
    let run = |seed| {
        run_test_with(Runtime::builder().start_paused(true).seed(seed), || async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let tasks: Vec<_> = (0..6u64)
                .map(|i| {
                    let log = log.clone();
                    spawn(async move {
                        for step in 0..3 {
                            sleep(Duration::from_millis(10 * (i % 3))).await;
                            log.borrow_mut().push((i, step, sprout::time::now()));
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            let start = log.borrow()[0].2;
            log.take()
                .into_iter()
                .map(|(i, step, at)| (i, step, at.saturating_duration_since(start)))
                .collect::<Vec<_>>()
        })
    };
    for seed in [1, 2, 3] {
        assert_eq!(run(seed), run(seed));
    }
}

#[test]
fn check_seeds_with_a_builder_keeps_its_settings() {
    let seeds = Rc::new(RefCell::new(Vec::new()));
    let s = seeds.clone();
    check_seeds_with(Runtime::builder().start_paused(true), 3..6, move |seed| {
        s.borrow_mut().push(seed);
        async {
            assert!(sprout::time::is_paused());
        }
    });
    if std::env::var_os(sprout::testing::SEED_VAR).is_none() {
        assert_eq!(*seeds.borrow(), [3, 4, 5]);
    }
}

#[test]
#[should_panic(expected = "the range of seeds is empty")]
fn an_empty_range_of_seeds_is_an_error() {
    #[allow(clippy::reversed_empty_ranges)]
    check_seeds(5..5, |_| async {});
}

/// `#[sprout::test(seed = 7)]` runs the body under seed 7's schedule: the
/// same interleaving as a runtime built with `.seed(7)` (computed on
/// another thread: one runtime per thread).
#[sprout::test(seed = 7)]
async fn the_attribute_sets_the_seed() {
    let expected = std::thread::spawn(|| interleaving(Runtime::builder().seed(7))).join().unwrap();
    assert_ne!(expected, fifo_order());
    assert_eq!(eight_tasks_interleave().await, expected);
}

/// A seeded, paused runtime still serves sockets: a loopback echo inside
/// an hour-long timeout completes.
#[sprout::test(paused, seed = 11)]
async fn a_seeded_paused_runtime_serves_sockets() {
    let listener = sprout::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut buf = [0; 5];
        stream.read_exact(&mut buf).await.unwrap();
        stream.write_all(&buf).await.unwrap();
    });
    let out = sprout::timeout(Duration::from_secs(3600), async {
        let client = sprout::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(b"hello").await.unwrap();
        let mut buf = [0; 5];
        client.read_exact(&mut buf).await.unwrap();
        buf
    })
    .await;
    assert_eq!(out.as_ref().map(|b| &b[..]), Ok(&b"hello"[..]));
    server.await.unwrap();
}
