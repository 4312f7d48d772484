//! sprout::process: no zombie is left behind, whether children are waited
//! for, dropped, or dropped after their runtime is gone. One test, so that
//! no other test's children show up in the zombie count.

mod process_support;

use std::time::Duration;

use process_support as s;
use sprout::process::{Command, probe};

#[test]
fn no_zombies() {
    // 1,000 short children waited for, then 1,000 dropped unwaited.
    sprout::run(s::many_children(1000));
    sprout::run(async {
        s::eventually("the reaper is done", Duration::from_secs(30), || probe::orphans() == 0).await;
    });
    assert_eq!(s::our_zombies(), Vec::<u32>::new());

    // A child dropped after its runtime is gone is parked, and the next
    // spawn (in another runtime) reaps it.
    let child = sprout::run(async { Command::new("sleep").arg("0.05").spawn().unwrap() });
    let pid = child.id();
    drop(child);
    assert_eq!(probe::orphans(), 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(s::proc_state(pid).map(|(state, _)| state), Some('Z'), "exited, not reaped yet");
    sprout::run(async { Command::new("true").status().await.unwrap() });
    assert_eq!(probe::orphans(), 0);
    assert!(!s::is_our_child(pid));

    // One still running when parked is adopted by the next runtime's
    // reaper, which reaps it when it exits.
    let child = sprout::run(async { Command::new("sleep").arg("0.2").spawn().unwrap() });
    let pid = child.id();
    drop(child);
    sprout::run(async {
        Command::new("true").status().await.unwrap();
        assert!(s::is_our_child(pid), "still running");
        s::eventually("the adopted child is reaped", Duration::from_secs(10), || !s::is_our_child(pid)).await;
    });
    assert_eq!(probe::orphans(), 0);

    // A runtime shut down while a dropped child runs: the reaper task is
    // killed and parks the child.
    let rt = sprout::Runtime::new().unwrap();
    let pid = rt.block_on(async { Command::new("sleep").arg("0.05").spawn().unwrap().id() });
    assert_eq!(probe::orphans(), 1);
    drop(rt);
    assert_eq!(probe::orphans(), 1);
    std::thread::sleep(Duration::from_millis(300));
    sprout::run(async { Command::new("true").status().await.unwrap() });
    assert!(!s::is_our_child(pid));
    assert_eq!(s::our_zombies(), Vec::<u32>::new());
}
