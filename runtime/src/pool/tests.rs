//! Member bookkeeping driven through a real runtime, small enough for Miri:
//! the untyped task references a group keeps must be released whichever
//! way a member goes (returns, is killed, discarded, outlives its runtime).

use std::cell::Cell;
use std::future::pending;
use std::rc::Rc;

use super::{Group, Pool};
use crate::Runtime;

#[test]
fn members_are_released_however_they_end() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let group = Group::new();
        let done = group.spawn(async { 1 });
        let stuck = group.spawn(pending::<()>());
        let outside = crate::spawn(pending::<()>());
        group.add(&outside);
        assert_eq!(group.len(), 3);
        assert_eq!(done.await.unwrap(), 1);
        assert!(group.discard(&outside));
        outside.kill();
        group.kill();
        assert!(stuck.await.unwrap_err().is_killed());
        assert!(group.is_empty());
        assert_eq!(crate::probe::live_tasks(), 0);
    });
}

#[test]
fn a_runtime_dropped_with_live_members_frees_them() {
    let dropped = Rc::new(Cell::new(0));
    struct Bump(Rc<Cell<u32>>);
    impl Drop for Bump {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let pool = Pool::new(2);
    {
        let rt = Runtime::new().unwrap();
        rt.block_on(async {
            for _ in 0..3 {
                let bump = Bump(dropped.clone());
                // The third queues for a slot inside its task.
                pool.apply_async(async move {
                    let _bump = bump;
                    pending::<()>().await
                });
            }
            let outside = crate::spawn(pending::<()>());
            pool.add(&outside).await;
            assert_eq!(pool.len(), 4);
        });
    }
    // Shutdown dropped every future: the guards left the pool and gave the
    // slots back; the pool outlives its runtime safely.
    assert_eq!(dropped.get(), 3);
    assert!(pool.is_empty());
    assert_eq!(pool.free_count(), 2);
}
