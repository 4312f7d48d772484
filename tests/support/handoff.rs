//! The harness of the thread-safe hand-off tests (`mod handoff` in
//! `sync_threadsafe.rs` and `queue_threadsafe.rs`): a thread grants at
//! about the moment a task's deadline falls, round after round.

use std::thread;
use std::time::Duration;

use sprout::queue::threadsafe::Queue;

/// Rounds per test: few under Miri, which runs these tests under many
/// seeds of its scheduler (`.ci/run`).
pub(crate) const ROUNDS: u32 = if cfg!(miri) { 4 } else { 150 };

/// The task's deadline in each round.
pub(crate) const DEADLINE: Duration = Duration::from_millis(1);

/// The thread's delay before it grants in `round`: before, around and
/// after the task's deadline.
pub(crate) fn delay(round: u32) -> Duration {
    Duration::from_micros(u64::from(round % 5) * 300)
}

/// Closes `go` and waits, without being woken from the thread, until
/// the thread is gone: the runtime must outlive a foreign wake still in
/// flight (issue 8, bug 4, is about a `Remote::post` that outlives it).
pub(crate) async fn finish(go: &Queue<u32>, thread: &thread::JoinHandle<()>) {
    go.close();
    while !thread.is_finished() {
        sprout::sleep(Duration::from_millis(1)).await;
    }
}
