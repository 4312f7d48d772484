//! DatagramServer: a handler task per datagram, replies, stop controls.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use sprout::net::server::Reply;
use sprout::net::{DatagramServer, UdpSocket};
use support::within;

#[test]
fn echoes_each_datagram_from_its_own_task() {
    sprout::run(within(async {
        let server = DatagramServer::bind("127.0.0.1:0", |data: Vec<u8>, _, reply: Reply| async move {
            reply.send(&data.to_ascii_uppercase()).await
        })
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.connect(addr).await.unwrap();
        let mut buf = [0; 64];
        for i in 0..100 {
            let msg = format!("datagram {i}");
            client.send(msg.as_bytes()).await.unwrap();
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], msg.to_ascii_uppercase().as_bytes());
        }
        handle.stop();
    }));
}

#[test]
fn handlers_run_concurrently_up_to_the_limit_and_graceful_stop_waits() {
    sprout::run(within(async {
        let running = Rc::new(Cell::new(0));
        let peak = Rc::new(Cell::new(0));
        let server = DatagramServer::bind("127.0.0.1:0", {
            let (running, peak) = (running.clone(), peak.clone());
            move |data: Vec<u8>, peer, reply: Reply| {
                let (running, peak) = (running.clone(), peak.clone());
                async move {
                    assert_eq!(peer, reply.peer());
                    running.set(running.get() + 1);
                    peak.set(peak.get().max(running.get()));
                    sprout::sleep(Duration::from_millis(20)).await;
                    running.set(running.get() - 1);
                    reply.send(&data).await.map(drop)
                }
            }
        })
        .await
        .unwrap()
        .max_concurrency(3);
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for i in 0..6u8 {
            client.send_to(&[i], addr).await.unwrap();
        }
        let mut seen = Vec::new();
        let mut buf = [0; 4];
        for _ in 0..6 {
            let (n, _) = client.recv_from(&mut buf).await.unwrap();
            seen.extend_from_slice(&buf[..n]);
        }
        seen.sort();
        assert_eq!(seen, [0, 1, 2, 3, 4, 5]);
        assert_eq!(peak.get(), 3, "three at once, never more");
        client.send_to(b"z", addr).await.unwrap();
        while handle.connections() == 0 {
            sprout::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(handle.stop_graceful(Duration::from_secs(10)).await, 0);
        assert_eq!(running.get(), 0);
    }));
}

#[test]
fn serve_forever_waits_for_the_handlers_of_a_graceful_stop() {
    // serve_forever returns only once the graceful stop is over: were it
    // to return at stop_graceful, `run` would end and kill the handler.
    let log = support::Log::new();
    sprout::run(within({
        let log = log.clone();
        async move {
            let server = DatagramServer::bind("127.0.0.1:0", {
                let log = log.clone();
                move |data: Vec<u8>, _, reply: Reply| {
                    let log = log.clone();
                    async move {
                        sprout::sleep(Duration::from_millis(50)).await;
                        reply.send(&data).await?;
                        log.push("replied");
                        std::io::Result::Ok(())
                    }
                }
            })
            .await
            .unwrap();
            let addr = server.local_addr().unwrap();
            let handle = server.handle();
            sprout::spawn({
                let log = log.clone();
                async move {
                    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                    client.send_to(b"slow", addr).await.unwrap();
                    while handle.connections() == 0 {
                        sprout::sleep(Duration::from_millis(1)).await;
                    }
                    log.push("stop");
                    handle.stop_graceful(Duration::from_secs(10)).await;
                }
            });
            server.serve_forever().await;
            log.push("served");
        }
    }));
    assert_eq!(log.take(), ["stop", "replied", "served"]);
}
