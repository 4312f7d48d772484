//! Shared helpers for sprout-compat's tests: a hang guard, a counting drop,
//! re-running the test binary as a child (for what the process-wide side
//! runtime's configuration must see fresh), and waiting on a condition
//! another thread makes true.
#![allow(dead_code)]

use std::future::Future;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Runs `test` on a fresh sprout runtime, failing it if it takes longer
/// than 20 s (a hang would otherwise stall the whole suite).
pub(crate) fn run<F: Future<Output = ()>>(test: F) {
    sprout::run(async {
        sprout::timeout(Duration::from_secs(20), test).await.expect("the test hung");
    });
}

/// Counts drops; `Send`, so it may ride in a tokio task.
#[derive(Clone, Default, Debug)]
pub(crate) struct Drops(Arc<AtomicUsize>);

impl Drops {
    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
    /// A guard that bumps the count when dropped.
    pub(crate) fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }
}

pub(crate) struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Waits (on the sprout task, 1 ms naps) until `done` holds; fails after
/// 10 s. For a condition that another thread (the side runtime's) makes
/// true, so no event of ours can announce it.
pub(crate) async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(10), "still waiting for {what}");
        sprout::sleep(Duration::from_millis(1)).await;
    }
}

/// True in a child started by [`child`].
pub(crate) fn is_child() -> bool {
    std::env::var_os("SPROUT_COMPAT_CHILD").is_some()
}

/// Runs the test `name` of this binary again in a child process (with
/// `SPROUT_COMPAT_CHILD` set), so it meets a side runtime nobody started.
pub(crate) fn child(name: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("SPROUT_COMPAT_CHILD", "1")
        .output()
        .unwrap()
}

/// Asserts that the child run of `name` passed, showing its output if not.
pub(crate) fn child_passes(name: &str) {
    let out = child(name);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "child {name} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
