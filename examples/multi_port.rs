//! Two ports, one thread: the seeds' `select`-based server on 8001 and
//! 8002, as one `StreamServer` with two listeners.
//!
//! ```text
//! cargo run --example multi_port                        # 127.0.0.1:8001 and :8002
//! cargo run --example multi_port -- 127.0.0.1:9001 127.0.0.1:9002
//! ```
//!
//! Python needed `select.select` over both listening sockets and every
//! connection, and a hand-kept list of who is writable. Here each listener
//! has its own accept task, each connection its own task, and the loop does
//! the multiplexing. Every message gets "OK from <port>" back.

use std::io;
use std::net::SocketAddr;

use sprout::net::{StreamServer, TcpStream};

async fn talk(stream: TcpStream, peer: SocketAddr) -> io::Result<()> {
    let port = stream.local_addr()?.port();
    println!("new connection on port {port} from {peer}");
    let mut buf = [0; 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            println!("{peer} left port {port}");
            return Ok(());
        }
        println!("{peer} on port {port} says {:?}", String::from_utf8_lossy(&buf[..n]));
        stream.write_all(format!("OK from {port}\n").as_bytes()).await?;
    }
}

fn main() {
    let mut addrs: Vec<String> = std::env::args().skip(1).collect();
    if addrs.is_empty() {
        addrs = vec!["127.0.0.1:8001".into(), "127.0.0.1:8002".into()];
    }
    let result = sprout::run(async move {
        let mut server = StreamServer::new(talk);
        for addr in &addrs {
            server = server.listen(addr.as_str()).await?;
        }
        let handle = server.handle();
        let shown: Vec<String> = handle.local_addrs().iter().map(ToString::to_string).collect();
        println!("listening on {} (one thread)", shown.join(" and "));
        server.serve_forever().await;
        io::Result::Ok(())
    });
    if let Err(e) = result {
        eprintln!("multi_port: {e}");
        std::process::exit(1);
    }
}
