//! gevent's line chat over plain TCP: every line a client sends goes to
//! every other client. An idle client holds no read buffer: the read loop
//! waits with `read_lent`, which borrows a buffer from the thread's pool
//! only while bytes are there, and keeps a partial line (a client typing)
//! only until its newline arrives; a line may be 64 KiB at most (a client
//! that sends a longer one is told so and disconnected, and the server
//! never held more of it: `examples/chat/lines.rs`). A slow client is
//! dropped, not waited for: the room is one broadcast channel keeping the
//! last 1,024 lines for everyone, and each client has a writer task that
//! reads it (the room, `examples/chat/room.rs`, is shared with `ws_chat`);
//! a client that falls 1,024 lines behind, or whose socket takes nothing
//! for a second, is disconnected, and the others never notice.
//!
//! ```text
//! cargo run --release --example chat_server                          # a demo: server and bots
//! cargo run --release --example chat_server -- --serve 127.0.0.1:8765  # then: nc 127.0.0.1 8765
//! ```
//!
//! The demo starts the server, connects three chatty bots and one that
//! never reads, lets the bots talk, then floods the room until the sleepy
//! one is dropped, and checks that every bot heard every line. The same
//! room over WebSockets is `examples/ws_chat.rs`.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use futures::StreamExt;
use futures::io::{AsyncBufReadExt, BufReader};
use sprout::net::{ServerHandle, StreamServer, TcpStream};

#[path = "chat/lines.rs"]
mod lines;
#[path = "chat/room.rs"]
mod room;

use lines::{LineTooLong, Lines, MAX_LINE};

/// How long one client's socket may take nothing before it is dropped.
const STALL: Duration = Duration::from_secs(1);

/// The room carries the lines said to every client.
type Room = room::Room<Rc<str>>;

/// One client: a writer task, and the read loop.
async fn client(room: Rc<Room>, stream: TcpStream) -> io::Result<()> {
    let stream = Rc::new(stream);
    let (me, name, mut outbox) = room.enter();
    let farewell = outbox.farewell();
    let writer = sprout::spawn({
        let (room, stream) = (room.clone(), stream.clone());
        async move {
            while let Ok(line) = outbox.get().await {
                match sprout::timeout(STALL, stream.write_all(line.as_bytes())).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break,
                    Err(_) => return room.drop_client(me, "not reading"),
                }
            }
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    });
    let said = |line: &[u8]| room.broadcast(me, &format!("{name}: {}\n", String::from_utf8_lossy(line)).into());
    let result = read_lines(&stream, said).await;
    room.leave(me);
    match result {
        Ok(Err(too_long)) => {
            // Told why, as the writer's next line; then the writer closes
            // the connection (each write bounded by STALL).
            farewell.say(format!("server: {too_long}; goodbye\n").into());
            let _ = writer.await;
            Ok(())
        }
        other => {
            writer.kill();
            other.map(drop)
        }
    }
}

/// Calls `said` with each line `stream` sends, until EOF (`Ok(Ok(()))`)
/// or a line longer than `MAX_LINE` (`Ok(Err(..))`). Between reads it
/// holds no buffer: a line cut by a read waits in `Lines`, which holds at
/// most `MAX_LINE` bytes and gives them back once the line's end arrives.
async fn read_lines(stream: &TcpStream, mut said: impl FnMut(&[u8])) -> io::Result<Result<(), LineTooLong>> {
    let mut lines = Lines::new(MAX_LINE);
    loop {
        let data = stream.read_lent().await?;
        if data.is_empty() {
            return Ok(Ok(())); // EOF; an unfinished last line is dropped, as a terminal would
        }
        if let Err(too_long) = lines.feed(&data, &mut said) {
            return Ok(Err(too_long));
        }
    } // `data` goes back to the pool here, before the next wait
}

async fn start_server(addr: &str) -> io::Result<(SocketAddr, Rc<Room>, ServerHandle)> {
    let room = Rc::new(Room::default());
    let shared = room.clone();
    let server = StreamServer::bind(addr, move |stream, _peer| client(shared.clone(), stream)).await?;
    let addr = server.local_addr()?;
    Ok((addr, room, server.start()))
}

/// A bot that says `lines`, then listens until the room has gone quiet;
/// returns the lines it heard.
async fn chatty(name: &'static str, addr: SocketAddr, lines: &'static [&'static str]) -> Vec<String> {
    let stream = Rc::new(TcpStream::connect(addr).await.expect("connect"));
    let listener = sprout::spawn({
        let stream = stream.clone();
        async move {
            let mut heard = Vec::new();
            let mut reader = BufReader::new(&*stream).lines();
            while let Some(Ok(line)) = reader.next().await {
                if !line.contains("flood") {
                    println!("{name} hears  {line}");
                }
                heard.push(line);
            }
            heard
        }
    });
    for line in lines {
        sprout::sleep(Duration::from_millis(30)).await;
        stream.write_all(format!("{name} says {line}\n").as_bytes()).await.expect("send");
    }
    sprout::sleep(Duration::from_secs(2)).await; // keep listening through the flood
    stream.shutdown(std::net::Shutdown::Write).expect("shutdown");
    listener.await.expect("the listener ends at EOF")
}

/// A client that sends a line one byte over the cap (and no newline);
/// returns the last line the server sent it before closing. (Exactly one
/// byte over: the server has read all of it when it closes, so the close
/// is a FIN, never a reset that could destroy the goodbye in flight.)
async fn overlong_line(addr: SocketAddr) -> String {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(&vec![b'x'; MAX_LINE + 1]).await.expect("send");
    let mut last = String::new();
    let mut reader = BufReader::new(&stream).lines();
    while let Some(Ok(line)) = reader.next().await {
        last = line;
    }
    last
}

async fn demo() {
    let (addr, room, server) = start_server("127.0.0.1:0").await.expect("bind a loopback port");
    println!("chat room on {addr}\n");
    let sleepy = TcpStream::connect(addr).await.expect("connect"); // connected, never reads
    let bots = [
        sprout::spawn(chatty("alice", addr, &["hi all", "how is the loop?"])),
        sprout::spawn(chatty("bob", addr, &["hello", "green and quick"])),
        sprout::spawn(chatty("carol", addr, &["hey"])),
    ];
    sprout::sleep(Duration::from_millis(300)).await;

    // A flood of 4 KiB lines: the bots keep up, sleepy's buffers fill.
    const FLOOD: usize = 4000;
    println!("\nflood: {FLOOD} lines of 4 KiB from a firehose client");
    let firehose = TcpStream::connect(addr).await.expect("connect");
    let line = format!("flood {}\n", "x".repeat(4090));
    for _ in 0..FLOOD {
        firehose.write_all(line.as_bytes()).await.expect("send");
    }
    // A line longer than the cap: the server held 64 KiB of it at most,
    // then told the client why and closed.
    let told = overlong_line(addr).await;
    println!("a client that sent a line of {} bytes was told {told:?}", MAX_LINE + 1);
    assert!(told.ends_with("goodbye"), "{told:?}");
    let heard = sprout::joinall(bots).await;
    for (name, heard) in ["alice", "bob", "carol"].iter().zip(&heard) {
        let heard = heard.as_ref().expect("the bot finished");
        let chat = heard.iter().filter(|l| !l.contains("flood")).count();
        println!("{name} heard {chat} chat lines and {} flood lines", heard.len() - chat);
        assert_eq!(heard.len() - chat, FLOOD, "{name} missed flood lines");
    }
    // Each bot hears the others' lines: 5 lines were said in all.
    let chat: usize = heard.iter().map(|h| h.as_ref().unwrap().iter().filter(|l| !l.contains("flood")).count()).sum();
    assert_eq!(chat, 2 * 5, "each line reaches the two other bots");
    println!("clients dropped for being slow: {}", room.dropped());
    assert_eq!(room.dropped(), 1, "the client that never reads is dropped");
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
                    "chat room on {addr} (try `nc {} {}` in two terminals; Ctrl-C stops it)",
                    addr.ip(),
                    addr.port()
                );
                // Ctrl-C (or SIGTERM): the clients get a second to leave,
                // then are cut off; a second Ctrl-C stops at once.
                server.stop_on_signals(Duration::from_secs(1)).expect("listen for Ctrl-C");
                server.finished().await;
            }
            _ => {
                eprintln!("usage: chat_server [--serve ADDR]");
                std::process::exit(2);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[sprout::test]
    async fn a_line_over_the_cap_ends_its_client_with_a_message_and_the_room_goes_on() {
        let (addr, _room, server) = start_server("127.0.0.1:0").await.unwrap();
        let listener = TcpStream::connect(addr).await.unwrap();
        let told = overlong_line(addr).await;
        assert_eq!(told, format!("server: a line longer than {MAX_LINE} bytes; goodbye"));
        let talker = TcpStream::connect(addr).await.unwrap();
        talker.write_all(b"still here\n").await.unwrap();
        let mut heard = BufReader::new(&listener).lines();
        let line = heard.next().await.unwrap().unwrap();
        assert!(line.ends_with(": still here"), "{line:?}");
        server.stop();
    }
}
