//! `StreamServer::workers`: one listener per worker, connections spread by
//! the kernel, one handle to stop them all.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sprout::net::{StreamServer, TcpStream};
use support::echo_lent;

/// Accepts per thread.
type Accepts = Arc<Mutex<HashMap<std::thread::ThreadId, usize>>>;

/// An echo server on `n` workers that counts its accepts per thread.
async fn server(n: usize) -> (StreamServer<impl Fn(TcpStream, std::net::SocketAddr) -> Echo + Clone + Send>, Accepts) {
    let accepts: Accepts = Arc::default();
    let seen = accepts.clone();
    let server = StreamServer::bind("127.0.0.1:0", move |stream: TcpStream, _| {
        *seen.lock().unwrap().entry(std::thread::current().id()).or_default() += 1;
        Box::pin(echo_lent(stream)) as Echo
    })
    .await
    .unwrap()
    .workers(n);
    (server, accepts)
}

type Echo = std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>>>>;

async fn round_trip(stream: &TcpStream) {
    stream.write_all(b"ping").await.unwrap();
    let mut back = [0; 4];
    stream.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"ping");
}

/// Whether the server echoes on `stream` (false if it was reset unaccepted).
async fn served(stream: &TcpStream) -> bool {
    let mut back = [0; 4];
    stream.write_all(b"ping").await.is_ok() && stream.read_exact(&mut back).await.is_ok()
}

#[test]
fn connections_spread_over_every_worker() {
    sprout::run(async {
        let (server, accepts) = server(3).await;
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        assert_eq!(handle.workers(), 3);
        let mut clients = Vec::new();
        for _ in 0..300 {
            let client = TcpStream::connect(addr).await.unwrap();
            round_trip(&client).await;
            clients.push(client);
        }
        let per_thread: Vec<usize> = accepts.lock().unwrap().values().copied().collect();
        assert_eq!(per_thread.len(), 3, "every worker accepted: {per_thread:?}");
        assert_eq!(per_thread.iter().sum::<usize>(), 300);
        assert!(per_thread.iter().all(|&n| n > 0), "{per_thread:?}");
        assert_eq!(handle.connections(), 300, "connections() counts every worker's");
        drop(clients);
        assert_eq!(handle.stop_graceful(Duration::from_secs(5)).await, 0);
        assert_eq!(handle.connections(), 0);
    });
}

#[test]
fn stop_closes_every_workers_listener_and_keeps_their_connections() {
    sprout::run(async {
        let (server, accepts) = server(2).await;
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let mut clients = Vec::new();
        while accepts.lock().unwrap().len() < 2 {
            let client = TcpStream::connect(addr).await.unwrap();
            round_trip(&client).await;
            clients.push(client);
        }
        handle.stop();
        // No worker accepts any more: the port is closed everywhere. The
        // other worker closes its listener on its own thread: wait for the
        // first refusal, however slow the machine. A connection it took
        // before then is served like the others.
        sprout::timeout(Duration::from_secs(10), async {
            while let Ok(late) = TcpStream::connect(addr).await {
                if served(&late).await {
                    clients.push(late);
                }
            }
        })
        .await
        .expect("a worker still listens 10 s after the stop");
        for _ in 0..20 {
            assert!(TcpStream::connect(addr).await.is_err(), "a worker still listens");
        }
        // Every open connection, on either worker, is still served.
        for client in &clients {
            round_trip(client).await;
        }
        assert_eq!(handle.connections(), clients.len());
    });
}

#[test]
fn a_graceful_stop_drains_every_worker_and_kills_the_stragglers() {
    sprout::run(async {
        let (server, accepts) = server(2).await;
        let addr = server.local_addr().unwrap();
        let handle = server.handle();
        let serving = sprout::spawn(server.serve_forever());
        let mut idle = Vec::new();
        while accepts.lock().unwrap().len() < 2 || idle.len() < 10 {
            let client = TcpStream::connect(addr).await.unwrap();
            round_trip(&client).await;
            idle.push(client);
        }
        let open = idle.len();
        // The idle clients never close: the drain's deadline kills them all.
        let killed = handle.stop_graceful(Duration::from_millis(50)).await;
        assert_eq!(killed, open);
        assert_eq!(handle.connections(), 0);
        for client in &idle {
            let mut buf = [0; 1];
            assert_eq!(client.read(&mut buf).await.unwrap_or(0), 0, "the server closed it");
        }
        // serve_forever returns once every worker is done.
        sprout::timeout(Duration::from_secs(5), serving).await.unwrap().unwrap();
    });
}

#[test]
fn a_graceful_stop_after_repeated_stops_still_reaches_every_worker() {
    sprout::run(async {
        let (server, accepts) = server(2).await;
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let mut idle = Vec::new();
        while accepts.lock().unwrap().len() < 2 {
            let client = TcpStream::connect(addr).await.unwrap();
            round_trip(&client).await;
            idle.push(client);
        }
        // `stop` is idempotent: calling it again must not crowd the drain
        // out of a worker's command queue.
        for _ in 0..8 {
            handle.stop();
        }
        let killed = sprout::timeout(Duration::from_secs(5), handle.stop_graceful(Duration::from_millis(20))).await;
        assert_eq!(killed.expect("every worker heard the drain"), idle.len());
    });
}
