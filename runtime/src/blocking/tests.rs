//! Hand-overs between workers and a runtime, small enough for Miri.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::ThreadPool;
use crate::task::JoinError;

#[test]
fn results_and_callbacks_cross_threads() {
    let pool = ThreadPool::new(2);
    let seen = Arc::new(AtomicUsize::new(0));
    crate::run(async {
        let works: Vec<_> = (0..4usize).map(|i| pool.submit(move || i * 10)).collect();
        for w in &works {
            let seen = seen.clone();
            w.add_done_callback(move |r| {
                seen.fetch_add(*r.as_ref().unwrap(), Ordering::SeqCst);
            });
        }
        let mut sum = 0;
        for w in works {
            sum += w.await.unwrap();
        }
        assert_eq!(sum, 60);
        // Callbacks ran before the results were handed out.
        assert_eq!(seen.load(Ordering::SeqCst), 60);
        assert!(pool.submit(|| panic!("boom")).await.unwrap_err().is_panic());
    });
    // From a plain thread.
    let mut w = pool.submit(|| "plain");
    assert_eq!(w.result(Duration::from_secs(60)).unwrap().unwrap(), "plain");
    pool.shutdown(true);
    assert!(matches!(pool.submit(|| ()).wait(), Err(JoinError::Killed)));
}

#[test]
fn a_delivery_to_a_runtime_that_shut_down_still_arrives() {
    let pool = ThreadPool::new(1);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = std::sync::Mutex::new(rx);
    // Submitted from inside the runtime, finished only after it is gone:
    // the future is handed out of the runtime on purpose.
    let runtime = crate::Runtime::new().unwrap();
    #[allow(clippy::async_yields_async)]
    let work = runtime.block_on(async { pool.submit(move || rx.lock().unwrap().recv().map(|()| 7).unwrap_or(0)) });
    drop(runtime);
    tx.send(()).unwrap();
    assert_eq!(work.wait().unwrap(), 7);
}
