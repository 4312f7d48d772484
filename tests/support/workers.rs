//! Paused-time tests of a server on two workers (issue 18, bug 9), shared
//! by `tests/time_shared.rs` and sprout-http's `http/tests/server_workers.rs`
//! (which includes this file by path): connections spread until both
//! workers hold some, whichever the kernel picks, and the check that a
//! server-side timeout closed every one of them.

use std::future::Future;
use std::time::{Duration, Instant};

use sprout_net::TcpStream;
use sprout_runtime::time;

/// Opens connections with `connect`, which returns the worker a connection
/// landed on (0: the test's own runtime, 1: the other) and the stream,
/// until at least `n` are open and each worker holds some.
pub(crate) async fn on_both_workers<F, Fut>(n: usize, mut connect: F) -> Vec<(u8, TcpStream)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = (u8, TcpStream)>,
{
    let (mut conns, mut on) = (Vec::new(), [0; 2]);
    while conns.len() < n || on.contains(&0) {
        assert!(conns.len() < 200, "the kernel never picked one of the workers: {on:?}");
        let (worker, conn) = connect().await;
        on[usize::from(worker)] += 1;
        conns.push((worker, conn));
    }
    conns
}

/// Asserts that the server closed every connection: a read returns EOF at
/// once. An open one waits, and a timeout of one (virtual) second ends it.
pub(crate) async fn assert_all_closed(conns: &[(u8, TcpStream)], start: Instant) {
    for (worker, conn) in conns {
        let read = time::timeout(Duration::from_secs(1), conn.read(&mut [0; 1])).await;
        assert!(
            matches!(read, Ok(Ok(0))),
            "a connection on worker {worker} was still open after {:?} of virtual time: {read:?}",
            time::now() - start
        );
    }
}
