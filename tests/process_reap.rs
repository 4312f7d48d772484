//! sprout::process: no zombie is left behind, whether children are waited
//! for, dropped, or dropped after their runtime is gone. One test, so that
//! no other test's children show up in the zombie count.

mod process_support;

use std::time::{Duration, Instant};

use process_support as s;
use sprout::process::{Child, ChildStdin, Command, Stdio};
use sprout_process::probe;

#[test]
fn no_zombies() {
    // 1,000 short children waited for, then 1,000 dropped unwaited.
    sprout::run(s::many_children(1000));
    sprout::run(async {
        s::eventually("the reaper is done", Duration::from_secs(30), || probe::orphans() == 0).await;
    });
    assert_eq!(s::our_zombies(), Vec::<u32>::new());

    // A child dropped after its runtime is gone is parked, and the next
    // spawn (in another runtime) reaps it. The children below block
    // reading stdin, so the test decides when they exit: closing stdin.
    let (child, stdin) = sprout::run(async { blocked_child() });
    let pid = child.id();
    drop(child);
    assert_eq!(probe::orphans(), 1, "parked");
    drop(stdin);
    wait_until_zombie(pid);
    sprout::run(async { Command::new("true").status().await.unwrap() });
    assert_eq!(probe::orphans(), 0);
    assert!(!s::is_our_child(pid));

    // One still running when parked is adopted by the next runtime's
    // reaper, which reaps it when it exits.
    let (child, stdin) = sprout::run(async { blocked_child() });
    let pid = child.id();
    drop(child);
    sprout::run(async {
        Command::new("true").status().await.unwrap();
        assert!(s::is_our_child(pid), "adopted, still running");
        assert_eq!(probe::orphans(), 1, "adopted by a reaper task");
        drop(stdin);
        s::eventually("the adopted child is reaped", Duration::from_secs(10), || !s::is_our_child(pid)).await;
    });
    assert_eq!(probe::orphans(), 0);

    // A runtime shut down while a dropped child runs: the reaper task is
    // killed and parks the child.
    let rt = sprout::Runtime::new().unwrap();
    let (pid, stdin) = rt.block_on(async {
        let (child, stdin) = blocked_child();
        (child.id(), stdin) // the child is dropped here: a reaper task
    });
    assert_eq!(probe::orphans(), 1);
    drop(rt);
    assert_eq!(probe::orphans(), 1, "parked by the killed reaper task");
    drop(stdin);
    wait_until_zombie(pid);
    sprout::run(async { Command::new("true").status().await.unwrap() });
    assert_eq!(probe::orphans(), 0);
    assert!(!s::is_our_child(pid));
    assert_eq!(s::our_zombies(), Vec::<u32>::new());
}

/// A child that runs until its stdin is closed.
fn blocked_child() -> (Child, ChildStdin) {
    let mut child = s::sh("read line").stdin(Stdio::piped()).spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    (child, stdin)
}

/// Waits (blocking: no runtime here) until `pid` has exited and is a zombie.
fn wait_until_zombie(pid: u32) {
    let start = Instant::now();
    while s::proc_state(pid).map(|(state, _)| state) != Some('Z') {
        assert!(start.elapsed() < Duration::from_secs(10), "the child did not exit");
        std::thread::sleep(Duration::from_millis(5));
    }
}
