//! `sprout::scope`: children that borrow, handles, spawning from children,
//! nested scopes, names. (Failures, cancels and deadlines are in
//! `scope_cancel.rs`; drops and leaks in `scope_drop.rs`; the dump and the
//! deadlock report in `scope_observe.rs`.) Miri runs this file.

mod support;

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::time::Duration;

use sprout::{scope, sleep, yield_now};
use support::Log;

#[sprout::test]
async fn children_read_and_write_the_callers_locals() {
    let names = vec!["ann".to_owned(), "bob".to_owned(), "cy".to_owned()];
    let mut lengths = vec![0; names.len()];
    let total = Cell::new(0);
    scope(async |s| {
        for (name, length) in names.iter().zip(lengths.iter_mut()) {
            let total = &total;
            s.spawn(async move {
                yield_now().await;
                *length = name.len();
                total.set(total.get() + name.len());
            });
        }
    })
    .await
    .unwrap();
    // Every child ended before `scope` returned: the writes are all there.
    assert_eq!(lengths, [3, 3, 2]);
    assert_eq!(total.get(), 8);
    // And the borrows are over: the locals are ours again.
    lengths.push(0);
    drop(names);
}

#[sprout::test(paused)]
async fn the_scope_returns_once_every_child_has_ended() {
    let log = Log::new();
    let value = scope(async |s| {
        for ms in [30, 10, 20] {
            let log = &log;
            s.spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                log.push(format!("{ms}"));
            });
        }
        log.push("body");
        "value"
    })
    .await
    .unwrap();
    log.push("after");
    assert_eq!(value, "value");
    assert_eq!(log.take(), ["body", "10", "20", "30", "after"]);
}

#[sprout::test]
async fn a_handle_gives_its_childs_output() {
    let got = scope(async |s| {
        let a = s.spawn(async {
            yield_now().await;
            Ok::<_, Infallible>(40)
        });
        let b = s.spawn(async { Ok::<_, Infallible>(2) });
        assert_eq!(a.name(), None);
        let sum = a.await.unwrap().unwrap() + b.await.unwrap().unwrap();
        assert!(s.is_empty());
        sum
    })
    .await
    .unwrap();
    assert_eq!(got, 42);
}

#[sprout::test]
async fn a_handle_awaited_after_its_child_finished_still_has_the_output() {
    scope(async |s| {
        let quick = s.spawn(async { Ok::<_, Infallible>(String::from("kept")) });
        for _ in 0..3 {
            yield_now().await;
        }
        assert!(quick.is_finished());
        assert_eq!(quick.await.unwrap().unwrap(), "kept");
    })
    .await
    .unwrap();
}

#[sprout::test]
async fn children_spawn_into_their_own_scope() {
    let count = Cell::new(0);
    fn fan<'s, 'env>(s: &'s sprout::scope::Scope<'s, 'env>, count: &'env Cell<u32>, depth: u32) {
        count.set(count.get() + 1);
        if depth > 0 {
            for _ in 0..2 {
                s.spawn(async move {
                    yield_now().await;
                    fan(s, count, depth - 1);
                });
            }
        }
    }
    scope(async |s| fan(s, &count, 4)).await.unwrap();
    // 1 + 2 + 4 + 8 + 16
    assert_eq!(count.get(), 31);
}

#[sprout::test]
async fn scopes_nest_and_an_inner_child_borrows_from_outside_both() {
    let log = RefCell::new(Vec::new());
    scope(async |outer| {
        outer.spawn(async {
            let inner_value = scope(async |inner| {
                inner.spawn(async {
                    yield_now().await;
                    log.borrow_mut().push("inner child");
                });
                // An inner child may spawn into the outer scope too.
                inner.spawn(async {
                    outer.spawn(async { log.borrow_mut().push("spawned outward") });
                });
                7
            })
            .await
            .unwrap();
            log.borrow_mut().push(if inner_value == 7 { "inner done" } else { "wrong value" });
        });
    })
    .await
    .unwrap();
    let mut log = log.into_inner();
    log.sort_unstable();
    assert_eq!(log, ["inner child", "inner done", "spawned outward"]);
}

#[sprout::test]
async fn a_named_child_keeps_its_name_and_ids_are_unique() {
    let first = sprout::spawn(async {});
    let ids = scope(async |s| {
        let a = s.spawn_named("fetch-a", async {});
        let b = s.spawn(async {});
        assert_eq!(a.name(), Some("fetch-a"));
        assert_ne!(a.id(), b.id());
        (a.id(), b.id())
    })
    .await
    .unwrap();
    let second = sprout::spawn(async {});
    // Children take ids from the tasks' count, so none is ever shown twice.
    assert!(first.id() < ids.0 && ids.1 < second.id());
    first.await.unwrap();
    second.await.unwrap();
}

#[sprout::test]
async fn children_are_not_counted_as_tasks() {
    let before = sprout::metrics();
    scope(async |s| {
        for _ in 0..5 {
            s.spawn(yield_now());
        }
        assert_eq!(sprout::task::active_count(), 0);
    })
    .await
    .unwrap();
    let after = sprout::metrics();
    assert_eq!(after.tasks_spawned, before.tasks_spawned);
    assert_eq!(after.tasks_finished, before.tasks_finished);
}

#[sprout::test]
async fn an_empty_scope_returns_its_value() {
    assert_eq!(scope(async |_| 5).await.unwrap(), 5);
}

#[sprout::test]
async fn many_ready_children_leave_room_for_other_tasks() {
    // A scope of more ready children than one poll runs yields between
    // batches: another task gets its turn before the scope is done.
    let other = sprout::spawn(async {});
    let seen = Cell::new(None);
    scope(async |s| {
        for i in 0..1000 {
            let (seen, other) = (&seen, &other);
            s.spawn(async move {
                if i == 999 {
                    seen.set(Some(other.is_finished()));
                }
            });
        }
    })
    .await
    .unwrap();
    assert_eq!(seen.get(), Some(true), "the other task ran while the scope's children did");
    other.await.unwrap();
}
