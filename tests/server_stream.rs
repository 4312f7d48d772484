//! StreamServer: stop, graceful stop, the connection limit, several
//! listeners, handler failures.

mod support;

use std::cell::Cell;
use std::io::ErrorKind;
use std::rc::Rc;
use std::time::Duration;

use sprout::net::{StreamServer, TcpListener, TcpStream};
use support::{echo, within};

async fn round_trip(stream: &TcpStream, msg: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(msg).await?;
    let mut back = vec![0; msg.len()];
    stream.read_exact(&mut back).await?;
    Ok(back)
}

#[test]
fn stop_closes_the_listener_and_keeps_connections() {
    sprout::run(within(async {
        let server = StreamServer::bind("127.0.0.1:0", |s, _| echo(s, false)).await.unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let open = TcpStream::connect(addr).await.unwrap();
        assert_eq!(round_trip(&open, b"before").await.unwrap(), b"before");
        handle.stop();
        assert!(handle.is_stopped());
        handle.stop(); // idempotent
        // The listener is closed at once: new connections are refused.
        assert_eq!(TcpStream::connect(addr).await.unwrap_err().kind(), ErrorKind::ConnectionRefused);
        // The open connection is still served.
        assert_eq!(round_trip(&open, b"after").await.unwrap(), b"after");
        assert_eq!(handle.connections(), 1);
        drop(open);
        handle.stopped().await;
    }));
}

#[test]
fn serve_forever_returns_after_stop() {
    sprout::run(within(async {
        let server = StreamServer::bind("127.0.0.1:0", |s, _| echo(s, true)).await.unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.handle();
        let serving = sprout::spawn(server.serve_forever());
        let client = TcpStream::connect(addr).await.unwrap();
        assert_eq!(round_trip(&client, b"upper").await.unwrap(), b"UPPER");
        assert!(!serving.is_finished());
        handle.stop();
        serving.await.unwrap();
    }));
}

#[test]
fn dropping_serve_forever_stops_the_server() {
    sprout::run(within(async {
        let server = StreamServer::bind("127.0.0.1:0", |s, _| echo(s, false)).await.unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.handle();
        let serving = sprout::spawn(server.serve_forever());
        sprout::yield_now().await;
        serving.kill();
        assert!(handle.is_stopped());
        assert_eq!(TcpStream::connect(addr).await.unwrap_err().kind(), ErrorKind::ConnectionRefused);
    }));
}

#[test]
fn graceful_stop_waits_for_connections_that_finish() {
    sprout::run(within(async {
        // Each connection sleeps 50 ms, then says goodbye and closes.
        let server = StreamServer::bind("127.0.0.1:0", |s: TcpStream, _| async move {
            sprout::sleep(Duration::from_millis(50)).await;
            s.write_all(b"bye").await
        })
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let clients: Vec<_> = futures::future::join_all((0..5).map(|_| TcpStream::connect(addr))).await;
        while handle.connections() < 5 {
            sprout::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(handle.stop_graceful(Duration::from_secs(10)).await, 0, "all finished in time");
        for client in clients {
            let mut text = String::new();
            client.unwrap().read_to_string(&mut text).await.unwrap();
            assert_eq!(text, "bye");
        }
    }));
}

#[test]
fn graceful_stop_kills_connections_that_outlive_the_timeout() {
    sprout::run(within(async {
        let dropped = Rc::new(Cell::new(0));
        let server = StreamServer::bind("127.0.0.1:0", {
            let dropped = dropped.clone();
            move |s: TcpStream, _| {
                let guard = DropCounter(dropped.clone());
                async move {
                    let _guard = guard;
                    let _s = s;
                    sprout::sleep(Duration::from_secs(3600)).await; // never finishes by itself
                }
            }
        })
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let a = TcpStream::connect(addr).await.unwrap();
        let b = TcpStream::connect(addr).await.unwrap();
        while handle.connections() < 2 {
            sprout::sleep(Duration::from_millis(1)).await;
        }
        let start = std::time::Instant::now();
        assert_eq!(handle.stop_graceful(Duration::from_millis(30)).await, 2);
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert_eq!(dropped.get(), 2, "the killed handlers' futures were dropped");
        assert_eq!(handle.connections(), 0);
        // Their sockets were closed: the clients read EOF.
        for client in [a, b] {
            let mut buf = [0; 1];
            assert_eq!(client.read(&mut buf).await.unwrap(), 0);
        }
    }));
}

struct DropCounter(Rc<Cell<usize>>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn accept_pauses_at_the_connection_limit() {
    sprout::run(within(async {
        let server = StreamServer::bind("127.0.0.1:0", |s, _| echo(s, false)).await.unwrap().max_connections(2);
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let a = TcpStream::connect(addr).await.unwrap();
        let b = TcpStream::connect(addr).await.unwrap();
        assert_eq!(round_trip(&a, b"a").await.unwrap(), b"a");
        assert_eq!(round_trip(&b, b"b").await.unwrap(), b"b");
        // The third connects (the kernel completes the handshake into the
        // backlog) but is not accepted while two are open.
        let c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"c").await.unwrap();
        sprout::sleep(Duration::from_millis(50)).await;
        assert_eq!(handle.connections(), 2);
        let mut buf = [0; 1];
        c.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        assert_eq!(c.read(&mut buf).await.unwrap_err().kind(), ErrorKind::TimedOut);
        // One closes: the third is accepted and served.
        drop(a);
        c.set_read_timeout(None).unwrap();
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"c");
        assert_eq!(handle.connections(), 2);
        drop((b, c));
        assert_eq!(handle.stop_graceful(Duration::from_secs(10)).await, 0);
    }));
}

#[test]
fn one_server_many_listeners() {
    sprout::run(within(async {
        let port_of = |s: TcpStream, _| async move {
            let port = s.local_addr()?.port();
            s.write_all(format!("{port}").as_bytes()).await
        };
        let extra = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = StreamServer::new(port_of)
            .backlog(64)
            .listen("127.0.0.1:0")
            .await
            .unwrap()
            .listen("127.0.0.1:0")
            .await
            .unwrap()
            .add_listener(extra);
        let handle = server.start();
        let addrs = handle.local_addrs();
        assert_eq!(addrs.len(), 3);
        for addr in addrs {
            let client = TcpStream::connect(addr).await.unwrap();
            let mut text = String::new();
            client.read_to_string(&mut text).await.unwrap();
            assert_eq!(text, addr.port().to_string());
        }
        handle.stop();
        assert!(handle.stop_graceful(Duration::from_secs(10)).await == 0);
    }));
}

#[test]
fn a_failing_or_panicking_handler_does_not_stop_the_server() {
    sprout::run(within(async {
        let calls = Rc::new(Cell::new(0));
        let server = StreamServer::bind("127.0.0.1:0", {
            let calls = calls.clone();
            move |s: TcpStream, _| {
                let n = calls.get();
                calls.set(n + 1);
                if n == 3 {
                    panic!("handler 3 panics before returning its future (expected in test output)");
                }
                async move {
                    match n {
                        0 => Err(std::io::Error::other("handler 0 fails on purpose (expected in test output)")),
                        1 => panic!("handler 1 panics on purpose (expected in test output)"),
                        _ => s.write_all(b"fine").await,
                    }
                }
            }
        })
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        for want in ["", "", "fine", "", "fine"] {
            let client = TcpStream::connect(addr).await.unwrap();
            let mut text = String::new();
            client.read_to_string(&mut text).await.unwrap();
            assert_eq!(text, want);
        }
        assert_eq!(calls.get(), 5);
        handle.stop();
    }));
}

// ---- Graceful stops that wait, and bad input ----

#[test]
fn a_request_in_flight_gets_its_full_answer_before_serve_forever_returns() {
    // The client is a std socket on its own thread, so it outlives the
    // runtime: if `serve_forever` returned before the drain (it did), the
    // runtime ended and killed the handler mid-answer.
    const ANSWER: usize = 200_000; // several writes' worth
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let client = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let addr = addr_rx.recv().unwrap();
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        stream.write_all(b"request!").unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        answer.len()
    });
    let log = support::Log::new();
    sprout::run(within({
        let log = log.clone();
        async move {
            let got_request = Rc::new(sprout::sync::Event::new());
            let server = StreamServer::bind("127.0.0.1:0", {
                let (log, got_request) = (log.clone(), got_request.clone());
                move |s: TcpStream, _| {
                    let (log, got_request) = (log.clone(), got_request.clone());
                    async move {
                        let mut request = [0; 8];
                        s.read_exact(&mut request).await?;
                        log.push("request");
                        got_request.set();
                        sprout::sleep(Duration::from_millis(50)).await;
                        s.write_all(&vec![b'x'; ANSWER]).await?;
                        log.push("answered");
                        std::io::Result::Ok(())
                    }
                }
            })
            .await
            .unwrap();
            addr_tx.send(server.local_addr().unwrap()).unwrap();
            let handle = server.handle();
            sprout::spawn({
                let log = log.clone();
                async move {
                    got_request.wait().await;
                    log.push("stop");
                    handle.stop_graceful(Duration::from_secs(10)).await;
                }
            });
            server.serve_forever().await;
            log.push("served");
        }
    }));
    assert_eq!(client.join().unwrap(), ANSWER, "the client got the whole answer");
    assert_eq!(log.take(), ["request", "stop", "answered", "served"]);
}

/// A server whose handlers never finish by themselves, counting the
/// handler futures dropped.
async fn stubborn_server()
-> (StreamServer<impl Fn(TcpStream, std::net::SocketAddr) -> StubbornHandler>, Rc<Cell<usize>>) {
    let dropped = Rc::new(Cell::new(0));
    let server = StreamServer::bind("127.0.0.1:0", {
        let dropped = dropped.clone();
        move |s: TcpStream, _| Box::pin(stubborn(s, DropCounter(dropped.clone()))) as StubbornHandler
    })
    .await
    .unwrap();
    (server, dropped)
}

type StubbornHandler = std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

async fn stubborn(stream: TcpStream, guard: DropCounter) {
    let _keep = (stream, guard);
    sprout::sleep(Duration::from_secs(3600)).await;
}

#[test]
fn serve_forever_returns_after_the_grace_once_the_stragglers_are_killed() {
    sprout::run(within(async {
        let (server, dropped) = stubborn_server().await;
        let addr = server.local_addr().unwrap();
        let handle = server.handle();
        let serving = sprout::spawn(server.serve_forever());
        let client = TcpStream::connect(addr).await.unwrap();
        while handle.connections() < 1 {
            sprout::sleep(Duration::from_millis(1)).await;
        }
        let grace = Duration::from_millis(100);
        let start = std::time::Instant::now();
        let stopper = sprout::spawn({
            let handle = handle.clone();
            async move { handle.stop_graceful(grace).await }
        });
        serving.await.unwrap();
        assert!(start.elapsed() >= grace, "serve_forever returned after {:?}", start.elapsed());
        assert_eq!(dropped.get(), 1, "the straggler was killed before serve_forever returned");
        assert_eq!(stopper.await.unwrap(), 1);
        let mut buf = [0; 1];
        assert_eq!(client.read(&mut buf).await.unwrap(), 0, "its socket was closed");
    }));
}

#[test]
fn serve_forever_finishes_the_drain_even_if_the_stopper_is_cancelled() {
    sprout::run(within(async {
        let (server, dropped) = stubborn_server().await;
        let addr = server.local_addr().unwrap();
        let handle = server.handle();
        let serving = sprout::spawn(server.serve_forever());
        let _client = TcpStream::connect(addr).await.unwrap();
        while handle.connections() < 1 {
            sprout::sleep(Duration::from_millis(1)).await;
        }
        let grace = Duration::from_millis(60);
        let start = std::time::Instant::now();
        let stopper = sprout::spawn({
            let handle = handle.clone();
            async move { handle.stop_graceful(grace).await }
        });
        sprout::sleep(Duration::from_millis(5)).await;
        stopper.kill();
        assert!(!serving.is_finished(), "still draining");
        serving.await.unwrap();
        assert!(start.elapsed() >= grace);
        assert_eq!((dropped.get(), handle.connections()), (1, 0));
    }));
}

#[test]
fn a_shorter_graceful_stop_moves_the_deadline_earlier() {
    sprout::run(within(async {
        let (server, dropped) = stubborn_server().await;
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let _client = TcpStream::connect(addr).await.unwrap();
        while handle.connections() < 1 {
            sprout::sleep(Duration::from_millis(1)).await;
        }
        let patient = sprout::spawn({
            let handle = handle.clone();
            async move { handle.stop_graceful(Duration::from_secs(3600)).await }
        });
        sprout::yield_now().await;
        assert_eq!(handle.stop_graceful(Duration::from_millis(20)).await, 1);
        assert_eq!(patient.await.unwrap(), 1, "the earlier deadline ended both");
        assert_eq!(dropped.get(), 1);
    }));
}

#[test]
fn a_graceful_stop_with_no_deadline_waits_for_every_connection() {
    // Duration::MAX is "no deadline", not an overflow when added to an instant.
    sprout::run(within(async {
        let server = StreamServer::bind("127.0.0.1:0", |s, _| echo(s, false)).await.unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let client = TcpStream::connect(addr).await.unwrap();
        assert_eq!(round_trip(&client, b"hi").await.unwrap(), b"hi");
        let stopper = sprout::spawn({
            let handle = handle.clone();
            async move { handle.stop_graceful(Duration::MAX).await }
        });
        sprout::sleep(Duration::from_millis(20)).await;
        assert!(!stopper.is_finished(), "it waits for the open connection");
        assert_eq!(round_trip(&client, b"still served").await.unwrap(), b"still served");
        drop(client);
        assert_eq!(stopper.await.unwrap(), 0);
    }));
}

#[test]
fn a_server_without_a_listener_reports_it_instead_of_panicking() {
    sprout::run(within(async {
        let server = StreamServer::new(|s, _| echo(s, false));
        // Used to panic: "index out of bounds".
        assert_eq!(server.local_addr().unwrap_err().kind(), ErrorKind::NotConnected);
        assert!(server.handle().local_addrs().is_empty());
        let server = server.listen("127.0.0.1:0").await.unwrap();
        assert!(server.local_addr().unwrap().port() > 0);
    }));
}

#[test]
fn a_handler_can_stop_its_own_server_gracefully() {
    // The stop must not wait for the handler that asked for it (with
    // Duration::MAX, that would be forever).
    sprout::run(within(async {
        let handle_slot: Rc<std::cell::RefCell<Option<sprout::net::ServerHandle>>> = Rc::default();
        let server = StreamServer::bind("127.0.0.1:0", {
            let handle_slot = handle_slot.clone();
            move |s: TcpStream, _| {
                let handle = handle_slot.borrow().clone().unwrap();
                async move {
                    let mut command = [0; 4];
                    s.read_exact(&mut command).await?;
                    if &command == b"stop" {
                        let killed = handle.stop_graceful(Duration::MAX).await;
                        s.write_all(format!("stopped, {killed} killed").as_bytes()).await?;
                    } else {
                        sprout::sleep(Duration::from_millis(30)).await;
                        s.write_all(b"done").await?;
                    }
                    std::io::Result::Ok(())
                }
            }
        })
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        *handle_slot.borrow_mut() = Some(server.handle());
        let serving = sprout::spawn(server.serve_forever());
        let busy = TcpStream::connect(addr).await.unwrap();
        busy.write_all(b"work").await.unwrap();
        let boss = TcpStream::connect(addr).await.unwrap();
        boss.write_all(b"stop").await.unwrap();
        let mut text = String::new();
        boss.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "stopped, 0 killed", "it waited for the other connection, not for itself");
        let mut text = String::new();
        busy.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "done");
        serving.await.unwrap();
    }));
}

/// Issue 20: a long-lived handler learns that a graceful stop began
/// (`server::stopping()`) and finishes by itself, so nothing is killed; a
/// plain `stop` leaves the token alone; outside a handler there is none.
#[test]
fn a_long_poll_handler_finishes_when_a_graceful_stop_begins() {
    use sprout::net::server;
    sprout::run(within(async {
        assert!(server::stopping().is_none(), "no server outside a handler");
        let spawned_sees = Rc::new(Cell::new(None));
        let server = StreamServer::bind("127.0.0.1:0", {
            let spawned_sees = spawned_sees.clone();
            move |stream: TcpStream, _| {
                let spawned_sees = spawned_sees.clone();
                async move {
                    let stop = server::stopping().expect("inside a handler");
                    // A task the handler spawns is not the handler.
                    let task = sprout::spawn(async { server::stopping().is_some() });
                    spawned_sees.set(Some(task.await.unwrap()));
                    let reply: &[u8] = match stop.run_until_cancelled(sprout::sleep(Duration::from_secs(3600))).await {
                        Some(()) => b"late",
                        None => b"stop",
                    };
                    stream.write_all(reply).await
                }
            }
        })
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let token = handle.stopping();
        let client = TcpStream::connect(addr).await.unwrap();
        while handle.connections() == 0 || spawned_sees.get().is_none() {
            sprout::yield_now().await;
        }
        assert_eq!(spawned_sees.get(), Some(false));
        handle.stop(); // a plain stop: connections go on, no signal
        sprout::yield_now().await;
        assert!(!token.is_cancelled());
        assert_eq!(handle.stop_graceful(Duration::from_secs(3600)).await, 0, "it finished by itself");
        assert!(token.is_cancelled());
        let mut buf = [0; 4];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"stop");
    }));
}

/// A lease counts as a connection until dropped: a graceful stop waits
/// for it, and at the deadline ends it (the holder's I/O should fail).
#[test]
fn a_graceful_stop_waits_for_leases_and_ends_them_at_its_deadline() {
    sprout::run(within(async {
        let server = StreamServer::bind("127.0.0.1:0", |_: TcpStream, _| async {}).await.unwrap();
        let handle = server.start();
        let lease = handle.lease();
        assert_eq!(handle.connections(), 1);
        // Dropped in time: the stop waits for it, kills nothing.
        let holder = sprout::spawn(async move {
            sprout::sleep(Duration::from_millis(5)).await;
            drop(lease);
        });
        assert_eq!(handle.stop_graceful(Duration::from_secs(3600)).await, 0);
        holder.await.unwrap();
        assert_eq!(handle.connections(), 0);

        // Held past the deadline: ended, counted as killed, its holder woken.
        let server = StreamServer::bind("127.0.0.1:0", |_: TcpStream, _| async {}).await.unwrap();
        let handle = server.start();
        let lease = handle.lease();
        let holder = sprout::spawn(async move {
            std::future::poll_fn(|cx| lease.poll_ended(cx)).await;
            assert!(lease.is_ended());
        });
        let start = std::time::Instant::now();
        assert_eq!(handle.stop_graceful(Duration::from_millis(20)).await, 1);
        assert!(start.elapsed() >= Duration::from_millis(20));
        holder.await.unwrap();
        assert_eq!(handle.connections(), 0);
    }));
}
