//! gevent's chat room over WebSockets: every message a client sends goes to
//! every other client. A slow client is dropped, not waited for: the room
//! is one broadcast channel keeping the last 1,024 messages for everyone,
//! and each client has a writer task that reads it (the room,
//! `examples/chat/room.rs`, is shared with `chat_server`); a client that
//! falls 1,024 messages behind, or whose socket takes nothing for a
//! second, is disconnected, and the others never notice. A message may be
//! 64 KiB at most: a client that sends a longer one gets a close frame
//! saying so (code 1009), and the server never held more than 64 KiB of it.
//!
//! ```text
//! cargo run --release --example ws_chat --features ws            # a demo: server and bots
//! cargo run --release --example ws_chat --features ws -- --serve 127.0.0.1:8765
//! ```
//!
//! The demo starts the server, connects three chatty bots and one that
//! never reads, lets the bots talk, then floods the room until the sleepy
//! one is dropped. With `--serve`, open `http://127.0.0.1:8765/` in two
//! browser tabs: the page is a minimal chat client. The room is a
//! `sprout::http::Server`: `GET /` answers the page, and a WebSocket
//! request is upgraded (`sprout::ws::upgrade`) on the same port.

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use futures_util::StreamExt;
use sprout::http::{Body, Incoming, Request, Response, Server, header};
use sprout::ws::tungstenite::protocol::CloseFrame;
use sprout::ws::tungstenite::protocol::frame::coding::CloseCode;
use sprout::ws::{self, Message};

#[path = "chat/room.rs"]
mod room;

/// How long one client's socket may take nothing before it is dropped.
const STALL: Duration = Duration::from_secs(1);
/// The largest message a client may send, as the line chat's longest
/// line: a longer one ends its session, with close code 1009 ("message
/// too big"), and the server never held more than this of it.
const MAX_MESSAGE: usize = 64 * 1024;

/// The room carries the messages said to every client.
type Room = room::Room<Message>;

/// One client: a writer task, and the read loop.
async fn client(room: Rc<Room>, socket: ws::UpgradedSocket) {
    let (mut sender, mut receiver) = socket.split();
    let (me, name, mut outbox) = room.enter();
    let farewell = outbox.farewell();
    let writer_room = room.clone();
    let writer = sprout::spawn(async move {
        while let Ok(msg) = outbox.get().await {
            match sprout::timeout(STALL, sender.send(msg)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break,
                Err(_) => return writer_room.drop_client(me, "not reading"),
            }
        }
        let _ = sender.close(None).await;
    });
    let too_big = loop {
        match receiver.next().await {
            Some(Ok(Message::Text(text))) => room.broadcast(me, &Message::text(format!("{name}: {text}"))),
            Some(Ok(msg @ Message::Binary(_))) => room.broadcast(me, &msg),
            Some(Ok(Message::Close(_))) | None => break None,
            Some(Ok(_)) => {}
            Some(Err(ws::Error::Capacity(e))) => break Some(e),
            Some(Err(_)) => break None,
        }
        if !room.contains(me) {
            break None; // dropped meanwhile
        }
    };
    room.leave(me);
    match too_big {
        Some(e) => {
            // Told why, as the writer's next message; then the writer closes.
            let frame = CloseFrame { code: CloseCode::Size, reason: e.to_string().into() };
            farewell.say(Message::Close(Some(frame)));
            let _ = writer.await;
        }
        None => writer.kill(),
    }
}

/// The HTTP side: the page, or the upgrade to a WebSocket.
async fn route(room: Rc<Room>, mut req: Request<Incoming>) -> Response<Body> {
    if !ws::is_upgrade_request(&req) {
        let mut page = Response::new(Body::from(PAGE));
        page.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/html; charset=utf-8"));
        return page;
    }
    let limits = ws::Config::default().max_message_size(Some(MAX_MESSAGE)).max_frame_size(Some(MAX_MESSAGE));
    match ws::upgrade_with_config(&mut req, limits) {
        Ok((response, socket)) => {
            sprout::spawn(async move {
                if let Ok(socket) = socket.await {
                    client(room, socket).await;
                }
            });
            response
        }
        Err(e) => Response::builder().status(400).body(Body::from(e.to_string())).expect("a response"),
    }
}

async fn start_server(addr: &str) -> std::io::Result<(SocketAddr, Rc<Room>, sprout::net::ServerHandle)> {
    let room = Rc::new(Room::default());
    let shared = room.clone();
    let server = Server::bind(addr, move |req| route(shared.clone(), req)).await?;
    let addr = server.local_addr()?;
    Ok((addr, room, server.start()))
}

/// A chat page for browsers: one input, one log.
const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8"><title>sprout chat</title>
<pre id="log" style="height:20em;overflow:auto;border:1px solid #ccc"></pre>
<form id="f"><input id="msg" autofocus size="60"> <button>send</button></form>
<script>
const log = document.getElementById("log"), msg = document.getElementById("msg");
const ws = new WebSocket("ws://" + location.host + "/");
const say = (t) => { log.textContent += t + "
"; log.scrollTop = log.scrollHeight; };
ws.onmessage = (e) => say(e.data);
ws.onclose = () => say("(disconnected)");
document.getElementById("f").onsubmit = (e) => { e.preventDefault(); ws.send(msg.value); say("me: " + msg.value); msg.value = ""; };
</script>
"#;

/// A bot that says `lines` and prints what it hears until told to stop.
async fn chatty(name: &'static str, url: String, lines: &'static [&'static str], heard: Rc<Cell<usize>>) {
    let (socket, _) = ws::connect(&url).await.expect("connect");
    let (mut tx, mut rx) = socket.split();
    let listener = sprout::spawn(async move {
        while let Some(Ok(msg)) = rx.next().await {
            if let Message::Text(text) = &msg {
                println!("{name} hears  {text}");
            }
            heard.set(heard.get() + 1);
        }
    });
    for line in lines {
        sprout::sleep(Duration::from_millis(30)).await;
        tx.send(Message::text(format!("{name} says {line}"))).await.expect("send");
    }
    sprout::sleep(Duration::from_secs(3)).await; // keep listening through the flood
    let _ = tx.close(None).await;
    listener.kill();
}

async fn demo() {
    let (addr, room, server) = start_server("127.0.0.1:0").await.expect("bind a loopback port");
    let url = format!("ws://{addr}/");
    println!("chat room on {url}\n");
    let (sleepy, _) = ws::connect(&url).await.expect("connect"); // connected, never reads
    let heard: Vec<Rc<Cell<usize>>> = (0..3).map(|_| Rc::default()).collect();
    let bots = [
        sprout::spawn(chatty("alice", url.clone(), &["hi all", "how is the loop?"], heard[0].clone())),
        sprout::spawn(chatty("bob", url.clone(), &["hello", "green and quick"], heard[1].clone())),
        sprout::spawn(chatty("carol", url.clone(), &["hey"], heard[2].clone())),
    ];
    sprout::sleep(Duration::from_millis(300)).await;

    // A flood of 64 KiB messages: the readers keep up, sleepy's buffers fill.
    println!("\nflood: 400 messages of 64 KiB from a firehose client");
    let (mut firehose, _) = ws::connect(&url).await.expect("connect");
    for _ in 0..400 {
        firehose.send(Message::binary(vec![0u8; 64 * 1024])).await.expect("send");
    }
    sprout::joinall(bots).await;
    for (name, heard) in ["alice", "bob", "carol"].iter().zip(&heard) {
        println!("{name} heard {} messages", heard.get());
    }
    println!("clients dropped for being slow: {}", room.dropped());
    drop(sleepy);
    server.stop();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    sprout::run(async move {
        match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            [] => demo().await,
            ["--serve", addr] | ["--serve", addr, ..] => {
                let (addr, _room, server) = start_server(addr).await.expect("bind");
                println!(
                    "chat room on http://{addr}/ (a page for browsers; WebSockets on the same port; Ctrl-C stops it)"
                );
                // Ctrl-C (or SIGTERM): the clients get a second to leave,
                // then are cut off; a second Ctrl-C stops at once.
                server.stop_on_signals(Duration::from_secs(1)).expect("listen for Ctrl-C");
                server.finished().await;
            }
            _ => {
                eprintln!("usage: ws_chat [--serve ADDR]");
                std::process::exit(2);
            }
        }
    });
}
