//! Workers on Linux: a `SO_REUSEPORT` sibling listener per worker.
//!
//! Every listener of the server gets `SO_REUSEPORT` (set after the fact on
//! a listener already bound, which Linux accepts: the reuseport group forms
//! when a sibling binds), and each extra worker binds a sibling on the same
//! address; the kernel then hashes each connection to one listener. A
//! sibling that cannot be bound falls back to sharing worker 0's socket
//! (`shared_listener.rs`, the placement used off Linux).

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::shared_listener;
use crate::tcp::TcpListener;

/// `n` listeners on `listener`'s address for the other workers, as std
/// listeners (each worker registers its own with its runtime).
pub(super) fn siblings(listener: &TcpListener, n: usize, backlog: u32) -> Vec<std::net::TcpListener> {
    #[cfg(test)]
    if shared_listener::FORCE.with(std::cell::Cell::get) {
        return shared_listener::siblings(listener, n, backlog);
    }
    let bound = SockRef::from(listener).set_reuse_port(true).and_then(|()| listener.local_addr());
    let mut out = Vec::with_capacity(n);
    let mut warned = false;
    for _ in 0..n {
        let sibling = bound.as_ref().map_err(|e| io::Error::new(e.kind(), e.to_string())).and_then(|addr| {
            let only_v6 = if addr.is_ipv6() { SockRef::from(listener).only_v6().ok() } else { None };
            bind_sibling(*addr, backlog, only_v6)
        });
        let sibling = sibling.or_else(|e| {
            if !warned {
                warned = true;
                sprout_runtime::__report!(
                    event: WARN(
                        target: "sprout::server",
                        error = %e,
                        "StreamServer: no SO_REUSEPORT listener for a worker; sharing one socket"
                    ),
                    stderr: "sprout: StreamServer: no SO_REUSEPORT listener for a worker ({e}); sharing one socket",
                );
            }
            shared_listener::share(listener)
        });
        match sibling {
            Ok(sibling) => out.push(sibling),
            Err(e) => sprout_runtime::__report!(
                event: WARN(target: "sprout::server", error = %e, "StreamServer: a worker gets no listener"),
                stderr: "sprout: StreamServer: a worker gets no listener: {e}",
            ),
        }
    }
    out
}

/// A non-blocking listener with `SO_REUSEADDR` and `SO_REUSEPORT` on `addr`.
fn bind_sibling(addr: SocketAddr, backlog: u32, only_v6: Option<bool>) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM.nonblocking(), Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if let Some(only_v6) = only_v6 {
        socket.set_only_v6(only_v6)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    Ok(socket.into())
}
