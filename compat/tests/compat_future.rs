//! A future wrapped in `compat::Tokio` on sprout tasks: tokio's timers,
//! sockets and spawn work inside; sprout's loop keeps running; drops,
//! kills and panics leave nothing behind; other executors work too; a
//! runtime that shuts down fails its waiting futures instead of hanging.

mod support;

use std::time::Duration;

use sprout::compat::{CompatExt, THREAD_NAME, Tokio};
use sprout::net::TcpListener;
use support::{Drops, run};
use tokio::io::AsyncReadExt;
use tokio::runtime::Handle;

#[test]
fn tokio_timers_and_spawn_work_on_a_sprout_task() {
    run(async {
        let thread = async {
            tokio::time::sleep(Duration::from_millis(2)).await;
            tokio::spawn(async { std::thread::current().name().map(str::to_owned) }).await.unwrap()
        }
        .compat()
        .await;
        assert_eq!(thread.as_deref(), Some(THREAD_NAME), "tokio::spawn lands on the side runtime");
    });
}

#[test]
fn the_context_is_entered_only_while_the_wrapped_value_runs() {
    run(async {
        assert!(Handle::try_current().is_err());
        let inside = Tokio::new(async {
            let before = Handle::try_current().is_ok();
            tokio::task::yield_now().await; // across a Pending too
            before && Handle::try_current().is_ok()
        })
        .await;
        assert!(inside);
        assert!(Handle::try_current().is_err(), "left after the poll");
    });
}

#[test]
fn sprout_tasks_run_while_a_bridged_future_waits() {
    // The bridged future reads from a tokio socket whose peer is a sprout
    // task on the same thread: it completes only if sprout's loop runs
    // while it waits.
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = sprout::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            sprout::sleep(Duration::from_millis(5)).await;
            stream.write_all(b"from a sprout task").await.unwrap();
        });
        let reply = async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut reply = String::new();
            stream.read_to_string(&mut reply).await.unwrap();
            reply
        }
        .compat()
        .await;
        assert_eq!(reply, "from a sprout task");
        server.await.unwrap();
    });
}

#[test]
fn a_sprout_task_wakes_a_bridged_future_through_a_tokio_channel() {
    run(async {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let waiter = sprout::spawn(rx.compat());
        sprout::sleep(Duration::from_millis(1)).await;
        tx.send("sent from sprout").unwrap();
        assert_eq!(waiter.await.unwrap().unwrap(), "sent from sprout");
    });
}

/// A value whose destructor needs tokio, as a connection pool's does when
/// it hands a connection back with `tokio::spawn`.
struct SpawnsOnDrop(Option<tokio::sync::oneshot::Sender<&'static str>>);

impl Drop for SpawnsOnDrop {
    fn drop(&mut self) {
        let tx = self.0.take().unwrap();
        tokio::spawn(async move { tx.send("spawned from a destructor").unwrap() });
    }
}

#[test]
fn a_killed_task_drops_its_bridged_future_inside_the_context() {
    run(async {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let task = sprout::spawn(
            async move {
                let _pool = SpawnsOnDrop(Some(tx));
                started_tx.send(()).unwrap();
                std::future::pending::<()>().await;
            }
            .compat(),
        );
        started.compat().await.unwrap();
        task.kill(); // drops the future here, on this thread, outside any poll
        assert_eq!(rx.compat().await.unwrap(), "spawned from a destructor");
        assert!(task.await.unwrap_err().is_killed());
    });
}

#[test]
fn a_killed_task_releases_its_tokio_socket_and_timer() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let drops = Drops::default();
        let guard = drops.guard();
        let client = sprout::spawn(
            async move {
                let _guard = guard;
                let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                let mut byte = [0u8];
                tokio::select! {
                    _ = stream.read(&mut byte) => unreachable!("the server never writes"),
                    _ = tokio::time::sleep(Duration::from_secs(3600)) => unreachable!("an hour"),
                }
            }
            .compat(),
        );
        let (server_side, _) = listener.accept().await.unwrap();
        client.kill();
        assert_eq!(drops.count(), 1, "the future's values are dropped by the kill");
        // The tokio socket was closed with it: the server reads end of file.
        let mut buf = [0u8; 8];
        assert_eq!(server_side.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn a_tokio_task_that_panics_fails_its_join_handle_and_the_side_runtime_goes_on() {
    run(async {
        let joined = async { tokio::spawn(async { panic!("a tokio task panics") }).await }.compat().await;
        let err = joined.unwrap_err();
        assert!(err.is_panic(), "{err}");
        // The side runtime still runs tasks, sockets and timers.
        let after = async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            tokio::spawn(async { 7 }).await.unwrap()
        }
        .compat()
        .await;
        assert_eq!(after, 7);
    });
}

#[test]
fn a_bridged_future_that_panics_fails_its_sprout_task_and_leaves_the_context() {
    run(async {
        let task = sprout::spawn(
            async {
                tokio::task::yield_now().await;
                panic!("a bridged future panics");
            }
            .compat(),
        );
        let err = task.await.unwrap_err();
        assert_eq!(err.panic_message(), Some("a bridged future panics"));
        assert!(Handle::try_current().is_err(), "the context was left as the panic unwound");
        assert_eq!(async { tokio::spawn(async { 1 }).await.unwrap() }.compat().await, 1);
    });
}

#[test]
fn bridged_futures_work_under_any_executor_and_on_any_thread() {
    let work = || async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        tokio::spawn(async { "done" }).await.unwrap()
    };
    // No sprout runtime at all: futures' own executor.
    assert_eq!(futures::executor::block_on(work().compat()), "done");
    // Another thread, another executor.
    let other = std::thread::spawn(move || futures::executor::block_on(work().compat()));
    assert_eq!(other.join().unwrap(), "done");
}

#[test]
fn with_handle_enters_the_given_runtime() {
    let mine = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("my-tokio")
        .enable_all()
        .build()
        .unwrap();
    let handle = mine.handle().clone();
    run(async move {
        let thread = Tokio::with_handle(
            async { tokio::spawn(async { std::thread::current().name().map(str::to_owned) }).await.unwrap() },
            handle,
        )
        .await;
        assert_eq!(thread.as_deref(), Some("my-tokio"));
    });
}

#[test]
fn a_runtime_that_shuts_down_fails_the_futures_waiting_on_it() {
    let mine = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let handle = mine.handle().clone();
    run(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = sprout::spawn(Tokio::with_handle(
            async move {
                let mut stream = tokio::net::TcpStream::connect(addr).await?;
                let mut byte = [0u8];
                stream.read(&mut byte).await
            },
            handle.clone(),
        ));
        let sleeper = sprout::spawn(Tokio::with_handle(
            async { tokio::time::sleep(Duration::from_secs(3600)).await },
            handle.clone(),
        ));
        let spawner = sprout::spawn(Tokio::with_handle(
            async { tokio::spawn(std::future::pending::<()>()).await },
            handle.clone(),
        ));
        let (_server_side, _) = listener.accept().await.unwrap();
        sprout::sleep(Duration::from_millis(5)).await; // let them reach their waits
        mine.shutdown_background();
        // The socket's read fails, the timer panics (tokio's rule), the
        // spawned task is cancelled: each task ends, none hangs.
        let read = reader.await.unwrap();
        assert!(read.is_err(), "{read:?}");
        let slept = sleeper.await.unwrap_err();
        assert!(slept.is_panic(), "{slept}");
        let spawned = spawner.await.unwrap().unwrap_err();
        assert!(spawned.is_cancelled(), "{spawned}");
    });
}

#[test]
fn the_deadlock_report_counts_a_bridged_wait_as_one_that_can_end() {
    // No sprout timer, socket or thread-safe primitive anywhere: only the
    // side runtime can wake the loop. The deadlock check (on by default)
    // must see the wakers tokio holds as a way out, and wait.
    sprout::run(async {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let waiter = sprout::spawn(rx.compat());
        async move {
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                tx.send("woken from the side runtime").unwrap();
            });
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        .compat()
        .await;
        assert_eq!(waiter.await.unwrap().unwrap(), "woken from the side runtime");
    });
}
