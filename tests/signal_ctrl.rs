//! `sprout::signal`: signals arrive as awaitable events.

mod support;

use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use futures::StreamExt;
use sprout::net::{StreamServer, TcpStream};
use sprout::signal::{SIGHUP, SIGUSR1, SIGUSR2, ctrl_c, on_signal};
use sprout::sync::Event;
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

// --- Issue 18, bug 11: Ctrl-C twice stops a draining server at once ---

/// Set in the environment of the child of the test below.
const STOP_CHILD: &str = "SPROUT_STOP_ON_SIGNALS_CHILD";

/// Sends `signum` to this process as a whole, as a terminal's Ctrl-C
/// does (any thread not blocking it takes it).
fn kill_self(signum: i32) {
    // SAFETY: kill(2) on our own pid; `stop_on_signals` listens for it.
    assert_eq!(unsafe { libc::kill(libc::getpid(), signum) }, 0);
}

#[test]
fn a_second_ctrl_c_stops_a_draining_server_at_once_and_a_third_exits() {
    if std::env::var_os(STOP_CHILD).is_some() {
        return press_ctrl_c_three_times();
    }
    // A child: the listener stays for the life of the process, and the
    // third press ends it.
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["a_second_ctrl_c_stops_a_draining_server_at_once_and_a_third_exits", "--exact", "--nocapture"])
        .env(STOP_CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("child: the first step ran"), "{stderr}");
    assert!(stderr.contains("child: the drain ended with the second press"), "{stderr}");
    assert_eq!(out.status.code(), Some(130), "the third press exits as Ctrl-C would:\n{stderr}");
    assert!(stderr.contains("SIGINT (Ctrl-C): stopping; open connections have up to 3600 s to finish"), "{stderr}");
    assert!(stderr.contains("SIGINT (Ctrl-C) again: stopping now, closing 1 open connections"), "{stderr}");
    assert!(stderr.contains("the server has stopped; exiting"), "{stderr}");
}

fn press_ctrl_c_three_times() {
    sprout::run(within(async {
        let accepted = Rc::new(Event::new());
        let server = StreamServer::bind("127.0.0.1:0", {
            let accepted = accepted.clone();
            move |stream: TcpStream, _| {
                accepted.set();
                // Holds the connection until the client closes: a drain
                // with an hour's grace would wait an hour for it.
                async move { while let Ok(1..) = stream.read(&mut [0; 64]).await {} }
            }
        })
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.handle();
        let first = handle.clone();
        handle
            .stop_on_signals_with(Duration::from_secs(3600), move || async move {
                // Runs before the drain: the server still serves.
                assert!(!first.is_stopped());
                eprintln!("child: the first step ran");
            })
            .unwrap();
        let serving = sprout::spawn(server.serve_forever());
        let _client = TcpStream::connect(addr).await.unwrap();
        accepted.wait().await;

        kill_self(libc::SIGINT);
        handle.stopped().await; // the first press began the drain
        assert_eq!(handle.connections(), 1, "the drain waits for the open connection");
        kill_self(libc::SIGINT);
        serving.await.unwrap(); // an hour, without the second press (`within` fails at 20 s)
        assert_eq!(handle.connections(), 0);
        eprintln!("child: the drain ended with the second press");

        kill_self(libc::SIGINT);
        sprout::sleep(Duration::from_secs(3600)).await; // the process exits first
    }));
    unreachable!("the third Ctrl-C ends the process");
}
