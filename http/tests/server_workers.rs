//! `Server::workers`: the HTTP server on several cores.

// The root crate's helpers for paused tests of two workers.
#[path = "../../tests/support/workers.rs"]
mod workers;

use std::collections::HashSet;
use std::time::Duration;

use hyper::Response;
use sprout_http::Server;
use sprout_net::TcpStream;
use sprout_runtime::time;

/// One request on a new connection; returns the body.
async fn get(addr: std::net::SocketAddr) -> String {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n").await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    reply.split("\r\n\r\n").nth(1).unwrap().to_owned()
}

#[test]
fn requests_are_served_on_every_worker() {
    sprout_runtime::run(async {
        let server =
            Server::bind("127.0.0.1:0", |_req| async { Response::new(format!("{:?}", std::thread::current().id())) })
                .await
                .unwrap()
                .keep_alive_timeout(Some(Duration::from_secs(5)))
                .workers(3);
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        assert_eq!(handle.workers(), 3);
        let mut threads = HashSet::new();
        for _ in 0..150 {
            threads.insert(get(addr).await);
        }
        assert_eq!(threads.len(), 3, "every worker answered: {threads:?}");
        // A kept-alive idle connection on some worker is closed by the graceful stop.
        let idle = TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n").await.unwrap();
        let mut buf = [0; 512];
        assert!(idle.read(&mut buf).await.unwrap() > 0);
        assert_eq!(handle.stop_graceful(Duration::from_secs(2)).await, 0, "idle connections close, not killed");
        assert_eq!(handle.connections(), 0);
        assert!(TcpStream::connect(addr).await.is_err(), "no worker listens any more");
    });
}

#[test]
fn worker_i_reports_index_i_of_n_and_builds_its_own_state() {
    use sprout_http::BoxHandler;
    use sprout_runtime::cores::Core;
    use std::cell::Cell;
    use std::rc::Rc;

    /// Worker `i`'s handler: a `!Send` hit counter of its own, and what
    /// `Core::current()` and the thread's name say where it was built.
    fn handler(i: usize) -> BoxHandler {
        let hits = Rc::new(Cell::new(0u32));
        let built = (Core::current().map(|c| (c.id(), c.count())), std::thread::current().name().map(str::to_owned));
        BoxHandler::from_fn(move |_req| {
            hits.set(hits.get() + 1);
            let now = Core::current().map(|c| (c.id(), c.count()));
            let text = format!("{i} {now:?} {:?} {}", built, hits.get());
            async move { Response::new(text) }
        })
    }

    sprout_runtime::run(async {
        let server = Server::with_handler(handler(0)).listen("127.0.0.1:0").await.unwrap().workers_with(3, handler);
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let mut hits = [0u32; 3];
        while hits.contains(&0) {
            assert!(hits.iter().sum::<u32>() < 300, "a worker never answered: {hits:?}");
            let text = get(addr).await;
            let (i, rest) = text.split_once(' ').unwrap();
            let i: usize = i.parse().unwrap();
            hits[i] += 1;
            let expected_now = format!("{:?}", Some((i, 3)));
            assert!(rest.starts_with(&expected_now), "worker {i} answers as core {i} of 3: {text}");
            assert!(rest.ends_with(&format!(" {}", hits[i])), "worker {i} counts its own hits: {text}");
            if i > 0 {
                let built = format!("{:?}", (Some((i, 3)), Some(format!("sprout-server-{i}"))));
                assert!(rest.contains(&built), "worker {i}'s handler was built on its thread: {text}");
            }
        }
        handle.stop_graceful(Duration::from_secs(2)).await;
    });
}

/// Issue 18, bug 9: under paused time, worker 1 of `Server::workers(2)` ran
/// on the real clock, so its keep-alive timeout never fired in the test.
/// Connections are opened (one request each, then idle) until both workers
/// hold some, so the old code fails every time; with one clock shared by
/// the workers, every idle connection is closed at its keep-alive deadline.
#[test]
fn keep_alive_timeouts_fire_on_every_worker_under_paused_time() {
    const KEEP_ALIVE: Duration = Duration::from_secs(30);
    let builder = sprout_runtime::Runtime::builder().start_paused(true);
    sprout_runtime::testing::run_test_with(builder, || async {
        let test_thread = std::thread::current().id();
        let server = Server::bind("127.0.0.1:0", move |_req| async move {
            let worker = u8::from(std::thread::current().id() != test_thread);
            Response::new(worker.to_string())
        })
        .await
        .unwrap()
        .keep_alive_timeout(Some(KEEP_ALIVE))
        .workers(2);
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let start = time::now();
        // Six idle kept-alive connections at least, and some on each worker.
        let conns = workers::on_both_workers(6, || async {
            let conn = TcpStream::connect(addr).await.unwrap();
            conn.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n").await.unwrap();
            (one_byte_body(&conn).await, conn)
        })
        .await;
        time::sleep(KEEP_ALIVE + Duration::from_secs(5)).await;
        workers::assert_all_closed(&conns, start).await;
        handle.stop();
    });
}

/// Reads one response whose body is a single digit, and returns it.
async fn one_byte_body(conn: &TcpStream) -> u8 {
    let mut got = Vec::new();
    let mut buf = [0; 512];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n")
            && let Some(&digit) = got.get(end + 4)
        {
            assert!(got.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&got));
            return digit - b'0';
        }
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed before answering");
        got.extend_from_slice(&buf[..n]);
    }
}
