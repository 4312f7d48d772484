//! Task-local storage.

use std::cell::{Cell, RefCell};

use sprout::task::AccessError;
use sprout::{run, spawn, task_local, yield_now};

task_local! {
    static COUNT: Cell<u32> = Cell::new(0);
    static NAME: RefCell<String> = RefCell::new(String::from("unset"));
}

#[sprout::test]
async fn each_task_sees_its_own_value() {
    COUNT.with(|c| c.set(100));
    let handles: Vec<_> = (1..=3)
        .map(|i| {
            spawn(async move {
                COUNT.with(|c| c.set(i));
                NAME.with(|n| *n.borrow_mut() = format!("task {i}"));
                yield_now().await;
                (COUNT.with(Cell::get), NAME.with(|n| n.borrow().clone()))
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let (count, name) = h.await.unwrap();
        assert_eq!(count, i as u32 + 1);
        assert_eq!(name, format!("task {}", i + 1));
    }
    assert_eq!(COUNT.with(Cell::get), 100, "main's value is its own");
}

#[test]
fn values_are_dropped_with_their_task() {
    use std::rc::Rc;
    task_local! {
        static HELD: RefCell<Option<Rc<()>>> = RefCell::new(None);
    }
    run(async {
        let shared = Rc::new(());
        let h = spawn({
            let shared = shared.clone();
            async move {
                HELD.with(|h| *h.borrow_mut() = Some(shared));
                yield_now().await;
            }
        });
        yield_now().await;
        assert_eq!(Rc::strong_count(&shared), 2);
        h.await.unwrap();
        assert_eq!(Rc::strong_count(&shared), 1);
    });
}

#[test]
fn outside_a_runtime_access_fails_cleanly() {
    assert_eq!(COUNT.try_with(|c| c.get()), Err(AccessError));
}
