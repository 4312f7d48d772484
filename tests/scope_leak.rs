//! A leaked scope: its children never run again, and nothing they borrowed
//! is touched after it died; and a scope that outlives its runtime. Miri
//! runs this file with its leak check off (`-Zmiri-ignore-leaks`): leaking
//! is the point of the first, and the second leaks what any waker dropped
//! after its runtime leaks (the task's block: docs/architecture.md,
//! "Foreign-thread paths touch only what they keep alive").

mod support;

use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::task::Poll;

use sprout::{Runtime, scope, yield_now};
use support::{Counted, Counter};

#[sprout::test]
async fn a_leaked_scope_never_runs_its_children_again() {
    let (polls, drops) = (Counter::new(), Counter::new());
    {
        // The children borrow this; it dies at the end of the block, after
        // the scope was leaked. Under Miri any later use of it is an error
        // (on the heap, so that its end is a free Miri sees).
        #[allow(clippy::useless_vec)]
        let borrowed = vec![1u8; 16];
        let mut fut = Box::pin(scope(async |s| {
            for _ in 0..3 {
                s.spawn(Counted::new(
                    async {
                        loop {
                            // Wakes itself, so a wake-up is always pending.
                            yield_now().await;
                            assert_eq!(borrowed.iter().map(|&b| u32::from(b)).sum::<u32>(), 16);
                        }
                    },
                    &polls,
                    &drops,
                ));
            }
            pending::<()>().await
        }));
        for _ in 0..3 {
            let _ = poll_fn(|cx| Poll::Ready(Pin::new(&mut fut).poll(cx))).await;
            yield_now().await;
        }
        assert!(polls.get() >= 3);
        std::mem::forget(fut);
    }
    let polls_at_leak = polls.get();
    // The children's wake-ups keep arriving: each queues its child on the
    // leaked scope and wakes this task, whose polls no longer reach it.
    for _ in 0..10 {
        yield_now().await;
    }
    assert_eq!(polls.get(), polls_at_leak, "a leaked scope's child ran again");
    assert_eq!(drops.get(), 0, "a leaked scope's child was dropped");
    // The dump still lists them (their scope is leaked, not gone).
    assert_eq!(sprout::dump().tasks().iter().filter(|t| t.parent().is_some()).count(), 3);
}

#[test]
fn a_scope_outliving_its_runtime_drops_its_children_when_dropped() {
    let drops = Counter::new();
    let rt = Runtime::new().unwrap();
    let mut fut = Box::pin(scope(async |s| {
        s.spawn(Counted::new(pending::<()>(), &Counter::new(), &drops));
        pending::<()>().await
    }));
    rt.block_on(async {
        let polled = poll_fn(|cx| Poll::Ready(Pin::new(&mut fut).poll(cx).is_pending())).await;
        assert!(polled);
    });
    drop(rt);
    // The runtime is gone; the child's block is not (the orphaned heap
    // keeps it), and dropping the scope still drops the child.
    assert_eq!(drops.get(), 0);
    drop(fut);
    assert_eq!(drops.get(), 1);
}
