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

/// What a connection's handler saw of its worker: `Core::current()`'s id
/// and count, and the thread's name.
type Seen = (Option<(usize, usize)>, Option<String>);

/// Writes `seen` as one line and closes.
async fn tell(stream: TcpStream, seen: Seen) {
    let _ = stream.write_all(format!("{seen:?}\n").as_bytes()).await;
}

/// Connects until every one of `n` workers has answered; returns each
/// distinct answer.
async fn answers_of_every_worker(addr: std::net::SocketAddr, n: usize) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..400 {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut line = String::new();
        stream.read_to_string(&mut line).await.unwrap();
        seen.insert(line);
        if seen.len() == n {
            break;
        }
    }
    seen
}

fn current() -> Seen {
    let core = sprout::cores::Core::current().map(|core| (core.id(), core.count()));
    (core, std::thread::current().name().map(str::to_owned))
}

#[test]
fn worker_i_is_core_i_of_n_on_a_thread_named_for_i() {
    // Issue 21: worker 0 used to be no core at all and worker 1 "core 0
    // of 1", on a thread named `sprout-server-0`.
    sprout::run(async {
        let server =
            StreamServer::bind("127.0.0.1:0", |stream: TcpStream, _| tell(stream, current())).await.unwrap().workers(3);
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let me = std::thread::current().name().map(str::to_owned);
        assert_eq!(current(), (Some((0, 3)), me.clone()), "the starting runtime is worker 0 of 3");
        let seen = answers_of_every_worker(addr, 3).await;
        let expected: std::collections::BTreeSet<String> = [
            format!("{:?}\n", (Some((0, 3)), me)),
            format!("{:?}\n", (Some((1, 3)), Some("sprout-server-1"))),
            format!("{:?}\n", (Some((2, 3)), Some("sprout-server-2"))),
        ]
        .into();
        assert_eq!(seen, expected);
        assert_eq!(handle.worker_handles().len(), 2, "the handles of workers 1 and 2");
        handle.stop_graceful(Duration::from_secs(5)).await;
        assert_eq!(sprout::cores::Core::current().map(|c| c.id()), None, "once the workers are joined, no core");
    });
}

#[test]
fn workers_with_builds_each_workers_own_state_on_its_thread() {
    use std::cell::Cell;
    use std::rc::Rc;
    // Worker i's handler counts its connections in a `!Send` cell of its own.
    fn counting(i: usize) -> impl Fn(TcpStream, std::net::SocketAddr) -> Echo {
        let made_on = std::thread::current().name().map(str::to_owned);
        let index = sprout::cores::Core::current().map(|core| core.id());
        let served = Rc::new(Cell::new(0u32));
        move |stream, _| {
            served.set(served.get() + 1);
            let line = format!("{i} {index:?} {made_on:?} {}\n", served.get());
            Box::pin(async move { stream.write_all(line.as_bytes()).await })
        }
    }
    sprout::run(async {
        let server = StreamServer::bind("127.0.0.1:0", counting(0)).await.unwrap().workers_with(2, counting);
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let mut counts = [0u32; 2];
        while counts.contains(&0) || counts.iter().sum::<u32>() < 20 {
            let stream = TcpStream::connect(addr).await.unwrap();
            let mut line = String::new();
            stream.read_to_string(&mut line).await.unwrap();
            let fields: Vec<&str> = line.split_whitespace().collect();
            let i: usize = fields[0].parse().unwrap();
            let n: u32 = fields.last().unwrap().parse().unwrap();
            counts[i] += 1;
            assert_eq!(n, counts[i], "worker {i} counts its own connections: {line}");
            if i == 1 {
                // Built on worker 1's thread, inside its runtime.
                assert_eq!(&fields[1..3], ["Some(1)", "Some(\"sprout-server-1\")"], "{line}");
            }
        }
        handle.stop_graceful(Duration::from_secs(5)).await;
    });
}
