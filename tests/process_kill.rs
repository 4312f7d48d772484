//! sprout::process: kill, terminate, timeouts and dropped children (exit
//! descriptor path: pidfds on Linux).

mod process_support;
mod support;

use process_support as s;

#[test]
fn kill_and_terminate() {
    sprout::run(s::kill_and_terminate());
}

#[test]
fn wait_timeout_is_cancellation_safe() {
    sprout::run(s::wait_timeout_is_cancellation_safe());
}

#[test]
fn kill_on_drop() {
    sprout::run(s::kill_on_drop());
}

/// A wait dropped by a time limit leaves nothing behind (no timer, and its
/// future is dropped), however often it happens; the child is intact.
#[test]
fn a_dropped_wait_leaks_nothing() {
    use std::os::unix::process::ExitStatusExt;
    use std::time::Duration;

    use sprout::process::Command;
    use support::{Counted, Counter};

    sprout::run(async {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let (polls, drops) = (Counter::new(), Counter::new());
        for _ in 0..50 {
            let wait = Counted::new(child.wait(), &polls, &drops);
            assert!(sprout::timeout(Duration::from_millis(1), wait).await.is_err());
        }
        assert_eq!(drops.get(), 50);
        // Each was polled at least once; spurious wake-ups may add more.
        assert!(polls.get() >= 50);
        assert_eq!(sprout_runtime::probe::pending_timers(), 0);
        assert!(child.try_wait().unwrap().is_none());
        child.start_kill().unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
    });
}
