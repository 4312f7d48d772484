//! `OnceCell` and `Lazy` on a real runtime: one initialiser for many
//! callers, and the next caller's turn when the running one fails, is
//! killed, times out or panics; the thread-safe ones between tasks and
//! threads.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sprout::sync::{Lazy, OnceCell};
use sprout::{joinall, sleep, spawn, yield_now};

/// Lets every spawned task run until it blocks.
async fn settle() {
    for _ in 0..4 {
        yield_now().await;
    }
}

/// Spawns a caller of `cell.get_or_init` whose initialiser counts its run
/// in `runs`, sleeps `nap` and returns `value`.
fn caller(cell: &Rc<OnceCell<u32>>, runs: &Rc<Cell<u32>>, nap: Duration, value: u32) -> sprout::JoinHandle<u32> {
    let (cell, runs) = (cell.clone(), runs.clone());
    spawn(async move {
        *cell
            .get_or_init(|| async move {
                runs.set(runs.get() + 1);
                sleep(nap).await;
                value
            })
            .await
    })
}

#[sprout::test(paused)]
async fn many_callers_one_initialiser() {
    let (cell, runs) = (Rc::new(OnceCell::new()), Rc::new(Cell::new(0)));
    let callers: Vec<_> = (0..10).map(|i| caller(&cell, &runs, Duration::from_millis(10), i)).collect();
    let values: Vec<u32> = joinall(callers).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(runs.get(), 1);
    assert_eq!(values, [0; 10], "everyone got the first caller's value");
}

#[sprout::test(paused)]
async fn a_killed_or_timed_out_initialiser_lets_the_next_caller_run() {
    let (cell, runs) = (Rc::new(OnceCell::new()), Rc::new(Cell::new(0)));
    let first = caller(&cell, &runs, Duration::from_secs(3600), 1);
    settle().await;
    let second = caller(&cell, &runs, Duration::from_millis(1), 2);
    let third = caller(&cell, &runs, Duration::from_millis(1), 3);
    settle().await;
    assert_eq!(cell.waiters(), 2);
    first.kill(); // the initialiser's task dies mid-run
    assert_eq!((second.await.unwrap(), third.await.unwrap()), (2, 2));
    assert_eq!(runs.get(), 2);
    // An outer time-out cancels an initialiser the same way.
    let cell: OnceCell<u32> = OnceCell::new();
    let slow = sprout::timeout(
        Duration::from_millis(5),
        cell.get_or_init(|| async {
            sleep(Duration::from_secs(3600)).await;
            0
        }),
    );
    assert!(slow.await.is_err());
    assert_eq!(cell.get_or_init(|| async { 4 }).await, &4);
}

#[sprout::test(paused)]
async fn a_failing_initialiser_reports_to_its_caller_and_the_next_one_tries() {
    let cell: Rc<OnceCell<u32>> = Rc::new(OnceCell::new());
    let failing = spawn({
        let cell = cell.clone();
        async move {
            cell.get_or_try_init(|| async {
                sleep(Duration::from_millis(1)).await;
                Err("refused")
            })
            .await
            .copied()
        }
    });
    settle().await;
    let next = spawn({
        let cell = cell.clone();
        async move { cell.get_or_try_init(|| async { Ok::<_, &str>(5) }).await.copied() }
    });
    assert_eq!(failing.await.unwrap(), Err("refused"));
    assert_eq!(next.await.unwrap(), Ok(5));
}

#[test]
fn a_panicking_initialiser_hands_over_to_the_next_caller() {
    sprout::run(async {
        let cell: Rc<OnceCell<u32>> = Rc::new(OnceCell::new());
        let panicking = spawn({
            let cell = cell.clone();
            async move {
                *cell
                    .get_or_init(|| async {
                        yield_now().await;
                        panic!("the initialiser failed loudly")
                    })
                    .await
            }
        });
        yield_now().await;
        let next = spawn({
            let cell = cell.clone();
            async move { *cell.get_or_init(|| async { 6 }).await }
        });
        let err = panicking.await.unwrap_err();
        assert!(err.panic_message().unwrap().contains("failed loudly"));
        assert_eq!(next.await.unwrap(), 6);
    });
}

#[sprout::test(paused)]
async fn lazy_runs_once_and_again_after_a_cancelled_run() {
    let runs = Rc::new(Cell::new(0));
    let lazy = Rc::new(Lazy::new({
        let runs = runs.clone();
        move || {
            runs.set(runs.get() + 1);
            let run = runs.get();
            async move {
                if run == 1 {
                    sleep(Duration::from_secs(3600)).await; // the first run is killed
                }
                run
            }
        }
    }));
    let force = |lazy: &Rc<Lazy<u32, _>>| {
        let lazy = lazy.clone();
        spawn(async move { *lazy.force().await })
    };
    let first = force(&lazy);
    settle().await;
    let readers: Vec<_> = (0..3).map(|_| force(&lazy)).collect();
    settle().await;
    first.kill();
    for r in joinall(readers).await {
        assert_eq!(r.unwrap(), 2, "the second run's value, for everyone");
    }
    assert_eq!(runs.get(), 2);
    assert_eq!((&*lazy).await, &2);
    assert_eq!(lazy.get(), Some(&2));
}

#[test]
fn thread_safe_cell_and_lazy_between_tasks_and_threads() {
    let runs = Arc::new(AtomicUsize::new(0));
    let cell: Arc<sprout::sync::threadsafe::OnceCell<usize>> = Arc::new(sprout::sync::threadsafe::OnceCell::new());
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let (cell, runs) = (cell.clone(), runs.clone());
            std::thread::spawn(move || {
                *cell.get_or_init_blocking(|| async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    i
                })
            })
        })
        .collect();
    let from_task = sprout::run({
        let (cell, runs) = (cell.clone(), runs.clone());
        async move {
            *cell
                .get_or_init(|| async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    99
                })
                .await
        }
    });
    let values: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(runs.load(Ordering::SeqCst), 1, "one initialiser ran, on a thread or in the task");
    assert!(values.iter().all(|&v| v == from_task));

    static CONFIG: sprout::sync::threadsafe::Lazy<String> = sprout::sync::threadsafe::Lazy::new(|| {
        Box::pin(async {
            sleep(Duration::from_millis(1)).await;
            "loaded".to_owned()
        })
    });
    // Forced first by a task (the sleep needs a runtime), then read from a thread.
    sprout::run(async { assert_eq!(CONFIG.force().await, "loaded") });
    let len = std::thread::spawn(|| CONFIG.get().map(String::len)).join().unwrap();
    assert_eq!(len, Some(6));
}
