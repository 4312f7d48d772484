//! The echo servers several benches compare: the hand-written mio loop
//! (the epoll floor), sprout's `examples/echo_server.rs` handler, and the
//! same loop on tokio's current_thread runtime. Each prints its address
//! (`server_process::announce`) and serves until killed. Used by
//! `benches/echo.rs` and `benches/uring_echo.rs`.
#![allow(dead_code)]

use std::io::{self, Read, Write};

use crate::support::server_process::announce;

/// The read buffer of the mio and tokio servers.
pub(crate) const BUFFER: usize = 8 * 1024;

/// sprout: `examples/echo_server.rs`'s handler on a `StreamServer`.
pub(crate) fn serve_sprout() {
    async fn echo(stream: sprout::net::TcpStream) -> io::Result<()> {
        loop {
            let data = stream.read_lent().await?;
            if data.is_empty() {
                return Ok(());
            }
            stream.write_all(&data).await?;
        }
    }
    sprout::run(async {
        let server = sprout::net::StreamServer::bind("127.0.0.1:0", |s, _| echo(s)).await.unwrap();
        announce(server.local_addr().unwrap());
        server.serve_forever().await;
    });
}

/// tokio: the same loop, a task per connection, current_thread runtime.
pub(crate) fn serve_tokio() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        announce(listener.local_addr().unwrap());
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            tokio::spawn(async move {
                let mut buf = vec![0; BUFFER];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
}

/// The floor: one epoll loop, a state machine per connection, no tasks.
/// A request costs one read, one write and a share of one epoll_wait: a
/// short read means the socket is drained (edge-triggered), so the loop
/// never reads just to see EAGAIN.
pub(crate) fn serve_mio() -> io::Result<()> {
    use mio::net::TcpListener;
    use mio::{Events, Interest, Poll, Token};

    struct Conn {
        stream: mio::net::TcpStream,
        buf: Vec<u8>,
        /// Bytes read and not yet written back: `buf[from..to]`.
        from: usize,
        to: usize,
    }

    const LISTENER: Token = Token(usize::MAX);
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
    announce(listener.local_addr()?);
    let mut conns: slab::Slab<Conn> = slab::Slab::new();

    /// Writes what is pending, then reads and echoes until the socket is
    /// drained or the peer stops taking data. Returns false to close.
    fn drive(c: &mut Conn) -> bool {
        loop {
            while c.from < c.to {
                match c.stream.write(&c.buf[c.from..c.to]) {
                    Ok(n) => c.from += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true, // wait for WRITABLE
                    Err(_) => return false,
                }
            }
            match c.stream.read(&mut c.buf) {
                Ok(0) => return false,
                Ok(n) => {
                    (c.from, c.to) = (0, n);
                    let drained = n < c.buf.len();
                    // Write back at once; a short read means nothing more is queued.
                    while c.from < c.to {
                        match c.stream.write(&c.buf[c.from..c.to]) {
                            Ok(w) => c.from += w,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                            Err(_) => return false,
                        }
                    }
                    if drained {
                        return true;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
        }
    }

    loop {
        poll.poll(&mut events, None)?;
        for event in events.iter() {
            if event.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            let entry = conns.vacant_entry();
                            poll.registry().register(
                                &mut stream,
                                Token(entry.key()),
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            entry.insert(Conn { stream, buf: vec![0; BUFFER], from: 0, to: 0 });
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(_) => break,
                    }
                }
                continue;
            }
            let key = event.token().0;
            let Some(c) = conns.get_mut(key) else { continue };
            // A WRITABLE-only edge with nothing pending needs no syscall.
            if !event.is_readable() && !event.is_read_closed() && !event.is_error() && c.from == c.to {
                continue;
            }
            if !drive(c) {
                let mut c = conns.remove(key);
                poll.registry().deregister(&mut c.stream)?;
            }
        }
    }
}
