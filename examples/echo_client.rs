//! The echo server's client: interactive, as in the gevent demo, or a
//! load generator.
//!
//! ```text
//! cargo run --release --example echo_client                          # type lines, see them echoed
//! cargo run --release --example echo_client -- --addr 127.0.0.1:9000
//! cargo run --release --example echo_client -- --conns 50 --secs 5 --size 64   # load mode
//! ```
//!
//! Load mode opens `--conns` connections, each sending `--size`-byte
//! messages one at a time and waiting for the whole echo before the next
//! (a closed loop), for `--secs` seconds; then it prints requests/s and the
//! p50 / p99 round-trip latency.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use sprout::net::TcpStream;

struct Options {
    addr: String,
    conns: Option<usize>,
    secs: f64,
    size: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options { addr: "127.0.0.1:8080".into(), conns: None, secs: 5.0, size: 64 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--addr" => options.addr = value("--addr")?,
            "--conns" => options.conns = Some(value("--conns")?.parse().map_err(|e| format!("--conns: {e}"))?),
            "--secs" => options.secs = value("--secs")?.parse().map_err(|e| format!("--secs: {e}"))?,
            "--size" => options.size = value("--size")?.parse().map_err(|e| format!("--size: {e}"))?,
            "-h" | "--help" => {
                println!("usage: echo_client [--addr HOST:PORT] [--conns N --secs S --size B]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    if options.size == 0 || options.conns == Some(0) || options.secs <= 0.0 {
        return Err("--conns, --secs and --size must be positive".into());
    }
    Ok(options)
}

/// Reads lines from the terminal and prints what the server sends back.
async fn interactive(addr: &str) -> io::Result<()> {
    let stream = TcpStream::connect(addr).await?;
    println!("connected to {}; type a line (Ctrl-D to quit)", stream.peer_addr()?);
    let mut reply = vec![0; 64 * 1024];
    loop {
        // Reading the terminal blocks: do it on the blocking pool so the
        // loop (and the socket) stay live.
        let line = sprout::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|n| (n, line))
        })
        .await
        .map_err(|e| io::Error::other(e.to_string()))??;
        let msg = match line {
            (0, _) => return Ok(()),
            (_, line) => line.trim().to_owned(),
        };
        if msg.is_empty() {
            continue;
        }
        stream.write_all(msg.as_bytes()).await?;
        let mut got = 0;
        while got < msg.len() {
            match stream.read(&mut reply[got..]).await? {
                0 => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection")),
                n => got += n,
            }
        }
        println!("{}", String::from_utf8_lossy(&reply[..got]));
    }
}

/// One connection's closed loop: send, await the full echo, record, repeat.
async fn pound(stream: TcpStream, size: usize, until: Instant, latencies: Rc<RefCell<Vec<u32>>>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let message = vec![b'x'; size];
    let mut reply = vec![0; size];
    while Instant::now() < until {
        let start = Instant::now();
        stream.write_all(&message).await?;
        stream.read_exact(&mut reply).await?;
        let micros = start.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
        latencies.borrow_mut().push(micros);
    }
    Ok(())
}

async fn load(addr: &str, conns: usize, secs: f64, size: usize) -> io::Result<()> {
    let mut streams = Vec::with_capacity(conns);
    for _ in 0..conns {
        streams.push(TcpStream::connect(addr).await?);
    }
    let latencies = Rc::new(RefCell::new(Vec::with_capacity(1 << 20)));
    let failures = Rc::new(Cell::new(0usize));
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|stream| {
            let (latencies, failures) = (latencies.clone(), failures.clone());
            sprout::spawn(async move {
                if let Err(e) = pound(stream, size, until, latencies).await {
                    if failures.get() == 0 {
                        eprintln!("echo_client: a connection failed: {e}");
                    }
                    failures.set(failures.get() + 1);
                }
            })
        })
        .collect();
    sprout::joinall(tasks).await;
    let elapsed = start.elapsed().as_secs_f64();
    let mut latencies = latencies.take();
    latencies.sort_unstable();
    let percentile =
        |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)));
    println!(
        "{conns} connections, {size} B messages, {elapsed:.1} s: {:.0} requests/s, p50 {} us, p99 {} us{}",
        latencies.len() as f64 / elapsed,
        percentile(0.50).copied().unwrap_or(0),
        percentile(0.99).copied().unwrap_or(0),
        match failures.get() {
            0 => String::new(),
            n => format!(", {n} connections failed"),
        }
    );
    Ok(())
}

fn main() {
    let options = match parse_args() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("echo_client: {e}");
            std::process::exit(2);
        }
    };
    let _ = sprout::net::raise_fd_limit();
    let result = sprout::run(async move {
        match options.conns {
            None => interactive(&options.addr).await,
            Some(conns) => load(&options.addr, conns, options.secs, options.size).await,
        }
    });
    if let Err(e) = result {
        eprintln!("echo_client: {e}");
        std::process::exit(1);
    }
}
