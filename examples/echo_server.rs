//! The echo server: sprout's main job, and the classic gevent demo.
//!
//! ```text
//! cargo run --release --example echo_server                      # 127.0.0.1:8080
//! cargo run --release --example echo_server -- --addr 0.0.0.0:9000 --upper
//! cargo run --release --example echo_server -- --workers 4       # on 4 cores (0: every core)
//! cargo run --release --example echo_client                      # talk to it
//! ```
//!
//! Every connection gets its own green task that reads and writes back,
//! one thread for all of them. With `--workers N` there are N threads,
//! each a runtime with its own `SO_REUSEPORT` listener on the same port:
//! the kernel spreads the connections, and nothing is shared between the
//! workers (gevent's recipe of one process per core, in one process). With `--upper` it upper-cases what it sends
//! back, as the gevent demo does. Ctrl-C stops accepting, gives open
//! connections five seconds, then closes the rest; a second Ctrl-C closes
//! them at once (`ServerHandle::stop_on_signals_with`). On Ctrl-C it
//! first prints each worker's counters (`sprout::metrics()`,
//! docs/debugging.md "Metrics"), per worker.
//!
//! Peers that misbehave cost nothing extra: a reset or a timeout ends just
//! that task; a half-close gets every byte echoed, then the close; a client
//! that never reads makes `write_all` wait, so the task stops reading from
//! it and its memory stays at one buffer. An idle client costs no buffer
//! at all (see `echo`).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use sprout::net::{StreamServer, TcpStream};

/// Echoes everything `stream` sends until it closes its side.
///
/// `read_lent` waits for data holding no buffer, then reads into one lent
/// by the thread's pool for as long as `data` lives: an idle connection
/// costs its task and its socket, about 500 bytes, not a buffer.
async fn echo(stream: TcpStream, upper: bool) -> io::Result<()> {
    loop {
        let mut data = stream.read_lent().await?;
        if data.is_empty() {
            return Ok(()); // EOF: everything was echoed; dropping the stream closes it
        }
        if upper {
            data.make_ascii_uppercase();
        }
        stream.write_all(&data).await?;
    } // `data` goes back to the pool here, before the next wait
}

/// Prints each worker's counters (docs/debugging.md, "Metrics"): worker
/// 0's from its own thread, the others' through their handles, which wait
/// for each worker's thread, so on the blocking pool. Per worker, not
/// summed: a worker that took far fewer connections than the others shows.
async fn print_metrics(others: Vec<sprout::Handle>) {
    let asked = sprout::spawn_blocking(move || others.iter().map(sprout::Handle::metrics).collect::<Vec<_>>()).await;
    let others = asked.unwrap_or_default();
    if others.is_empty() {
        print!("{}", sprout::metrics());
        return;
    }
    let indented = |text: String| text.lines().map(|line| format!("  {line}\n")).collect::<String>();
    print!("worker 0:\n{}", indented(sprout::metrics().to_string()));
    for (i, metrics) in others.into_iter().enumerate() {
        match metrics {
            Ok(metrics) => print!("worker {}:\n{}", i + 1, indented(metrics.to_string())),
            Err(e) => println!("worker {}: {e}", i + 1),
        }
    }
}

struct Options {
    addr: String,
    upper: bool,
    workers: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options { addr: "127.0.0.1:8080".into(), upper: false, workers: 1 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => options.addr = args.next().ok_or("--addr needs an address, like 127.0.0.1:8080")?,
            "--upper" => options.upper = true,
            "--workers" => {
                let n = args.next().ok_or("--workers needs a number of cores, like 4 (0: every core)")?;
                options.workers = n.parse().map_err(|_| format!("--workers {n:?}: not a number"))?;
            }
            "-h" | "--help" => {
                println!("usage: echo_server [--addr HOST:PORT] [--upper] [--workers N]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    Ok(options)
}

fn main() {
    let options = match parse_args() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("echo_server: {e}");
            std::process::exit(2);
        }
    };
    // One descriptor per connection: lift the soft limit (often 1024).
    let _ = sprout::net::raise_fd_limit();
    let upper = options.upper;
    let result = sprout::run(async move {
        let server = StreamServer::bind(options.addr.as_str(), move |stream, _peer: SocketAddr| echo(stream, upper))
            .await?
            .workers(options.workers);
        let mode = if upper { " (upper-casing)" } else { "" };
        let cores = match options.workers {
            1 => String::new(),
            0 => format!(" on {} workers", sprout::cores::available()),
            n => format!(" on {n} workers"),
        };
        println!("echo server listening on {}{mode}{cores}", server.local_addr()?);
        let handle = server.handle();
        // Ctrl-C (or SIGTERM): print the counters, then give open
        // connections up to 5 s; a second Ctrl-C stops at once.
        let stopping = handle.clone();
        handle.stop_on_signals_with(Duration::from_secs(5), move || async move {
            print_metrics(stopping.worker_handles()).await;
        })?;
        server.serve_forever().await;
        io::Result::Ok(())
    });
    if let Err(e) = result {
        eprintln!("echo_server: {e}");
        std::process::exit(1);
    }
}
