//! The `tracing` feature on the runtime (docs/debugging.md, "tracing"):
//! each task's span, entered on every poll and exited after; the current
//! span carried into a spawn; the standard `tracing::Instrument` on sprout
//! futures; the runtime's reports (a blocking poll, a task's panic nobody
//! joined, a deadlock, a server's failed handler) as events; and with no
//! subscriber, nothing changes, reports still reaching stderr.
//!
//! Each test installs a recording layer for its own thread
//! (`support::trace`), so the tests run side by side.

mod support;

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::Command;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use sprout::net::{StreamServer, TcpStream};
use sprout::sync::Event;
use sprout::{Runtime, scope, spawn, task, yield_now};
use support::trace::Recorder;
use tracing::{Instrument, Level, Span};

const HERE: &str = "tests/trace_runtime.rs";

/// The name of the current span, if any.
fn current_span_name() -> Option<&'static str> {
    Span::current().metadata().map(|m| m.name())
}

#[test]
fn a_tasks_span_is_entered_on_every_poll_and_exited_after() {
    let (recorder, _guard) = Recorder::install();
    let seen_inside = Rc::new(Cell::new(0));
    let id = sprout::run({
        let seen_inside = seen_inside.clone();
        async move {
            let worker = task::Builder::new().name("worker").spawn(async move {
                for _ in 0..4 {
                    if current_span_name() == Some("task") {
                        seen_inside.set(seen_inside.get() + 1);
                    }
                    tracing::info!("polled");
                    yield_now().await;
                }
            });
            let id = worker.id();
            // Between the worker's polls, main is in no span.
            for _ in 0..3 {
                yield_now().await;
                assert_eq!(current_span_name(), None);
            }
            worker.await.unwrap();
            id
        }
    });
    // Four loop rounds, each in its own poll, and a fifth poll that ends it.
    assert_eq!(seen_inside.get(), 4);
    let log = recorder.log();
    let spans = log.spans_named("task");
    assert_eq!(spans.len(), 1, "{log:?}");
    let (index, span) = spans[0];
    assert_eq!(span.target, "sprout::task");
    assert_eq!(span.fields["task.id"], id.as_u64().to_string());
    assert_eq!(span.fields["task.name"], "worker");
    assert!(span.fields["spawned_at"].starts_with(HERE), "{:?}", span.fields);
    assert_eq!(span.parent, None, "spawned from main, in no span");
    assert_eq!(span.enters, 5, "one enter per poll");
    assert_eq!(span.exits, 5, "every enter exited");
    assert!(span.closed, "the span closes when the task completes");
    let polled: Vec<_> = log.events.iter().filter(|e| e.field("message") == Some("polled")).collect();
    assert_eq!(polled.len(), 4);
    assert!(polled.iter().all(|e| e.scope == [index]), "each event inside the task's span");
}

#[test]
fn a_child_spawned_inside_a_span_has_it_as_parent() {
    let (recorder, _guard) = Recorder::install();
    sprout::run(async {
        let request = tracing::info_span!("request", n = 7);
        let child = request.in_scope(|| {
            task::Builder::new().name("child").spawn(async {
                // Spawned inside the child's poll: the child's span is its parent.
                let grandchild = task::Builder::new().name("grandchild").spawn(async {
                    tracing::info!("deep inside");
                });
                grandchild.await.unwrap();
            })
        });
        child.await.unwrap();
        // A scope child too: spawned by the scope's body, which is polled
        // inside the span.
        scope(async |s| {
            s.spawn(async { tracing::info!("in a scope child") });
        })
        .instrument(request.clone())
        .await
        .unwrap();
    });
    let log = recorder.log();
    let deep = log.event("deep inside").expect("the grandchild's event");
    assert_eq!(log.ancestry(deep.scope[0]), ["task", "task", "request"]);
    let names: Vec<_> = deep.scope.iter().map(|&i| log.spans[i].fields.get("task.name").cloned()).collect();
    assert_eq!(names, [Some("grandchild".to_owned()), Some("child".to_owned()), None]);
    let scoped = log.event("in a scope child").expect("the scope child's event");
    assert_eq!(log.ancestry(scoped.scope[0]), ["task", "request"], "a scope child has a task span too");
}

#[test]
fn with_task_spans_filtered_out_the_spawners_span_is_carried() {
    use tracing_subscriber::layer::SubscriberExt;
    let recorder = Recorder::default();
    // A subscriber at INFO: task spans (TRACE) are never made. (A global
    // filter: a per-layer one meets tracing's interest cache, shared with
    // the other tests' subscribers in this process.)
    let subscriber =
        tracing_subscriber::registry().with(tracing_subscriber::filter::LevelFilter::INFO).with(recorder.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    sprout::run(async {
        let request = tracing::info_span!("request");
        let child = request.in_scope(|| {
            spawn(async {
                yield_now().await;
                // A later poll: the carried span is entered on each.
                tracing::info!("in the child");
                spawn(async { tracing::info!("in the grandchild") }).await.unwrap();
            })
        });
        child.await.unwrap();
    });
    let log = recorder.log();
    assert!(log.spans_named("task").is_empty(), "no task span at INFO");
    for message in ["in the child", "in the grandchild"] {
        let event = log.event(message).unwrap_or_else(|| panic!("{message}: {log:?}"));
        assert_eq!(event.scope.len(), 1, "{message}: {log:?}");
        assert_eq!(log.ancestry(event.scope[0]), ["request"], "{message}");
    }
}

#[test]
fn the_standard_instrument_works_on_sprout_futures() {
    let (recorder, _guard) = Recorder::install();
    sprout::run(async {
        let task = spawn(
            async {
                yield_now().await;
                tracing::info!("instrumented");
            }
            .instrument(tracing::info_span!("mine")),
        );
        task.await.unwrap();
        async { tracing::info!("awaited in main") }.instrument(tracing::info_span!("in main")).await;
    });
    let log = recorder.log();
    let event = log.event("instrumented").expect("the event");
    // `Instrumented` enters its span on every poll, inside the task's
    // (entered too); the span's parent is where it was made: main, none.
    assert_eq!(log.ancestry(event.scope[0]), ["mine"]);
    let (_, mine) = log.spans_named("mine")[0];
    // Both polls, and the drop of the future it wraps (tracing's own rule).
    assert_eq!((mine.enters, mine.exits), (3, 3));
    let (_, task) = log.spans_named("task")[0];
    assert_eq!((task.enters, task.exits), (2, 2));
    let main = log.event("awaited in main").expect("main's event");
    assert_eq!(log.ancestry(main.scope[0]), ["in main"]);
}

#[test]
fn a_spawn_from_another_thread_carries_that_threads_span() {
    let (recorder, subscriber) = Recorder::subscriber();
    let dispatch = tracing::Dispatch::new(subscriber);
    let _guard = tracing::dispatcher::set_default(&dispatch);
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let spawner = thread::spawn(move || {
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::info_span!("caller").in_scope(|| handle.spawn(async { tracing::info!("sent over") }))
        })
    });
    let task = spawner.join().unwrap();
    rt.block_on(async { task.await.unwrap() });
    let log = recorder.log();
    let event = log.event("sent over").expect("the event");
    assert_eq!(log.ancestry(event.scope[0]), ["task", "caller"]);
}

#[test]
fn a_killed_tasks_future_is_dropped_inside_its_span() {
    let (recorder, _guard) = Recorder::install();
    struct Noisy;
    impl Drop for Noisy {
        fn drop(&mut self) {
            tracing::info!("dropped");
        }
    }
    sprout::run(async {
        let sleeper = spawn(async {
            let _noisy = Noisy;
            std::future::pending::<()>().await;
        });
        yield_now().await;
        sleeper.kill();
        assert!(sleeper.await.unwrap_err().is_killed());
    });
    let log = recorder.log();
    let dropped = log.event("dropped").expect("the drop's event");
    assert_eq!(log.ancestry(dropped.scope[0]), ["task"]);
    assert!(log.spans_named("task")[0].1.closed);
}

#[test]
fn a_panic_nobody_joined_is_an_error_event() {
    let (recorder, _guard) = Recorder::install();
    let id = sprout::run(async {
        let doomed = task::Builder::new().name("doomed").spawn(async { panic!("on purpose") });
        let id = doomed.id();
        drop(doomed);
        yield_now().await;
        id
    });
    let log = recorder.log();
    let events = log.events_of("sprout::task");
    assert_eq!(events.len(), 1, "{log:?}");
    let event = events[0];
    assert_eq!(event.level, Level::ERROR);
    assert_eq!(event.field("message"), Some("task failed and nobody joined it"));
    assert_eq!(event.field("task.id"), Some(id.as_u64().to_string().as_str()));
    assert_eq!(event.field("task.name"), Some("doomed"));
    assert!(event.field("error").is_some_and(|e| e.contains("on purpose")), "{event:?}");
}

#[test]
fn the_blocking_report_is_a_warn_event_with_its_fields() {
    let (recorder, subscriber) = Recorder::subscriber();
    // Installed for this thread only: the report, made on the monitor's
    // own threads, reaches it because the runtime carries it there.
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = Runtime::builder().warn_blocking(Duration::from_millis(20)).build().unwrap();
    let reported = || recorder.log().events_of("sprout::blocking").iter().any(|e| e.field("finished") == Some("false"));
    let id = rt.block_on(async {
        let blocker = task::Builder::new().name("blocker").spawn({
            let recorder = recorder.clone();
            async move {
                // Holds the thread until the report is out (10 s at most:
                // without a report the test fails below, not hangs).
                let since = Instant::now();
                while !recorder.log().events_of("sprout::blocking").iter().any(|e| e.field("finished") == Some("false"))
                    && since.elapsed() < Duration::from_secs(10)
                {
                    thread::sleep(Duration::from_millis(5));
                }
            }
        });
        let id = blocker.id();
        blocker.await.unwrap();
        id
    });
    // Dropping the runtime joins the monitor: the finished report is out.
    drop(rt);
    assert!(reported(), "no report while the task blocked");
    let log = recorder.log();
    let events = log.events_of("sprout::blocking");
    let first = events.iter().find(|e| e.field("finished") == Some("false")).unwrap();
    assert_eq!(first.level, Level::WARN);
    assert_eq!(first.field("task.id"), Some(id.as_u64().to_string().as_str()));
    assert_eq!(first.field("task.name"), Some("blocker"));
    assert!(first.field("spawned_at").is_some_and(|at| at.starts_with(HERE)), "{first:?}");
    assert_eq!(first.field("threshold_ms"), Some("20"));
    assert!(first.field("elapsed_ms").and_then(|ms| ms.parse::<u64>().ok()).is_some_and(|ms| ms >= 20), "{first:?}");
    assert!(first.field("stack").is_some(), "the stack, or why there is none: {first:?}");
    let last = events.iter().find(|e| e.field("finished") == Some("true")).expect("the finished report");
    assert_eq!(last.field("task.name"), Some("blocker"));
    assert_eq!(last.field("stack"), None);
}

#[test]
fn a_deadlock_is_an_error_event_before_block_on_panics() {
    let (recorder, _guard) = Recorder::install();
    let deadlock = || async {
        let event = Rc::new(Event::new());
        let waiter = spawn({
            let event = event.clone();
            async move { event.wait().await }
        });
        waiter.await.unwrap();
    };
    // `try_block_on` hands the report back and sends no event.
    assert!(Runtime::new().unwrap().try_block_on(deadlock()).is_err());
    assert!(recorder.log().events_of("sprout::deadlock").is_empty());
    let rt = Runtime::new().unwrap();
    let panicked = catch_unwind(AssertUnwindSafe(|| rt.block_on(deadlock())));
    assert!(panicked.is_err());
    let log = recorder.log();
    let events = log.events_of("sprout::deadlock");
    assert_eq!(events.len(), 1, "{log:?}");
    assert_eq!(events[0].level, Level::ERROR);
    assert_eq!(events[0].field("tasks"), Some("2"), "main and the waiter");
    assert!(events[0].field("report").is_some_and(|r| r.contains("event")), "{:?}", events[0]);
}

#[test]
fn a_servers_failed_handler_is_an_error_event_and_a_peers_a_debug_one() {
    let (recorder, _guard) = Recorder::install();
    sprout::run(async {
        let server = StreamServer::bind("127.0.0.1:0", |_stream: TcpStream, _peer| async {
            let first = FIRST.swap(false, Ordering::SeqCst);
            if first {
                Err::<(), _>(std::io::Error::other("the handler's own failure"))
            } else {
                Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
            }
        })
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        for _ in 0..2 {
            let stream = TcpStream::connect(addr).await.unwrap();
            let mut buf = [0; 1];
            // The handler returns at once, closing the connection.
            let _ = stream.read(&mut buf).await;
        }
        handle.stop_graceful(Duration::from_secs(5)).await;
    });
    static FIRST: AtomicBool = AtomicBool::new(true);
    let log = recorder.log();
    let events = log.events_of("sprout::server");
    let failed = events.iter().find(|e| e.level == Level::ERROR).expect("the handler's failure");
    assert_eq!(failed.field("message"), Some("a handler failed"));
    assert!(failed.field("error").is_some_and(|e| e.contains("the handler's own failure")));
    assert!(failed.field("peer").is_some_and(|p| p.starts_with("127.0.0.1:")));
    assert!(failed.field("server").is_some_and(|s| s.starts_with("StreamServer on 127.0.0.1:")));
    let peer = events.iter().find(|e| e.level == Level::DEBUG).expect("the peer's error");
    assert_eq!(peer.field("message"), Some("a handler failed through its peer"));
}

/// Set in the child process of the test below.
const CHILD: &str = "SPROUT_TRACE_NO_SUBSCRIBER_CHILD";

#[test]
fn with_no_subscriber_nothing_changes_and_reports_reach_stderr() {
    if std::env::var_os(CHILD).is_some() {
        // No subscriber anywhere in this process.
        assert!(!tracing::dispatcher::has_been_set());
        sprout::run(async {
            let seen = Rc::new(Cell::new(0));
            let tasks: Vec<_> = (0..3)
                .map(|_| {
                    let seen = seen.clone();
                    spawn(async move {
                        assert_eq!(current_span_name(), None);
                        yield_now().await;
                        seen.set(seen.get() + 1);
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(seen.get(), 3);
            scope(async |s| {
                s.spawn(async { assert_eq!(current_span_name(), None) });
            })
            .await
            .unwrap();
            let doomed = task::Builder::new().name("doomed").spawn(async { panic!("on purpose") });
            drop(doomed);
            yield_now().await;
        });
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["--exact", "with_no_subscriber_nothing_changes_and_reports_reach_stderr", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let line = stderr.lines().find(|l| l.starts_with("sprout: task 'doomed' (#")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains("failed and nobody joined it: task panicked: on purpose"), "{line}");
}

#[test]
fn a_scoped_subscriber_on_one_runtime_thread_is_not_seen_by_another() {
    // A runtime on a thread with no subscriber makes no spans, while this
    // thread's subscriber records its own runtime's tasks.
    let (recorder, _guard) = Recorder::install();
    let other = thread::spawn(|| sprout::run(async { spawn(async { current_span_name() }).await.unwrap() }));
    sprout::run(async { spawn(async {}).await.unwrap() });
    assert_eq!(other.join().unwrap(), None);
    assert_eq!(recorder.log().spans_named("task").len(), 1);
}
