//! Running out of descriptors (EMFILE) neither kills the server nor spins
//! it: the error is reported once, accept backs off, the open connections
//! are still served, and accepting resumes once a descriptor is free.
//!
//! The test lowers `RLIMIT_NOFILE`, which would disturb every other test in
//! the process, so it re-runs itself in a child process.

mod support;

use std::process::Command;
use std::time::Duration;

use sprout::net::{StreamServer, TcpStream};
use support::{echo, within};

const CHILD: &str = "SPROUT_EMFILE_CHILD";

#[test]
fn accept_survives_emfile() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["accept_survives_emfile", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the child failed:\n{}\n{stderr}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains("child: done"), "the child did not run the scenario:\n{stderr}");
    assert_eq!(stderr.matches("accept failed").count(), 1, "reported once:\n{stderr}");
    assert!(stderr.contains("Too many open files"), "{stderr}");
    assert_eq!(stderr.matches("accepting again").count(), 1, "{stderr}");
}

async fn round_trip(stream: &TcpStream, msg: &[u8]) {
    stream.write_all(msg).await.unwrap();
    let mut back = vec![0; msg.len()];
    stream.read_exact(&mut back).await.unwrap();
    assert_eq!(back, msg);
}

/// The lowest descriptor number the next open would get.
fn next_fd() -> u64 {
    let file = std::fs::File::open("/dev/null").unwrap();
    std::os::fd::AsRawFd::as_raw_fd(&file) as u64
}

fn set_fd_limit(n: u64) {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // `rlim_t` is u64 on Linux and macOS, i64 on FreeBSD.
    let n = libc::rlim_t::try_from(n).unwrap();
    // SAFETY: getrlimit fills the valid `limit`; setrlimit only reads it.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = n;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

fn child() {
    sprout::run(within(async {
        let server = StreamServer::bind("127.0.0.1:0", |s, _| echo(s, false)).await.unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let c1 = TcpStream::connect(addr).await.unwrap();
        round_trip(&c1, b"one").await;
        let c2 = TcpStream::connect(addr).await.unwrap();
        round_trip(&c2, b"two").await;

        // Room for exactly one more descriptor: the third client's socket.
        // The server's accept of it then fails with EMFILE.
        set_fd_limit(next_fd() + 1);
        let c3 = TcpStream::connect(addr).await.unwrap();
        while handle.accept_errors() == 0 {
            sprout::sleep(Duration::from_millis(5)).await;
        }
        // Backing off, not spinning: a handful of retries in 200 ms (a
        // spinning acceptor would make hundreds of thousands).
        sprout::sleep(Duration::from_millis(200)).await;
        let retries = handle.accept_errors();
        assert!(retries < 50, "{retries} failed accepts in 200 ms: the acceptor spins");
        // The open connections are still served meanwhile.
        round_trip(&c1, b"still here").await;
        assert_eq!(handle.connections(), 2);

        // Closing a connection frees descriptors (the client's and, once
        // the handler sees EOF, the server's): the third is accepted.
        drop(c2);
        round_trip(&c3, b"three").await;
        assert_eq!(handle.connections(), 2);
        drop((c1, c3));
        assert_eq!(handle.stop_graceful(Duration::from_secs(10)).await, 0);
        eprintln!("child: done after {} failed accepts", handle.accept_errors());
    }));
}
