//! A UDP echo server on gevent's `DatagramServer`, and its client.
//!
//! ```text
//! cargo run --example udp_echo                       # server on 127.0.0.1:9000
//! cargo run --example udp_echo -- --addr 127.0.0.1:9100
//! cargo run --example udp_echo -- --send "hello"     # client: send one datagram, print the reply
//! ```
//!
//! Each datagram runs the handler in its own green task, which replies
//! through the server's socket: upper-cased, like the TCP demo.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use sprout::net::server::Reply;
use sprout::net::{DatagramServer, UdpSocket};

async fn handle(data: Vec<u8>, peer: SocketAddr, reply: Reply) -> io::Result<()> {
    println!("{peer} sent {:?}", String::from_utf8_lossy(&data));
    reply.send(&data.to_ascii_uppercase()).await?;
    Ok(())
}

async fn client(addr: &str, message: &str) -> io::Result<()> {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    socket.connect(addr).await?;
    socket.set_read_timeout(Some(Duration::from_secs(2)))?;
    socket.send(message.as_bytes()).await?;
    let mut buf = vec![0; 65_536];
    let n = socket.recv(&mut buf).await?;
    println!("{}", String::from_utf8_lossy(&buf[..n]));
    Ok(())
}

fn main() {
    let mut addr = "127.0.0.1:9000".to_string();
    let mut send = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            ("--send", Some(value)) => send = Some(value),
            _ => {
                eprintln!("usage: udp_echo [--addr HOST:PORT] [--send MESSAGE]");
                std::process::exit(2);
            }
        }
    }
    let result = sprout::run(async move {
        if let Some(message) = send {
            return client(&addr, &message).await;
        }
        let server = DatagramServer::bind(addr.as_str(), handle).await?;
        println!("UDP echo server on {}", server.local_addr()?);
        server.serve_forever().await;
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("udp_echo: {e}");
        std::process::exit(1);
    }
}
