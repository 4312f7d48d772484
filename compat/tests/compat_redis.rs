//! The `redis` crate (tokio flavour: `tokio-comp`) on sprout tasks through
//! `compat`, against a real `redis-server` each test starts on a free port
//! and stops (also when it fails). `.ci/run` installs redis-server from
//! Debian's packages; without it these tests fail, saying so.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
#[cfg(target_os = "linux")]
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use redis::AsyncCommands;
use sprout::compat::CompatExt;
use sprout::sync::Event;
use support::run;

/// A `redis-server` child process on a free loopback port, killed when
/// dropped: at the end of the test, or while a failed test unwinds.
struct RedisServer {
    child: Child,
    addr: SocketAddr,
}

impl RedisServer {
    fn start() -> RedisServer {
        // A port free a moment ago may be taken before redis binds it:
        // then the child exits at once, and another port is tried.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let mut command = Command::new("redis-server");
            command
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // SAFETY: prctl is async-signal-safe, the only kind of call
            // allowed between fork and exec; it only sets a flag of the
            // child. The flag kills redis-server if this test process dies
            // without running the guard (killed by a harness time limit).
            // Linux only: elsewhere the guard's drop is the only cleanup.
            #[cfg(target_os = "linux")]
            unsafe {
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            let child = match command.spawn() {
                Ok(child) => child,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                    "redis-server is not installed, and these tests need a real one: \
                     apt-get install -y redis-server (.ci/run does this)"
                ),
                Err(e) => panic!("cannot start redis-server: {e}"),
            };
            let mut server = RedisServer { child, addr: SocketAddr::from(([127, 0, 0, 1], port)) };
            if server.wait_ready() {
                return server;
            }
        }
        panic!("redis-server did not start on any of 5 free ports");
    }

    /// Waits until the server answers PING; false if it exited first.
    fn wait_ready(&mut self) -> bool {
        let start = Instant::now();
        loop {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if let Ok(mut stream) = TcpStream::connect(self.addr) {
                stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut reply = [0u8; 7];
                if stream.write_all(b"PING\r\n").is_ok()
                    && stream.read_exact(&mut reply).is_ok()
                    && &reply == b"+PONG\r\n"
                {
                    return true;
                }
            }
            assert!(start.elapsed() < Duration::from_secs(10), "redis-server did not answer PING in 10 s");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn client(&self) -> redis::Client {
        redis::Client::open(format!("redis://{}/", self.addr)).unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn set_get_incr_and_a_pipeline() {
    let server = RedisServer::start();
    let client = server.client();
    run(async move {
        // The multiplexed connection spawns its driver with tokio::spawn:
        // it lands on the side runtime.
        let mut con = async { client.get_multiplexed_async_connection().await }.compat().await.unwrap();
        let (got, counted): (String, i64) = async {
            con.set::<_, _, ()>("greeting", "hello from sprout").await?;
            let got = con.get("greeting").await?;
            con.set::<_, _, ()>("counter", 40).await?;
            let counted = con.incr("counter", 2).await?;
            redis::RedisResult::Ok((got, counted))
        }
        .compat()
        .await
        .unwrap();
        assert_eq!(got, "hello from sprout");
        assert_eq!(counted, 42);

        let (first, second, total): (i64, i64, i64) = async {
            redis::pipe().atomic().incr("piped", 1).incr("piped", 10).get("piped").query_async(&mut con).await
        }
        .compat()
        .await
        .unwrap();
        assert_eq!((first, second, total), (1, 11, 11));
    });
}

#[test]
fn green_tasks_share_one_multiplexed_connection() {
    let server = RedisServer::start();
    let client = server.client();
    run(async move {
        let con = async { client.get_multiplexed_async_connection().await }.compat().await.unwrap();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let mut con = con.clone();
                sprout::spawn(async move { con.incr::<_, _, i64>("hits", 1).await }.compat())
            })
            .collect();
        for result in sprout::joinall(tasks).await {
            result.unwrap().unwrap();
        }
        let mut con = con;
        let hits: i64 = async { con.get("hits").await }.compat().await.unwrap();
        assert_eq!(hits, 50);
    });
}

#[test]
fn publish_and_subscribe_between_green_tasks() {
    let server = RedisServer::start();
    let client = server.client();
    run(async move {
        let subscribed = Rc::new(Event::new());
        let ready = subscribed.clone();
        let subscriber_client = client.clone();
        let subscriber = sprout::spawn(async move {
            let mut pubsub = async { subscriber_client.get_async_pubsub().await }.compat().await.unwrap();
            async { pubsub.subscribe("news").await }.compat().await.unwrap();
            ready.set();
            let mut messages = pubsub.into_on_message();
            let mut got = Vec::new();
            for _ in 0..3 {
                let message = async { messages.next().await }.compat().await.expect("a message");
                got.push(message.get_payload::<String>().unwrap());
            }
            got
        });
        subscribed.wait().await;
        let mut con = async { client.get_multiplexed_async_connection().await }.compat().await.unwrap();
        for word in ["one", "two", "three"] {
            let receivers: i64 = async { con.publish("news", word).await }.compat().await.unwrap();
            assert_eq!(receivers, 1);
        }
        assert_eq!(subscriber.await.unwrap(), ["one", "two", "three"]);
    });
}
