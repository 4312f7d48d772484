//! `Group`: membership, join, kill, close, callbacks.

use std::cell::{Cell, RefCell};
use std::future::pending;
use std::rc::Rc;
use std::time::Duration;

use sprout::JoinError;
use sprout::pool::Group;

#[sprout::test]
async fn members_leave_when_they_finish_however_they_finish() {
    let group = Group::new();
    let ok = group.spawn(async { 1 });
    let boom = group.spawn(async {
        sprout::yield_now().await;
        panic!("boom")
    });
    let stuck = group.spawn(pending::<()>());
    assert_eq!(group.len(), 3);
    assert!(group.contains(&ok) && group.contains(&stuck));
    assert_eq!(ok.await.unwrap(), 1);
    assert_eq!(boom.await.unwrap_err().panic_message(), Some("boom"));
    assert_eq!(group.len(), 1);
    stuck.kill();
    assert!(group.is_empty());
}

#[sprout::test]
async fn join_waits_for_every_member_and_join_timeout_gives_up() {
    let group = Group::new();
    let done = Rc::new(Cell::new(0));
    for ms in [1u64, 4, 2] {
        let done = done.clone();
        group.spawn(async move {
            sprout::sleep(Duration::from_millis(ms)).await;
            done.set(done.get() + 1);
        });
    }
    group.join().await;
    assert_eq!(done.get(), 3);
    // An empty group joins at once.
    group.join().await;

    let slow = group.spawn(pending::<()>());
    assert!(!group.join_timeout(Duration::from_millis(3)).await);
    assert_eq!(group.len(), 1);
    slow.kill();
    assert!(group.join_timeout(Duration::from_millis(3)).await);
}

#[sprout::test]
async fn kill_drops_every_member_now_and_terminate_also_closes() {
    let group = Group::new();
    let dropped = Rc::new(Cell::new(0));
    struct Bump(Rc<Cell<u32>>);
    impl Drop for Bump {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let bump = Bump(dropped.clone());
            group.spawn(async move {
                let _bump = bump;
                pending::<()>().await
            })
        })
        .collect();
    group.kill();
    assert_eq!(dropped.get(), 4, "kill drops the futures before it returns");
    assert!(group.is_empty());
    for h in handles {
        assert!(h.await.unwrap_err().is_killed());
    }
    // Still open after kill.
    assert_eq!(group.spawn(async { 5 }).await.unwrap(), 5);

    let running = group.spawn(pending::<()>());
    group.terminate();
    assert!(group.is_closed());
    assert!(running.await.unwrap_err().is_killed());
}

#[sprout::test]
async fn close_refuses_new_work_but_lets_members_finish() {
    let group = Group::new();
    let member = group.spawn(async {
        sprout::sleep(Duration::from_millis(2)).await;
        "finished"
    });
    group.close();
    let ran = Rc::new(Cell::new(false));
    let refused = group.spawn({
        let ran = ran.clone();
        async move { ran.set(true) }
    });
    assert!(matches!(refused.await, Err(JoinError::Killed)));
    assert!(matches!(group.apply(async { 1 }).await, Err(JoinError::Killed)));
    assert!(!ran.get());
    group.join().await;
    assert_eq!(member.await.unwrap(), "finished");
}

#[sprout::test]
async fn add_tracks_outside_tasks_and_discard_lets_go() {
    let group = Group::new();
    let outside = sprout::spawn(async {
        sprout::sleep(Duration::from_millis(2)).await;
        9
    });
    group.add(&outside);
    group.add(&outside); // a second add does nothing
    assert_eq!(group.len(), 1);
    assert!(group.contains(&outside));
    group.join().await;
    assert!(outside.is_finished());
    assert_eq!(outside.await.unwrap(), 9);

    let forever = sprout::spawn(pending::<()>());
    group.add(&forever);
    assert!(group.discard(&forever));
    assert!(!group.discard(&forever));
    assert!(group.is_empty());
    group.join().await; // does not wait for the discarded task
    assert!(!forever.is_finished());

    // kill reaches added tasks.
    group.add(&forever);
    group.kill();
    assert!(forever.await.unwrap_err().is_killed());
    assert!(group.is_empty());
}

#[sprout::test]
async fn apply_async_callbacks_see_success_and_error() {
    let group = Group::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    for i in 0..4u32 {
        let task = group.apply_async(async move {
            sprout::sleep(Duration::from_millis(u64::from(4 - i) * 5)).await;
            if i % 2 == 1 {
                panic!("odd {i}");
            }
            i * 100
        });
        let (ok, err) = (log.clone(), log.clone());
        task.on_ok(move |v| ok.borrow_mut().push(format!("ok {v}")));
        task.on_err(move |e| err.borrow_mut().push(format!("err {}", e.panic_message().unwrap())));
    }
    group.join().await;
    // Callbacks ran as each task finished: shortest sleep first.
    assert_eq!(*log.borrow(), ["err odd 3", "ok 200", "err odd 1", "ok 0"]);
}

#[sprout::test]
async fn members_can_spawn_into_their_own_group() {
    let group = Group::new();
    let count = Rc::new(Cell::new(0));
    fn fan(group: Group, count: Rc<Cell<u32>>, depth: u32) {
        count.set(count.get() + 1);
        if depth > 0 {
            for _ in 0..2 {
                let (g, c) = (group.clone(), count.clone());
                group.spawn(async move { fan(g, c, depth - 1) });
            }
        }
    }
    fan(group.clone(), count.clone(), 4);
    group.join().await;
    assert_eq!(count.get(), 31);
}
