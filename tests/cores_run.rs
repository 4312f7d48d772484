//! `sprout::cores`: ids, cross-core spawns and channels, failures.

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sprout::cores::{self, CoreError};

#[test]
fn every_core_runs_its_future_on_its_own_thread() {
    let out = cores::run(3, |core| async move {
        // A future may hold non-Send state: it is built on its core.
        let local = Rc::new(core.id());
        sprout::sleep(Duration::from_millis(1)).await;
        let me = cores::Core::current().expect("a core thread knows its core");
        Ok::<_, std::io::Error>((*local, me.id(), core.count(), std::thread::current().name().map(str::to_owned)))
    })
    .unwrap();
    assert_eq!(out.len(), 3);
    for (i, (id, current, count, name)) in out.into_iter().enumerate() {
        assert_eq!((id, current, count), (i, i, 3));
        assert_eq!(name.as_deref(), Some(format!("sprout-core-{i}").as_str()));
    }
    assert!(cores::Core::current().is_none(), "the calling thread is no core");
}

#[test]
fn a_count_of_zero_means_one_core_per_cpu() {
    let counts = cores::run(0, |core| async move { Ok::<_, ()>(core.count()) }).unwrap();
    assert_eq!(counts.len(), cores::available());
}

#[test]
fn tasks_spawned_on_another_core_run_there_and_return() {
    let out = cores::run(2, |core| async move {
        let other = (core.id() + 1) % 2;
        let mut sum = 0;
        for i in 0..200u64 {
            let (id, thread) = core
                .handle(other)
                .spawn(async move { (cores::Core::current().unwrap().id(), std::thread::current().id()) })
                .await
                .unwrap();
            assert_eq!(id, other);
            assert_ne!(thread, std::thread::current().id());
            sum += i;
        }
        Ok::<_, ()>(sum)
    })
    .unwrap();
    assert_eq!(out, [19_900, 19_900]);
}

#[test]
fn a_channel_carries_round_trips_between_two_cores() {
    const ROUNDS: u32 = 2_000;
    let (ping_tx, ping_rx) = cores::channel::<u32>(1);
    let (pong_tx, pong_rx) = cores::channel::<u32>(1);
    let out = cores::run(2, move |core| {
        let (ping_tx, ping_rx, pong_tx, pong_rx) = (ping_tx.clone(), ping_rx.clone(), pong_tx.clone(), pong_rx.clone());
        async move {
            if core.id() == 0 {
                for i in 0..ROUNDS {
                    ping_tx.send(i).await.unwrap();
                    assert_eq!(pong_rx.recv().await, Some(i + 1));
                }
            } else {
                for _ in 0..ROUNDS {
                    let i = ping_rx.recv().await.unwrap();
                    pong_tx.send(i + 1).await.unwrap();
                }
            }
            Ok::<_, ()>(core.id())
        }
    });
    assert_eq!(out.unwrap(), [0, 1]);
}

#[test]
fn a_full_channel_makes_the_sender_wait_without_blocking_its_core() {
    let (tx, rx) = cores::channel::<u32>(2);
    let out = cores::run(2, move |core| {
        let (tx, rx) = (tx.clone(), rx.clone());
        async move {
            if core.id() == 0 {
                // While the sender waits for room, another task on its core runs.
                let ticks = Rc::new(std::cell::Cell::new(0));
                let ticker = sprout::spawn({
                    let ticks = ticks.clone();
                    async move {
                        loop {
                            sprout::sleep(Duration::from_millis(1)).await;
                            ticks.set(ticks.get() + 1);
                        }
                    }
                });
                for i in 0..10 {
                    tx.send(i).await.unwrap();
                }
                ticker.kill();
                Ok(ticks.get())
            } else {
                sprout::sleep(Duration::from_millis(30)).await;
                let mut got = Vec::new();
                for _ in 0..10 {
                    got.push(rx.recv().await.unwrap());
                }
                assert_eq!(got, (0..10).collect::<Vec<_>>());
                Ok::<_, ()>(0)
            }
        }
    })
    .unwrap();
    assert!(out[0] > 5, "the sender's core went on running its other tasks ({} ticks)", out[0]);
}

#[test]
fn a_panic_on_one_core_is_reported_and_stops_the_others() {
    let stopped = Arc::new(AtomicUsize::new(0));
    let seen = stopped.clone();
    let result = cores::run(3, move |core| {
        let seen = seen.clone();
        async move {
            if core.id() == 2 {
                sprout::sleep(Duration::from_millis(5)).await;
                panic!("core two broke");
            }
            // The others would run forever; the panic stops them.
            struct Count(Arc<AtomicUsize>);
            impl Drop for Count {
                fn drop(&mut self) {
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
            let _count = Count(seen);
            std::future::pending::<()>().await;
        }
    });
    let error = result.unwrap_err();
    assert!(error.is_panic());
    assert_eq!(error.core(), 2);
    assert_eq!(error.panic_message(), Some("core two broke"));
    assert_eq!(error.to_string(), "core 2 panicked: core two broke");
    assert_eq!(stopped.load(Ordering::SeqCst), 2, "both other futures were dropped");
}

#[test]
fn an_error_on_one_core_is_returned_and_stops_the_others() {
    let result = cores::run(2, |core| async move {
        if core.id() == 0 {
            return Err(std::io::Error::other("no database"));
        }
        // A task that is not the core's future is killed with its runtime.
        sprout::spawn(std::future::pending::<()>());
        sprout::sleep(Duration::from_secs(3600)).await;
        Ok(())
    });
    match result {
        Err(CoreError::Failed { core: 0, error }) => assert_eq!(error.to_string(), "no database"),
        other => panic!("expected core 0's error, got {other:?}"),
    }
}

#[test]
fn a_task_panic_fails_its_core_under_the_propagate_policy() {
    let result = cores::Builder::new()
        .count(2)
        .runtime(sprout::Runtime::builder().on_unjoined_panic(sprout::PanicPolicy::Propagate))
        .run(|core| async move {
            if core.id() == 1 {
                drop(sprout::spawn(async { panic!("a task on core 1") }));
            }
            std::future::pending::<()>().await;
        });
    let error = result.unwrap_err();
    assert_eq!((error.core(), error.panic_message()), (1, Some("a task on core 1")));
}

#[test]
fn a_core_that_finishes_early_still_serves_the_others() {
    // Core 1 is done at once; core 0 then spawns on it, which must still work.
    let out = cores::run(2, |core| async move {
        if core.id() == 0 {
            sprout::sleep(Duration::from_millis(20)).await;
            let v = core.handle(1).spawn(async { 7 }).await.unwrap();
            return Ok::<_, ()>(v);
        }
        Ok(1)
    })
    .unwrap();
    assert_eq!(out, [7, 1]);
}

#[test]
fn running_cores_can_be_stopped_and_joined_from_a_green_task() {
    sprout::run(async {
        let running = cores::Builder::new().count(2).spawn(|_| std::future::pending::<()>()).unwrap();
        assert_eq!(running.cores().count(), 2);
        let v = running.cores().handle(0).spawn(async { 5 }).await.unwrap();
        assert_eq!(v, 5);
        assert!(!running.is_finished());
        running.stop();
        let error = running.join().await.unwrap_err();
        assert!(matches!(error, CoreError::Stopped { core: 0 }), "{error:?}");
    });
}

#[cfg(target_os = "linux")]
#[test]
fn pinned_cores_each_run_on_one_cpu() {
    fn allowed() -> Vec<usize> {
        // SAFETY: a zeroed cpu_set_t is the empty set; the call fills it.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is valid for the size passed; pid 0 is this thread.
        assert_eq!(unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) }, 0);
        // SAFETY: CPU_ISSET reads one bit of a valid set.
        (0..libc::CPU_SETSIZE as usize).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).collect()
    }
    let cpus = allowed();
    let out = cores::Builder::new().count(2).pin(true).run(|_| async { Ok::<_, ()>(allowed()) }).unwrap();
    for (i, seen) in out.into_iter().enumerate() {
        assert_eq!(seen, [cpus[i % cpus.len()]]);
    }
}

#[test]
fn a_set_started_beside_a_runtime_makes_it_core_0() {
    sprout::run(async {
        assert!(cores::Core::current().is_none());
        let running = cores::Builder::new()
            .count(3)
            .thread_name("beside")
            .spawn_beside(|core| async move {
                let me = cores::Core::current().unwrap();
                // Core 0 is the runtime that started the set: reach it.
                let from_0 = core.handle(0).spawn(async { cores::Core::current().map(|c| c.id()) }).await.unwrap();
                Ok::<_, ()>((me.id(), me.count(), std::thread::current().name().map(str::to_owned), from_0))
            })
            .unwrap();
        let me = cores::Core::current().expect("the lead is core 0 while the set runs");
        assert_eq!((me.id(), me.count()), (0, 3));
        let out = running.join().await.unwrap();
        assert_eq!(
            out,
            [(1, 3, Some("beside-1".into()), Some(0)), (2, 3, Some("beside-2".into()), Some(0))],
            "cores 1 and 2, in order"
        );
        assert!(cores::Core::current().is_none(), "joined: the lead is no core any more");
        // A set of one beside a runtime starts no thread.
        let alone = cores::Builder::new().count(1).spawn_beside(|_| async { Ok::<(), ()>(()) }).unwrap();
        assert_eq!(cores::Core::current().map(|c| c.count()), Some(1));
        assert_eq!(alone.join().await.unwrap(), []);
    });
}

#[test]
fn dropping_a_set_started_beside_gives_back_the_leads_previous_core() {
    // On a core of one set, a set started beside it takes over
    // `Core::current()` while it runs, then gives it back.
    let out = cores::run(1, |outer| async move {
        let inner = cores::Builder::new().count(2).spawn_beside(|_| std::future::pending::<()>()).unwrap();
        let during = cores::Core::current().map(|c| (c.id(), c.count()));
        drop(inner);
        let after = cores::Core::current().map(|c| (c.id(), c.count()));
        Ok::<_, ()>((during, after, outer.count()))
    })
    .unwrap();
    assert_eq!(out, [(Some((0, 2)), Some((0, 1)), 1)]);
}

#[test]
#[should_panic(expected = "outside a sprout runtime")]
fn spawn_beside_outside_a_runtime_is_refused() {
    let _ = cores::Builder::new().count(2).spawn_beside(|_| async { Ok::<(), ()>(()) });
}
