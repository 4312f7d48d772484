//! Workers off Linux: every worker accepts on one shared listening socket.
//!
//! On Linux each worker gets a listener of its own, a `SO_REUSEPORT`
//! sibling bound to the same address, and the kernel hashes each incoming
//! connection to one of them (`workers.rs`). Elsewhere that does not
//! spread the load:
//!
//! - macOS (and iOS): `SO_REUSEPORT` lets several sockets bind the port,
//!   but does not balance: the most recently bound listener gets every
//!   connection, so one worker would serve them all.
//! - FreeBSD: `SO_REUSEPORT` behaves as on macOS; the balancing option is
//!   `SO_REUSEPORT_LB`. sprout does not use it yet: the first listener is
//!   bound by `StreamServer::bind` before anyone asks for workers, and
//!   which sockets join the balancing group when the option is set after
//!   the bind is a kernel detail that cannot be tested here.
//!
//! So off Linux every worker gets a duplicate (`dup`) of worker 0's
//! listening socket: one socket, one accept queue, registered with every
//! worker's own kqueue. A new connection wakes every worker; each calls
//! `accept` once, one wins, and the others get `WouldBlock` and wait for
//! the next one. The cost is a wake-up and an `accept` per idle worker per
//! connection (a thundering herd, fine for the few workers a machine has
//! and a developer's machine's connection rate); the gain is that a busy
//! worker, slow to come back to its loop, takes fewer connections, and no
//! user-space hand-off or lock is needed. Closing: each worker closes its
//! copy at `stop`, and the port closes when the last copy does.
//!
//! This is also Linux's fallback when a `SO_REUSEPORT` sibling cannot be
//! bound, and the unit test below runs a server this way on Linux, so the
//! only part not run by CI off Linux is the OS's kqueue underneath.

use std::io;
use std::os::fd::AsFd;

use crate::tcp::TcpListener;

/// A second descriptor for `listener`'s socket, for another worker to
/// register with its own runtime.
pub(super) fn share(listener: &TcpListener) -> io::Result<std::net::TcpListener> {
    listener.as_fd().try_clone_to_owned().map(std::net::TcpListener::from)
}

/// The other workers' listeners off Linux: `n` shares of `listener` (see
/// the module docs; the shared socket already listens with `backlog`). A
/// share that cannot be made (no descriptor left) leaves that worker
/// without this listener, and stderr says so.
#[cfg_attr(all(target_os = "linux", not(test)), allow(dead_code, reason = "on Linux only the unit test shares"))]
pub(super) fn siblings(listener: &TcpListener, n: usize, _backlog: u32) -> Vec<std::net::TcpListener> {
    (0..n)
        .filter_map(|_| match share(listener) {
            Ok(copy) => Some(copy),
            Err(e) => {
                sprout_runtime::__report!(
                    event: WARN(target: "sprout::server", error = %e, "StreamServer: a worker gets no listener"),
                    stderr: "sprout: StreamServer: a worker gets no listener: {e}",
                );
                None
            }
        })
        .collect()
}

#[cfg(test)]
thread_local! {
    /// Makes `reuseport::siblings` on this thread share listeners as off
    /// Linux.
    pub(super) static FORCE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::time::Duration;

    use socket2::Socket;

    use crate::{StreamServer, TcpListener, TcpStream};

    /// The off-Linux placement, on Linux: three workers on one socket serve
    /// every connection, count them all, and a stop closes the port.
    #[test]
    fn workers_sharing_one_listener_serve_and_stop() {
        super::FORCE.with(|force| force.set(true));
        sprout_runtime::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            // A look at the socket while the server owns it.
            let socket = Socket::from(listener.as_fd().try_clone_to_owned().unwrap());
            let server = StreamServer::new(|stream: TcpStream, _| async move {
                while let Ok(data) = stream.read_lent().await {
                    if data.is_empty() || stream.write_all(&data).await.is_err() {
                        break;
                    }
                }
            })
            .add_listener(listener)
            .workers(3);
            let addr = server.local_addr().unwrap();
            let handle = server.start();
            assert_eq!(handle.workers(), 3);
            assert!(!socket.reuse_port().unwrap(), "shared, not given SO_REUSEPORT siblings");
            drop(socket);
            let mut clients = Vec::new();
            for _ in 0..60 {
                let client = TcpStream::connect(addr).await.unwrap();
                client.write_all(b"ping").await.unwrap();
                let mut back = [0; 4];
                client.read_exact(&mut back).await.unwrap();
                assert_eq!(&back, b"ping");
                clients.push(client);
            }
            assert_eq!(handle.connections(), 60, "connections() counts every worker's");
            drop(clients);
            assert_eq!(handle.stop_graceful(Duration::from_secs(10)).await, 0);
            assert!(TcpStream::connect(addr).await.is_err(), "every copy of the listener is closed");
        });
        super::FORCE.with(|force| force.set(false));
    }
}
