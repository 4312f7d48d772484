//! Shared helpers for the network tests.
#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use sprout::net::{ServerHandle, StreamServer, TcpListener, TcpStream};

/// The echo handler of `examples/echo_server.rs`, line for line.
pub async fn echo(stream: TcpStream, upper: bool) -> io::Result<()> {
    let mut buf = vec![0; 8 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        if upper {
            buf[..n].make_ascii_uppercase();
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Starts an echo `StreamServer` on a free loopback port.
pub async fn echo_server() -> (SocketAddr, ServerHandle) {
    let server = StreamServer::bind("127.0.0.1:0", |stream, _| echo(stream, false)).await.unwrap();
    let addr = server.local_addr();
    (addr, server.start())
}

/// A connected pair of sprout streams over loopback: (client, server).
pub async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// Fails the test instead of hanging if `fut` takes more than 20 s (a
/// generous bound: a hang, not slowness, is what it catches).
pub async fn within<F: std::future::Future>(fut: F) -> F::Output {
    match sprout::timeout(Duration::from_secs(20), fut).await {
        Ok(out) => out,
        Err(_) => panic!("the test hung for 20 s"),
    }
}

/// Sets `SO_SNDBUF` and `SO_RCVBUF` small, so tests that fill buffers stay fast.
pub fn small_buffers(stream: &TcpStream) {
    let sock = socket2::SockRef::from(stream);
    sock.set_send_buffer_size(16 * 1024).unwrap();
    sock.set_recv_buffer_size(16 * 1024).unwrap();
}

/// Raises the descriptor limit and returns how many connections (two
/// descriptors each, client and server in this process) fit under it.
pub fn connections_that_fit(wanted: usize) -> usize {
    let limit = sprout::net::raise_fd_limit().unwrap_or(1024) as usize;
    wanted.min(limit.saturating_sub(64) / 2)
}
