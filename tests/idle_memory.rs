//! 15,000 idle connections, each having echoed one 64-byte message, cost
//! the echo server little memory: its handler reads with `read_lent`, so
//! an idle connection holds no buffer.
//!
//! The clients need their own descriptors (this machine allows 20,000 per
//! process), so they live in a child process: this test binary again, run
//! with `SPROUT_IDLE_CLIENT=addr` and filtered to `idle_client`.

mod support;

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::time::Duration;

use futures::io::AsyncBufReadExt;
use sprout::net::StreamServer;
use sprout::process::{Command, Stdio};
use support::echo_lent;

/// Connections made before the first measurement, to warm the allocator,
/// the server's slab and the reactor's table.
const WARM: usize = 1_000;
/// The idle connections measured.
const IDLE: usize = 14_000;
/// The bound, in bytes of server RSS per idle connection. The handler
/// holds no buffer while idle, and sprout's measured cost is about 500 B
/// (the task, its registration, the server's slab entry); a handler that
/// kept even one page of a buffer per connection would pay 4,096 B more.
const BOUND: usize = 1_500;

const ENV: &str = "SPROUT_IDLE_CLIENT";

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap() * 4096
}

#[test]
fn idle_connections_cost_the_echo_server_little_memory() {
    if std::env::var_os(ENV).is_some() {
        return; // this is the client's process
    }
    let soft = sprout::net::raise_fd_limit().unwrap();
    if soft < (WARM + IDLE + 100) as u64 {
        eprintln!("skipped: {soft} descriptors allowed, {} needed", WARM + IDLE + 100);
        return;
    }
    sprout::run(async {
        let server = StreamServer::bind("127.0.0.1:0", |s, _| echo_lent(s)).await.unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "idle_client", "--nocapture", "--test-threads", "1"])
            .env(ENV, addr.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut lines = futures::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut wait_for = async |what: &str| {
            while let Some(line) = lines.next_line_or_none().await {
                if line.trim() == what {
                    return;
                }
            }
            panic!("the client ended before saying {what:?}");
        };
        wait_for("IDLE warm").await;
        assert_eq!(handle.connections(), WARM);
        let before = rss_bytes();
        stdin.write_all(b"go\n").await.unwrap();
        wait_for("IDLE full").await;
        // Every echo came back, so every task is waiting again.
        sprout::sleep(Duration::from_millis(20)).await;
        assert_eq!(handle.connections(), WARM + IDLE);
        let after = rss_bytes();
        let per = after.saturating_sub(before) / IDLE;
        eprintln!("server RSS {before} -> {after} bytes: {per} B per idle connection (bound {BOUND})");
        assert!(per <= BOUND, "{per} B of server memory per idle connection (bound {BOUND} B)");
        drop(stdin); // the client closes everything and exits
        assert!(child.wait().await.unwrap().success());
        handle.stop();
    });
}

/// The client, run in a child process by the test above: `WARM`
/// connections, a pause, then `IDLE` more, each echoing 64 bytes once and
/// then kept open, idle, until stdin closes.
#[test]
fn idle_client() {
    let Some(addr) = std::env::var_os(ENV) else { return };
    let addr: SocketAddr = addr.to_str().unwrap().parse().unwrap();
    sprout::net::raise_fd_limit().unwrap();
    let mut open = Vec::with_capacity(WARM + IDLE);
    let connect = |open: &mut Vec<std::net::TcpStream>, n: usize| {
        // In batches, so that the server's backlog never overflows.
        for _ in 0..n / 250 {
            let batch: Vec<std::net::TcpStream> =
                (0..250).map(|_| std::net::TcpStream::connect(addr).expect("connect")).collect();
            for mut s in &batch {
                s.write_all(&[b'x'; 64]).unwrap();
            }
            for mut s in &batch {
                let mut back = [0; 64];
                std::io::Read::read_exact(&mut s, &mut back).unwrap();
            }
            open.extend(batch);
        }
    };
    let say = |what: &str| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "\n{what}").unwrap();
        out.flush().unwrap();
    };
    connect(&mut open, WARM);
    say("IDLE warm");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap();
    connect(&mut open, IDLE);
    say("IDLE full");
    // Hold them until the server's test is done measuring.
    let _ = std::io::stdin().lock().read_line(&mut line);
}

/// `next_line` that yields `None` at EOF or on an error.
trait NextLine {
    async fn next_line_or_none(&mut self) -> Option<String>;
}

impl<R: futures::io::AsyncBufRead + Unpin> NextLine for futures::io::Lines<R> {
    async fn next_line_or_none(&mut self) -> Option<String> {
        futures::StreamExt::next(self).await.and_then(Result::ok)
    }
}
