//! `sprout::signal`: signals arrive as awaitable events.

mod support;

use std::time::Duration;

use futures::StreamExt;
use sprout::signal::{SIGHUP, SIGUSR1, SIGUSR2, ctrl_c, on_signal};
use support::within;

fn raise(signum: i32) {
    // SAFETY: raise(3) sends a signal to this process; a listener is
    // installed for it before each call below.
    assert_eq!(unsafe { libc::raise(signum) }, 0);
}

#[test]
fn on_signal_wakes_a_waiting_task() {
    sprout::run(within(async {
        let usr1 = on_signal(SIGUSR1).unwrap();
        assert_eq!(usr1.signum(), SIGUSR1);
        let waiter = sprout::spawn(async move {
            usr1.recv().await.unwrap();
            usr1
        });
        sprout::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished());
        raise(SIGUSR1);
        let mut usr1 = waiter.await.unwrap();
        // Again, through the Stream impl; a burst may coalesce into one.
        raise(SIGUSR1);
        raise(SIGUSR1);
        usr1.next().await.unwrap().unwrap();
    }));
}

#[test]
fn two_listeners_both_hear_it() {
    sprout::run(within(async {
        let a = on_signal(SIGUSR2).unwrap();
        let b = on_signal(SIGUSR2).unwrap();
        raise(SIGUSR2);
        a.recv().await.unwrap();
        b.recv().await.unwrap();
    }));
}

#[test]
fn ctrl_c_returns_on_sigint() {
    sprout::run(within(async {
        let task = sprout::spawn(ctrl_c());
        // Let it install its handler before the signal is sent.
        sprout::sleep(Duration::from_millis(10)).await;
        raise(libc::SIGINT);
        task.await.unwrap().unwrap();
    }));
}

#[sprout::test]
async fn uncatchable_signals_are_refused() {
    assert_eq!(on_signal(libc::SIGKILL).unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(on_signal(libc::SIGSEGV).unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    assert!(on_signal(10_000).is_err());
    // A listener made and dropped leaves the signal ignored, not fatal.
    drop(on_signal(SIGHUP).unwrap());
    raise(SIGHUP);
}
