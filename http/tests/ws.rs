//! WebSockets: a broadcast hub (gevent's chat) reaching N clients, and a
//! client that never reads dropped without stalling the others.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_util::StreamExt;
use slab::Slab;
use sprout_http::ws::{self, Message};
use sprout_net::{StreamServer, TcpStream};
use sprout_runtime::queue::Queue;
use support::run;

/// Each client's outbox: at most this many messages wait; a client that
/// falls further behind is dropped.
const OUTBOX: usize = 1024;
/// A client whose socket takes nothing for this long is dropped.
const STALL: std::time::Duration = std::time::Duration::from_millis(200);

#[derive(Default)]
struct Hub {
    clients: RefCell<Slab<Rc<Queue<Message>>>>,
    dropped: RefCell<usize>,
}

impl Hub {
    /// Sends `msg` to everyone but `from`, dropping whoever cannot keep up.
    fn broadcast(&self, from: usize, msg: &Message) {
        let clients = self.clients.borrow_mut();
        let mut slow = Vec::new();
        for (key, outbox) in clients.iter() {
            if key != from && outbox.put_nowait(msg.clone()).is_err() {
                slow.push(key);
            }
        }
        drop(clients);
        for key in slow {
            self.drop_client(key);
        }
    }

    /// Closing the outbox ends the client's writer, which closes the socket.
    fn drop_client(&self, key: usize) {
        if let Some(outbox) = self.clients.borrow_mut().try_remove(key) {
            outbox.close();
            *self.dropped.borrow_mut() += 1;
        }
    }
}

async fn chat(hub: Rc<Hub>, stream: TcpStream) -> Result<(), ws::Error> {
    let socket = ws::accept(stream).await?;
    let (mut sender, mut receiver) = socket.split();
    let outbox = Rc::new(Queue::new(OUTBOX));
    let me = hub.clients.borrow_mut().insert(outbox.clone());
    let writer_hub = hub.clone();
    let writer = sprout_runtime::spawn(async move {
        while let Ok(msg) = outbox.get().await {
            match sprout_runtime::timeout(STALL, sender.send(msg)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break,
                // Not waited for: dropped.
                Err(_) => {
                    writer_hub.drop_client(me);
                    return;
                }
            }
        }
        let _ = sender.close(None).await;
    });
    while let Some(Ok(msg)) = receiver.next().await {
        if msg.is_text() || msg.is_binary() {
            hub.broadcast(me, &msg);
        }
    }
    if let Some(outbox) = hub.clients.borrow_mut().try_remove(me) {
        outbox.close();
    }
    writer.kill();
    Ok(())
}

#[test]
fn broadcast_reaches_every_other_client_and_a_client_that_never_reads_is_dropped() {
    run(async {
        let hub = Rc::new(Hub::default());
        let server_hub = hub.clone();
        let server =
            StreamServer::bind("127.0.0.1:0", move |stream, _| chat(server_hub.clone(), stream)).await.unwrap();
        let url = format!("ws://{}/", server.local_addr().unwrap());
        let handle = server.start();

        const READERS: usize = 5;
        const MESSAGES: usize = 300;
        let mut readers = Vec::new();
        for _ in 0..READERS {
            let (socket, _) = ws::connect(&url).await.unwrap();
            readers.push(socket);
        }
        // Connected, never reads: its socket buffers fill, then its outbox.
        let (_stalled, _) = ws::connect(&url).await.unwrap();
        let (mut talker, _) = ws::connect(&url).await.unwrap();
        while hub.clients.borrow().len() < READERS + 2 {
            sprout_runtime::sleep(std::time::Duration::from_millis(1)).await;
        }

        let tasks: Vec<_> = readers
            .into_iter()
            .map(|mut socket| {
                sprout_runtime::spawn(async move {
                    let mut got = 0;
                    while got < MESSAGES {
                        match socket.next().await.unwrap().unwrap() {
                            Message::Binary(data) => {
                                assert_eq!(data.len(), 64 * 1024);
                                assert_eq!(data[0] as usize, got % 256, "in order");
                                got += 1;
                            }
                            other => panic!("unexpected {other:?}"),
                        }
                    }
                    (got, socket) // kept open until the end
                })
            })
            .collect();
        for i in 0..MESSAGES {
            talker.send(Message::binary(vec![(i % 256) as u8; 64 * 1024])).await.unwrap();
        }
        let mut open = Vec::new();
        for received in sprout_runtime::joinall(tasks).await {
            let (got, socket) = received.unwrap();
            assert_eq!(got, MESSAGES, "every reader got every message");
            open.push(socket);
        }
        // The stalled client's buffers are full by now; its writer gives up
        // after STALL.
        let waited = std::time::Instant::now();
        while *hub.dropped.borrow() == 0 {
            sprout_runtime::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(waited.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(*hub.dropped.borrow(), 1, "the client that never reads was dropped");
        assert_eq!(hub.clients.borrow().len(), READERS + 1);
        handle.stop();
    });
}

#[test]
fn text_round_trip_and_close() {
    run(async {
        let server = StreamServer::bind("127.0.0.1:0", |stream, _| async move {
            let mut socket = ws::accept(stream).await?;
            while let Some(msg) = socket.next().await {
                match msg? {
                    Message::Text(text) => socket.send(Message::text(format!("echo: {text}"))).await?,
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            Ok::<_, ws::Error>(())
        })
        .await
        .unwrap();
        let url = format!("ws://{}/chat", server.local_addr().unwrap());
        let handle = server.start();
        let (mut socket, response) = ws::connect(&url).await.unwrap();
        assert_eq!(response.status(), 101);
        socket.send(Message::text("hi")).await.unwrap();
        assert_eq!(socket.next().await.unwrap().unwrap().into_text().unwrap(), "echo: hi");
        socket.close(None).await.unwrap();
        handle.stop();
    });
}

#[test]
fn a_websocket_upgrades_from_a_request_of_the_http_server() {
    use sprout_http::{Body, Incoming, Request, Response, Server};
    run(async {
        let server = Server::bind("127.0.0.1:0", |mut req: Request<Incoming>| async move {
            if !ws::is_upgrade_request(&req) {
                return Response::new(Body::from("plain"));
            }
            match ws::upgrade(&mut req) {
                Ok((response, socket)) => {
                    sprout_runtime::spawn(async move {
                        let mut socket = socket.await?;
                        while let Some(msg) = socket.next().await {
                            if let Message::Text(text) = msg? {
                                futures_util::SinkExt::send(&mut socket, Message::text(format!("up: {text}"))).await?;
                            }
                        }
                        Ok::<_, ws::Error>(())
                    });
                    response
                }
                Err(e) => Response::builder().status(400).body(Body::from(e.to_string())).unwrap(),
            }
        })
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        // The same port serves plain requests...
        let plain = sprout_http::Client::new().get(&format!("http://{addr}/")).await.unwrap();
        assert_eq!(plain.text().await.unwrap(), "plain");
        // ...and WebSockets.
        let (mut socket, response) = ws::connect(format!("ws://{addr}/ws")).await.unwrap();
        assert_eq!(response.status(), 101);
        for i in 0..3 {
            futures_util::SinkExt::send(&mut socket, Message::text(format!("hi {i}"))).await.unwrap();
            assert_eq!(socket.next().await.unwrap().unwrap().into_text().unwrap(), format!("up: hi {i}"));
        }
        // A request that claims an upgrade but is no WebSocket handshake gets 400.
        let reply =
            support::raw(addr, b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: close\r\n\r\n").await;
        assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
        handle.stop();
    });
}

/// A WebSocket server on `StreamServer` that reads one message with
/// `config` and puts what it got (its length, or the error) in `got`.
async fn one_message_server(
    config: ws::Config,
) -> (String, sprout_net::ServerHandle, Rc<Queue<Result<usize, String>>>) {
    let got = Rc::new(Queue::new(0));
    let put = got.clone();
    let server = StreamServer::bind("127.0.0.1:0", move |stream, _| {
        let put = put.clone();
        async move {
            let mut socket = ws::accept_with_config(stream, config).await.unwrap();
            let result = match socket.next().await.unwrap() {
                Ok(msg) => Ok(msg.len()),
                Err(e) => Err(format!("{e:?}")),
            };
            put.put_nowait(result).unwrap();
        }
    })
    .await
    .unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    (url, server.start(), got)
}

/// Issue 18, bug 6: a message over the default limit (4 MiB) is refused
/// (tungstenite's own default accepted up to 64 MiB), whether it comes as
/// one frame or as frames each under the frame limit.
#[test]
fn a_message_over_the_default_limit_is_refused() {
    use ws::tungstenite::protocol::frame::{
        Frame,
        coding::{Data, OpCode},
    };
    run(async {
        let (url, handle, got) = one_message_server(ws::Config::default()).await;
        let five_mib = 5 << 20;
        let (mut socket, _) = ws::connect(&url).await.unwrap();
        let _ = socket.send(Message::binary(vec![7u8; five_mib])).await;
        let refused = got.get().await.unwrap().unwrap_err();
        assert!(refused.contains("MessageTooLong") && refused.contains(&five_mib.to_string()), "{refused}");

        let (mut socket, _) = ws::connect(&url).await.unwrap();
        let mib = vec![1u8; 1 << 20];
        let mut sent = Ok(());
        for i in 0..5 {
            let opcode = if i == 0 { OpCode::Data(Data::Binary) } else { OpCode::Data(Data::Continue) };
            let frame = Frame::message(mib.clone(), opcode, i == 4);
            sent = sent.and(socket.send(Message::Frame(frame)).await);
        }
        let _ = sent; // the server may have closed before the last frame
        let refused = got.get().await.unwrap().unwrap_err();
        assert!(refused.contains("MessageTooLong") && refused.contains(&(five_mib).to_string()), "{refused}");

        // Under the limit: accepted.
        let (mut socket, _) = ws::connect(&url).await.unwrap();
        socket.send(Message::binary(vec![7u8; 3 << 20])).await.unwrap();
        assert_eq!(got.get().await.unwrap(), Ok(3 << 20));
        handle.stop();
    });
}

/// A frame that announces more than the frame limit is refused from its
/// header, before its payload is read or room made for it: here the
/// payload never comes, and the refusal is the limit's, not an EOF.
#[test]
fn a_frame_header_over_the_limit_is_refused_before_its_payload() {
    run(async {
        let (url, handle, got) = one_message_server(ws::Config::default()).await;
        let (mut socket, _) = ws::connect(&url).await.unwrap();
        let ws::ClientStream::Plain(tcp) = socket.get_mut() else { unreachable!("ws://") };
        let announced: u64 = 10 << 20;
        // FIN + binary; masked, 64-bit length; the mask; no payload.
        let mut header = vec![0x82, 0x80 | 127];
        header.extend_from_slice(&announced.to_be_bytes());
        header.extend_from_slice(&[1, 2, 3, 4]);
        tcp.write_all(&header).await.unwrap();
        tcp.shutdown(std::net::Shutdown::Write).unwrap();
        let refused = got.get().await.unwrap().unwrap_err();
        assert!(refused.contains("MessageTooLong") && refused.contains(&announced.to_string()), "{refused}");
        handle.stop();
    });
}

/// The limits are the caller's to choose: a server that allows 8 MiB takes
/// a 5 MiB message, and a client that allows 1 KiB refuses a larger one
/// from its server.
#[test]
fn the_limits_are_configurable_on_both_sides() {
    run(async {
        let big = ws::Config::default().max_message_size(Some(8 << 20)).max_frame_size(Some(8 << 20));
        let (url, handle, got) = one_message_server(big).await;
        let (mut socket, _) = ws::connect(&url).await.unwrap();
        socket.send(Message::binary(vec![7u8; 5 << 20])).await.unwrap();
        assert_eq!(got.get().await.unwrap(), Ok(5 << 20));
        handle.stop();

        let server = StreamServer::bind("127.0.0.1:0", |stream, _| async move {
            let mut socket = ws::accept(stream).await?;
            socket.send(Message::text("x".repeat(2048))).await?;
            socket.next().await; // until the client goes
            Ok::<_, ws::Error>(())
        })
        .await
        .unwrap();
        let url = format!("ws://{}/", server.local_addr().unwrap());
        let handle = server.start();
        let small = ws::Config::default().max_message_size(Some(1024)).max_frame_size(Some(1024));
        let (mut socket, _) = ws::connect_with_config(&url, small).await.unwrap();
        let refused = socket.next().await.unwrap().unwrap_err();
        assert!(matches!(refused, ws::Error::Capacity(_)), "{refused:?}");
        handle.stop();
    });
}

mod handshake_headers {
    //! The upgrade's hand-written header checks (`Connection` and
    //! `Upgrade` are comma-separated token lists, case-insensitive, maybe
    //! spread over several header lines), fuzzed against what the request
    //! was built to say.
    use proptest::prelude::*;
    use sprout_http::ws;

    /// Tokens a client might send; `true` for the one being looked for.
    fn token(wanted: &'static str) -> impl Strategy<Value = (String, bool)> {
        let decoys = ["keep-alive", "close", "h2c", "upgrade-insecure", "websockets", "web socket", "x"];
        prop_oneof![
            (prop::sample::select(decoys.to_vec()), "[ \t]{0,2}", "[ \t]{0,2}")
                .prop_map(|(t, l, r)| (format!("{l}{t}{r}"), false)),
            (prop::collection::vec(any::<bool>(), wanted.len()), "[ \t]{0,2}", "[ \t]{0,2}").prop_map(
                move |(caps, l, r)| {
                    let t: String =
                        wanted.chars().zip(caps).map(|(c, up)| if up { c.to_ascii_uppercase() } else { c }).collect();
                    (format!("{l}{t}{r}"), true)
                }
            ),
        ]
    }

    /// A header given as token lists on 0 to 3 lines: the lines, and
    /// whether the wanted token is among them.
    fn header(wanted: &'static str) -> impl Strategy<Value = (Vec<String>, bool)> {
        prop::collection::vec(prop::collection::vec(token(wanted), 1..4), 0..3).prop_map(|lines| {
            let has = lines.iter().flatten().any(|(_, is)| *is);
            (lines.iter().map(|line| line.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(",")).collect(), has)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn the_upgrade_is_accepted_exactly_when_the_headers_ask_for_it(
            (connection, asks_upgrade) in header("upgrade"),
            (upgrade, asks_websocket) in header("websocket"),
            get in any::<bool>(),
            version in prop_oneof![Just(Some("13")), Just(Some("8")), Just(None)],
            key in any::<bool>(),
            junk in prop::collection::vec(any::<u8>(), 0..8),
        ) {
            let mut builder = sprout_http::Request::builder().method(if get { "GET" } else { "POST" }).uri("/ws");
            for line in &connection {
                builder = builder.header("connection", line.as_str());
            }
            for line in &upgrade {
                builder = builder.header("upgrade", line.as_str());
            }
            if let Some(version) = version {
                builder = builder.header("sec-websocket-version", version);
            }
            if key {
                builder = builder.header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
            }
            // Bytes that are not text must not upset the checks.
            if let Ok(value) = sprout_http::header::HeaderValue::from_bytes(&junk) {
                builder = builder.header("connection", value.clone()).header("upgrade", value);
            }
            let mut req = builder.body(()).unwrap();
            prop_assert_eq!(ws::is_upgrade_request(&req), asks_websocket || token_in_junk(&junk, "websocket"));
            let valid = get
                && (asks_upgrade || token_in_junk(&junk, "upgrade"))
                && (asks_websocket || token_in_junk(&junk, "websocket"))
                && version == Some("13")
                && key;
            match ws::upgrade(&mut req) {
                Ok((response, _socket)) => {
                    prop_assert!(valid);
                    prop_assert_eq!(response.status(), 101);
                    prop_assert_eq!(&response.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
                }
                Err(_) => prop_assert!(!valid),
            }
        }
    }

    /// Whether the junk line happens to be a list holding `token`.
    fn token_in_junk(junk: &[u8], token: &str) -> bool {
        std::str::from_utf8(junk).is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }
}

/// The server of the graceful-stop tests: WebSockets that echo until the
/// server's stop begins, then say "bye", wait for one more message (the
/// client's goodbye) and send a Close frame (`polite`); or that ignore the
/// stop and echo on (not `polite`).
async fn stoppable_ws_server(polite: bool) -> (std::net::SocketAddr, sprout_net::ServerHandle) {
    use sprout_http::{Body, Incoming, Request, Response, Server};
    let server = Server::bind("127.0.0.1:0", move |mut req: Request<Incoming>| async move {
        let Ok((response, socket)) = ws::upgrade(&mut req) else {
            return Response::builder().status(400).body(Body::empty()).unwrap();
        };
        let stop = sprout_net::server::stopping().expect("inside a handler");
        sprout_runtime::spawn(async move {
            let mut socket = socket.await?;
            loop {
                let next =
                    if polite { stop.run_until_cancelled(socket.next()).await } else { Some(socket.next().await) };
                match next {
                    Some(Some(msg)) => futures_util::SinkExt::send(&mut socket, msg?).await?,
                    Some(None) => return Ok(()),
                    None => break,
                }
            }
            futures_util::SinkExt::send(&mut socket, Message::text("bye")).await?;
            let _goodbye = socket.next().await;
            let away = ws::tungstenite::protocol::CloseFrame {
                code: ws::tungstenite::protocol::frame::coding::CloseCode::Away,
                reason: "server stopping".into(),
            };
            socket.close(Some(away)).await
        });
        response
    })
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();
    (addr, server.start())
}

/// Issue 20: a graceful stop waits for a WebSocket opened with `upgrade`
/// (it counts as a connection after hyper let go of it), and the socket's
/// task, told by the stopping token, sends a Close frame.
#[test]
fn a_graceful_stop_waits_for_an_upgraded_websocket_which_gets_a_close_frame() {
    run(async {
        let (addr, handle) = stoppable_ws_server(true).await;
        let (mut socket, _) = ws::connect(format!("ws://{addr}/ws")).await.unwrap();
        futures_util::SinkExt::send(&mut socket, Message::text("hi")).await.unwrap();
        assert_eq!(socket.next().await.unwrap().unwrap().into_text().unwrap(), "hi");
        assert_eq!(handle.connections(), 1, "the WebSocket counts, though its HTTP connection task has ended");
        let stop = sprout_runtime::spawn({
            let handle = handle.clone();
            async move { handle.stop_graceful(Duration::from_secs(3600)).await }
        });
        assert_eq!(socket.next().await.unwrap().unwrap().into_text().unwrap(), "bye");
        for _ in 0..10 {
            sprout_runtime::yield_now().await;
        }
        assert!(!stop.is_finished(), "the stop waits for the WebSocket");
        futures_util::SinkExt::send(&mut socket, Message::text("goodbye")).await.unwrap();
        match socket.next().await.unwrap().unwrap() {
            Message::Close(Some(frame)) => {
                assert_eq!(frame.code, ws::tungstenite::protocol::frame::coding::CloseCode::Away);
                assert_eq!(frame.reason, "server stopping");
            }
            other => panic!("expected a Close frame, got {other:?}"),
        }
        assert_eq!(stop.await.unwrap(), 0, "nothing killed");
        assert_eq!(handle.connections(), 0);
    });
}

/// A WebSocket whose task ignores the stop is cut at the stop's deadline:
/// its reads and writes fail, its task ends, the client sees the
/// connection close.
#[test]
fn a_websocket_that_ignores_the_stop_is_cut_at_its_deadline() {
    run(async {
        let (addr, handle) = stoppable_ws_server(false).await;
        let (mut socket, _) = ws::connect(format!("ws://{addr}/ws")).await.unwrap();
        futures_util::SinkExt::send(&mut socket, Message::text("hi")).await.unwrap();
        assert_eq!(socket.next().await.unwrap().unwrap().into_text().unwrap(), "hi");
        let start = std::time::Instant::now();
        assert_eq!(handle.stop_graceful(Duration::from_millis(20)).await, 1, "the socket was cut");
        assert!(start.elapsed() >= Duration::from_millis(20));
        // The server's side of the socket is gone: the client reads the end.
        let end = sprout_runtime::timeout(Duration::from_secs(10), socket.next()).await.expect("the socket closed");
        assert!(matches!(end, None | Some(Err(_))), "{end:?}");
        while handle.connections() > 0 {
            sprout_runtime::yield_now().await;
        }
    });
}
