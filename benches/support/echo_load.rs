//! The echo load client, shared by `benches/echo.rs` and `benches/scale.rs`:
//! mio state machines, one message in flight per connection (a closed
//! loop), on one thread or several.
//!
//! Each thread owns `conns / threads` connections and its own epoll. All
//! threads measure the same window (after a common warm-up); requests and
//! latencies are summed over the threads.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::support::server_process::cpu_seconds;

/// Runs the client in a child process pinned to core 1: this bench's own
/// binary with `--client ADDR --conns .. --size .. --warmup .. --secs ..
/// --pid ..`, whose `main` hands those to `child_main`.
pub(crate) fn run_in_child(addr: SocketAddr, conns: usize, size: usize, warmup: f64, secs: f64, pid: u32) -> Figures {
    let exe = std::env::current_exe().expect("own path");
    let out = std::process::Command::new("taskset")
        .args(["-c", "1"])
        .arg(exe)
        .args(["--client", &addr.to_string(), "--conns", &conns.to_string(), "--size", &size.to_string()])
        .args(["--warmup", &warmup.to_string(), "--secs", &secs.to_string(), "--pid", &pid.to_string()])
        .output()
        .expect("run the client");
    assert!(out.status.success(), "the client failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<f64> = text.split_whitespace().map(|s| s.parse().expect("a number")).collect();
    Figures { rps: v[0], p50_us: v[1], p99_us: v[2], cpu_us_per_req: v[3], total_requests: v[4] }
}

/// The child's side of `run_in_child`: `addr` is `--client`'s value, `flag`
/// finds the others. Runs the client on one thread and prints its figures.
pub(crate) fn child_main(addr: &str, flag: impl Fn(&str) -> Option<String>) {
    let n = |name: &str| flag(name).and_then(|s| s.parse::<f64>().ok()).unwrap_or_else(|| panic!("{name} needed"));
    let f = client(
        addr.parse().expect("an address"),
        n("--conns") as usize,
        n("--size") as usize,
        Duration::from_secs_f64(n("--warmup")),
        Duration::from_secs_f64(n("--secs")),
        n("--pid") as u32,
        1,
    );
    println!("{} {} {} {} {}", f.rps, f.p50_us, f.p99_us, f.cpu_us_per_req, f.total_requests);
}

/// One run's figures.
pub(crate) struct Figures {
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub cpu_us_per_req: f64,
    pub total_requests: f64,
}

/// What one thread measured.
struct Share {
    latencies: Vec<u32>,
    total: u64,
}

/// Drives `conns` connections of `size`-byte messages against `addr` on
/// `threads` threads: `warmup`, then `secs` measured. `pid` is the
/// server's, for its CPU time over the window.
pub(crate) fn client(
    addr: SocketAddr,
    conns: usize,
    size: usize,
    warmup: Duration,
    secs: Duration,
    pid: u32,
    threads: usize,
) -> Figures {
    let _ = sprout::net::raise_fd_limit();
    let threads = threads.clamp(1, conns.max(1));
    // Everyone connects, then the clock starts for all at once.
    let ready = Arc::new(Barrier::new(threads + 1));
    let (window_tx, window_rx) = std::sync::mpsc::channel::<(Instant, Instant)>();
    let window_rx = Arc::new(std::sync::Mutex::new(window_rx));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let n = conns / threads + usize::from(t < conns % threads);
            let (ready, window_rx) = (ready.clone(), window_rx.clone());
            std::thread::spawn(move || {
                let conns = connect(addr, n);
                ready.wait();
                let (from, to) = window_rx.lock().unwrap().recv().unwrap();
                drive(conns, size, from, to)
            })
        })
        .collect();
    ready.wait();
    let begin = Instant::now();
    let (from, to) = (begin + warmup, begin + warmup + secs);
    for _ in 0..threads {
        window_tx.send((from, to)).unwrap();
    }
    std::thread::sleep(from.saturating_duration_since(Instant::now()));
    let cpu_from = cpu_seconds(pid);
    let shares: Vec<Share> = workers.into_iter().map(|w| w.join().expect("a client thread")).collect();
    let cpu = cpu_seconds(pid) - cpu_from;
    let window = (to - from).as_secs_f64();
    let mut latencies: Vec<u32> = shares.iter().flat_map(|s| s.latencies.iter().copied()).collect();
    let total: u64 = shares.iter().map(|s| s.total).sum();
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)] as f64 / 1000.0;
    Figures {
        rps: latencies.len() as f64 / window,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        cpu_us_per_req: cpu * 1e6 / latencies.len() as f64,
        total_requests: total as f64,
    }
}

fn connect(addr: SocketAddr, n: usize) -> Vec<mio::net::TcpStream> {
    (0..n)
        .map(|_| {
            let std = std::net::TcpStream::connect(addr).expect("connect to the server");
            std.set_nodelay(true).unwrap();
            std.set_nonblocking(true).unwrap();
            mio::net::TcpStream::from_std(std)
        })
        .collect()
}

/// One thread's closed loop over its connections until `to`; latencies
/// are kept for requests that complete in `[from, to)`.
fn drive(streams: Vec<mio::net::TcpStream>, size: usize, from: Instant, to: Instant) -> Share {
    use mio::{Events, Interest, Poll, Token};

    struct Conn {
        stream: mio::net::TcpStream,
        sent: usize,
        received: usize,
        start: Instant,
    }

    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(1024);
    let message = vec![b'x'; size];
    let mut buf = vec![0u8; 64 * 1024];
    let mut list: Vec<Conn> = streams
        .into_iter()
        .enumerate()
        .map(|(i, mut stream)| {
            poll.registry().register(&mut stream, Token(i), Interest::READABLE | Interest::WRITABLE).unwrap();
            Conn { stream, sent: 0, received: 0, start: Instant::now() }
        })
        .collect();
    let send = |c: &mut Conn| -> io::Result<()> {
        while c.sent < message.len() {
            match c.stream.write(&message[c.sent..]) {
                Ok(n) => c.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    };
    for c in &mut list {
        c.start = Instant::now();
        send(c).expect("send");
    }
    let mut latencies: Vec<u32> = Vec::with_capacity(1 << 20);
    let mut total = 0u64;
    loop {
        poll.poll(&mut events, Some(Duration::from_millis(5))).unwrap();
        for event in events.iter() {
            let c = &mut list[event.token().0];
            if c.sent < size {
                send(c).expect("send");
            }
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                loop {
                    match c.stream.read(&mut buf) {
                        Ok(0) => panic!("the server closed a connection"),
                        Ok(n) => {
                            c.received += n;
                            if n < buf.len() {
                                break; // drained
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => panic!("read: {e}"),
                    }
                }
            }
            if c.sent == size && c.received >= size {
                assert_eq!(c.received, size, "one message in flight");
                let now = Instant::now();
                total += 1;
                if now >= from && now < to {
                    latencies.push((now - c.start).as_nanos().min(u128::from(u32::MAX)) as u32);
                }
                (c.sent, c.received, c.start) = (0, 0, now);
                send(c).expect("send");
            }
        }
        if Instant::now() >= to {
            return Share { latencies, total };
        }
    }
}
