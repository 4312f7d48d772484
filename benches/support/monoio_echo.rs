//! monoio's echo server, a peer of the io_uring spike (`benches/uring_echo.rs`):
//! a task per connection on monoio's thread-per-core runtime, with its
//! io_uring driver or its epoll ("legacy") driver, both at monoio's
//! defaults. The loop is monoio's own echo example: ownership-passing
//! reads into an 8 KiB buffer (the floor's size), `write_all` of what came.

use monoio::io::{AsyncReadRent, AsyncWriteRentExt};

use crate::echo_servers::BUFFER;
use crate::support::server_process::announce;

/// Serves with the io_uring driver, or with the epoll one if `legacy`.
pub(crate) fn serve(legacy: bool) {
    let _ = sprout::net::raise_fd_limit();
    if legacy {
        let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new().build().expect("monoio, epoll driver");
        rt.block_on(accept_loop());
    } else {
        let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new().build().expect("monoio, io_uring driver");
        rt.block_on(accept_loop());
    }
}

async fn accept_loop() {
    let listener = monoio::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    announce(listener.local_addr().expect("the listener's address"));
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        monoio::spawn(echo(stream));
    }
}

async fn echo(mut stream: monoio::net::TcpStream) {
    let mut buf: Vec<u8> = Vec::with_capacity(BUFFER);
    loop {
        // A read fills the vector's spare capacity and sets its length.
        let (res, read) = stream.read(buf).await;
        buf = read;
        match res {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let (res, written) = stream.write_all(buf).await;
        buf = written;
        if res.is_err() {
            return;
        }
        buf.clear();
    }
}
