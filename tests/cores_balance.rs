//! `Balance::LeastConnections`: worker 0 hands each connection to the
//! worker with the fewest open ones. The placements asserted here follow
//! from the counts alone (worker 0 counts a connection at the hand-off), so
//! they do not depend on timing.

use std::time::Duration;

use sprout::cores::Core;
use sprout::net::server::Balance;
use sprout::net::{ServerHandle, StreamServer, TcpStream};

/// Tells the client which worker serves it (one byte), then echoes.
async fn tell_and_echo(stream: TcpStream) {
    let id = Core::current().map_or(0, |core| core.id());
    if stream.write_all(&[u8::try_from(id).unwrap()]).await.is_err() {
        return;
    }
    while let Ok(data) = stream.read_lent().await {
        if data.is_empty() || stream.write_all(&data).await.is_err() {
            break;
        }
    }
}

async fn start(n: usize) -> (ServerHandle, std::net::SocketAddr) {
    let server = StreamServer::bind("127.0.0.1:0", |s, _| tell_and_echo(s))
        .await
        .unwrap()
        .workers(n)
        .balance(Balance::LeastConnections);
    let addr = server.local_addr().unwrap();
    (server.start(), addr)
}

/// Connects and returns the client with the worker that serves it.
async fn connect(addr: std::net::SocketAddr) -> (TcpStream, u8) {
    let client = TcpStream::connect(addr).await.unwrap();
    let mut id = [0];
    client.read_exact(&mut id).await.unwrap();
    (client, id[0])
}

/// Waits (bounded) until the server counts `n` open connections: closes
/// are seen by other threads a moment later.
async fn until_open(handle: &ServerHandle, n: usize) {
    sprout::timeout(Duration::from_secs(10), async {
        while handle.connections() != n {
            sprout::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{} open, not {n}", handle.connections()));
}

#[test]
fn each_connection_goes_to_the_least_loaded_worker() {
    sprout::run(async {
        let (handle, addr) = start(3).await;
        let mut clients = Vec::new();
        let mut placed = Vec::new();
        for _ in 0..6 {
            let (client, id) = connect(addr).await;
            clients.push((client, id));
            placed.push(id);
        }
        // Equal loads: in turn.
        assert_eq!(placed, [0, 1, 2, 0, 1, 2]);
        // Worker 1 loses both of its connections: the next two go there.
        clients.retain(|(_, id)| *id != 1);
        until_open(&handle, 4).await;
        for _ in 0..2 {
            let (client, id) = connect(addr).await;
            assert_eq!(id, 1, "worker 1 has the fewest");
            clients.push((client, id));
        }
        assert_eq!(handle.connections(), 6);
        let open = clients.len();
        assert_eq!(handle.stop_graceful(Duration::from_millis(20)).await, open, "the idle ones are killed");
        assert_eq!(handle.connections(), 0);
    });
}

#[test]
fn the_counts_stay_right_under_churn() {
    sprout::run(async {
        let (handle, addr) = start(3).await;
        let mut open = Vec::new();
        // Opens and closes interleaved: every fourth step closes the oldest two.
        for step in 0..120 {
            let (client, _) = connect(addr).await;
            open.push(client);
            if step % 4 == 3 {
                open.drain(..2);
            }
        }
        drop(open);
        until_open(&handle, 0).await;
        // Every count is back to 0: three connections land on three workers.
        let mut placed: Vec<u8> = Vec::new();
        let mut clients = Vec::new();
        for _ in 0..3 {
            let (client, id) = connect(addr).await;
            placed.push(id);
            clients.push(client);
        }
        placed.sort_unstable();
        assert_eq!(placed, [0, 1, 2]);
        drop(clients);
        assert_eq!(handle.stop_graceful(Duration::from_secs(10)).await, 0);
    });
}

#[test]
fn connections_handed_over_before_a_stop_are_served_and_waited_for() {
    sprout::run(async {
        let (handle, addr) = start(2).await;
        // The kernel completes the handshakes; worker 0 has accepted none yet.
        let mut clients = Vec::new();
        for _ in 0..40 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        // Counted as soon as worker 0 hands them over, before worker 1 has
        // taken them from its inbox: stop now, with some likely in flight.
        until_open(&handle, 40).await;
        handle.stop();
        let mut on = [0; 2];
        for client in &clients {
            let mut id = [0];
            client.read_exact(&mut id).await.expect("served, not dropped");
            on[usize::from(id[0])] += 1;
            client.write_all(b"ping").await.unwrap();
            let mut back = [0; 4];
            client.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, b"ping");
        }
        assert_eq!(on, [20, 20]);
        assert!(TcpStream::connect(addr).await.is_err(), "the listener is closed");
        // The graceful stop waits for every one of them, on both workers.
        let closing = sprout::spawn(async move {
            sprout::sleep(Duration::from_millis(20)).await;
            drop(clients);
        });
        assert_eq!(handle.stop_graceful(Duration::MAX).await, 0, "none killed, none left behind");
        closing.await.unwrap();
        assert_eq!(handle.connections(), 0);
    });
}

#[test]
fn the_connection_limit_holds_on_each_worker() {
    sprout::run(async {
        let server = StreamServer::bind("127.0.0.1:0", |s, _| tell_and_echo(s))
            .await
            .unwrap()
            .workers(2)
            .max_connections(1)
            .balance(Balance::LeastConnections);
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let (first, on_first) = connect(addr).await;
        let (second, on_second) = connect(addr).await;
        assert_eq!([on_first, on_second], [0, 1]);
        // Both workers are full: the third waits in the backlog, unserved.
        let third = TcpStream::connect(addr).await.unwrap();
        sprout::sleep(Duration::from_millis(30)).await;
        assert_eq!(handle.connections(), 2, "no worker went over its limit");
        // Worker 1 frees its slot: the waiting connection goes there.
        drop(second);
        let mut id = [0];
        third.read_exact(&mut id).await.unwrap();
        assert_eq!(id[0], 1);
        drop((first, third));
        assert_eq!(handle.stop_graceful(Duration::from_secs(10)).await, 0);
    });
}
