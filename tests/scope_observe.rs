//! Scope children in the task dump (under the task that runs their scope,
//! with their own waits) and in the deadlock report.

use std::future::pending;
use std::rc::Rc;
use std::time::Duration;

use sprout::observe::{Deadlock, TaskState, WaitOn};
use sprout::sync::{Event, Lock};
use sprout::{Runtime, scope, sleep, yield_now};

const HERE: &str = file!();

fn observed() -> Runtime {
    Runtime::builder().observe(true).build().unwrap()
}

#[test]
fn children_show_under_their_task_with_their_own_waits() {
    observed().block_on(async {
        let event = Event::new();
        let worker = sprout::task::Builder::new().name("worker").spawn({
            async move {
                let event = Event::new();
                scope(async |s| {
                    s.spawn_named("waiter", async { event.wait().await });
                    s.spawn_named("sleeper", sleep(Duration::from_secs(3600)));
                    s.spawn(async {
                        // A nested scope: its child is listed under this child.
                        scope(async |inner| {
                            inner.spawn_named("deep", pending::<()>());
                        })
                        .await
                        .unwrap();
                    });
                })
                .await
                .unwrap();
            }
        });
        for _ in 0..3 {
            yield_now().await;
        }
        let dump = sprout::dump();
        let worker_row = dump.task_named("worker").unwrap();
        assert_eq!(worker_row.parent(), None);
        // The body has returned: the task waits on its scope, at this file's `.await`.
        assert_eq!(worker_row.waits_on(), Some(WaitOn::Scope), "{dump}");
        assert_eq!(worker_row.wait_at().unwrap().file(), HERE);

        let waiter = dump.task_named("waiter").unwrap();
        assert_eq!(waiter.parent(), Some(worker.id()));
        assert_eq!(waiter.state(), TaskState::Waiting);
        assert_eq!(waiter.waits_on(), Some(WaitOn::Event), "{dump}");
        assert_eq!(waiter.wait_at().unwrap().file(), HERE);
        assert_eq!(waiter.spawned_at().unwrap().file(), HERE);
        assert_eq!(waiter.polls(), Some(1));

        let sleeper = dump.task_named("sleeper").unwrap();
        assert_eq!(sleeper.parent(), Some(worker.id()));
        assert!(matches!(sleeper.waits_on(), Some(WaitOn::Sleep { .. })), "{dump}");

        let deep = dump.task_named("deep").unwrap();
        let nesting = dump.tasks().iter().find(|t| Some(t.id()) == deep.parent()).unwrap();
        assert_eq!(nesting.parent(), Some(worker.id()), "the nested scope's child is under the child running it");

        // The table: each child right under its parent, indented one step more.
        let text = dump.to_string();
        assert!(text.contains("of them scope children"), "{text}");
        let line_of = |name: &str| text.lines().position(|l| l.contains(name)).unwrap();
        let indent_of = |name: &str| {
            let line = text.lines().nth(line_of(name)).unwrap();
            line.len() - line.trim_start().len()
        };
        assert!(line_of("worker") < line_of("waiter") && line_of("worker") < line_of("deep"), "{text}");
        assert_eq!(indent_of("waiter"), indent_of("worker") + 2, "{text}");
        assert_eq!(indent_of("deep"), indent_of("worker") + 4, "{text}");
        worker.kill();
        event.set();
        assert!(sprout::dump().tasks().iter().all(|t| t.parent().is_none()));
    });
}

#[test]
fn the_body_s_wait_shows_for_its_task_while_the_body_runs() {
    observed().block_on(async {
        let gate = Rc::new(Event::new());
        let task = sprout::task::Builder::new().name("runner").spawn({
            let gate = gate.clone();
            async move {
                scope(async |s| {
                    let child = s.spawn(async {
                        yield_now().await;
                    });
                    gate.wait().await; // the body waits here
                    child.await.unwrap();
                })
                .await
                .unwrap();
            }
        });
        // Several turns: the child's wake-up polls the scope without the body.
        for _ in 0..4 {
            yield_now().await;
        }
        let dump = sprout::dump();
        let runner = dump.task_named("runner").unwrap();
        assert_eq!(runner.waits_on(), Some(WaitOn::Event), "{dump}");
        assert_eq!(runner.wait_at().unwrap().file(), HERE);
        gate.set();
        task.await.unwrap();
    });
}

#[test]
fn children_without_records_still_show_ids_names_and_states() {
    Runtime::builder().observe(false).build().unwrap().block_on(async {
        scope(async |s| {
            s.spawn_named("plain", pending::<()>());
            yield_now().await;
            let dump = sprout::dump();
            let plain = dump.task_named("plain").unwrap();
            assert_eq!(plain.parent(), Some(sprout::current().id()));
            assert_eq!(plain.state(), TaskState::Waiting);
            // The body returns in the poll that cancels: its value stands.
            s.cancel();
        })
        .await
        .unwrap();
    });
}

fn deadlock_of<F: std::future::Future>(f: impl FnOnce() -> F) -> Deadlock {
    match observed().try_block_on(f()) {
        Ok(_) => panic!("no deadlock reported"),
        Err(deadlock) => deadlock,
    }
}

#[test]
fn children_taking_two_locks_in_opposite_order_are_reported() {
    let report = deadlock_of(|| async {
        let (a, b) = (Lock::new(()), Lock::new(()));
        scope(async |s| {
            s.spawn_named("alice", async {
                let _a = a.lock().await;
                yield_now().await;
                let _b = b.lock().await;
            });
            s.spawn_named("bob", async {
                let _b = b.lock().await;
                yield_now().await;
                let _a = a.lock().await;
            });
        })
        .await
    });
    let dump = report.dump();
    let main = dump.task_named("main").unwrap().id();
    for name in ["alice", "bob"] {
        let child = dump.task_named(name).unwrap();
        assert_eq!(child.parent(), Some(main), "{report}");
        assert_eq!(child.waits_on(), Some(WaitOn::Lock), "{report}");
        assert_eq!(child.wait_at().unwrap().file(), HERE);
    }
    assert_eq!(dump.task_named("main").unwrap().waits_on(), Some(WaitOn::Scope), "{report}");
}

#[test]
fn a_body_waiting_on_a_child_that_waits_on_the_body_is_reported() {
    let report = deadlock_of(|| async {
        let ready = Event::new();
        scope(async |s| {
            let child = s.spawn_named("child", async { ready.wait().await });
            child.await.unwrap(); // waits for the child, which waits for `ready`
            ready.set();
        })
        .await
    });
    let child = report.dump().task_named("child").unwrap();
    assert_eq!(child.waits_on(), Some(WaitOn::Event), "{report}");
    let main = report.dump().task_named("main").unwrap();
    assert!(matches!(main.waits_on(), Some(WaitOn::Join { .. })), "{report}");
}

#[test]
fn a_child_waiting_on_a_thread_is_not_a_deadlock() {
    let rt = observed();
    let got = rt.try_block_on(async {
        scope(async |s| {
            let answer = s.spawn(sprout::spawn_blocking(|| 7));
            answer.await.unwrap().unwrap()
        })
        .await
        .unwrap()
    });
    assert_eq!(got.expect("a child waiting on a blocking job is no deadlock"), 7);
}
