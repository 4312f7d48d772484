//! UdpSocket and socket errors: an ICMP "port unreachable" on a connected
//! socket surfaces once, on the next receive, and never makes the loop spin.
//!
//! Each test runs its runtime under `support::watchdog`: the bug these
//! tests pin down froze the whole thread inside one poll, where no sprout
//! timer can fire, so only another thread can notice.

mod support;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sprout::net::UdpSocket;
use support::{ticker, watchdog, within};

/// A loopback port nobody listens on (bound, then closed again).
async fn closed_port() -> SocketAddr {
    let gone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    gone.local_addr().unwrap()
}

const HANG: Duration = Duration::from_secs(30);

#[test]
fn a_receive_after_the_error_waits_instead_of_spinning() {
    watchdog(HANG, || {
        sprout::run(within(async {
            let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            sock.connect(closed_port().await).await.unwrap();
            sock.send(b"anyone?").await.unwrap();
            sprout::sleep(Duration::from_millis(20)).await;
            let mut buf = [0; 16];
            // The ICMP error surfaces once, on the next receive...
            assert_eq!(sock.recv(&mut buf).await.unwrap_err().kind(), ErrorKind::ConnectionRefused);
            // ...and the receive after it waits for a datagram, letting the
            // loop run meanwhile (it must not spin on the error).
            let (ticks, _ticker) = ticker();
            let start = Instant::now();
            assert!(sprout::timeout(Duration::from_millis(200), sock.recv(&mut buf)).await.is_err());
            assert!(start.elapsed() >= Duration::from_millis(200));
            assert!(ticks.get() > 0, "other tasks ran while the receive waited");
        }))
    });
}

#[test]
fn each_error_surfaces_once_and_the_socket_stays_usable() {
    watchdog(HANG, || {
        sprout::run(within(async {
            let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let peer = closed_port().await;
            sock.connect(peer).await.unwrap();
            let mut buf = [0; 16];
            // A receiver already waiting is woken by the error, not only a
            // datagram; a second error after the first was consumed wakes
            // it again (clearing the error bit loses no later error).
            for _ in 0..3 {
                sock.send(b"anyone?").await.unwrap();
                let got = sprout::timeout(Duration::from_secs(10), sock.recv(&mut buf)).await;
                assert_eq!(got.expect("the error woke the receiver").unwrap_err().kind(), ErrorKind::ConnectionRefused);
            }
            // Sending after an error neither fails nor spins.
            for _ in 0..10 {
                sock.send(b"still here").await.unwrap();
                sock.take_error().unwrap();
            }
            // Once the peer exists, datagrams flow both ways.
            let Ok(alive) = UdpSocket::bind(peer).await else {
                return; // another process took the port meanwhile: nothing to check
            };
            alive.connect(sock.local_addr().unwrap()).await.unwrap();
            sock.send(b"ping").await.unwrap();
            let n = alive.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ping");
            alive.send(b"pong").await.unwrap();
            // The earlier sends may have left one more error queued: it is
            // reported once, then the datagram arrives.
            let n = match sock.recv(&mut buf).await {
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => sock.recv(&mut buf).await.unwrap(),
                other => other.unwrap(),
            };
            assert_eq!(&buf[..n], b"pong");
        }))
    });
}

#[test]
fn a_peer_down_does_not_stall_other_tasks() {
    // The DNS case of the issue: a client whose server is down keeps
    // retrying with a timeout, while the rest of the program goes on.
    watchdog(HANG, || {
        sprout::run(within(async {
            let (ticks, _ticker) = ticker();
            let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            sock.connect(closed_port().await).await.unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            let mut buf = [0; 16];
            let mut refused = 0;
            for _ in 0..5 {
                sock.send(b"query").await.unwrap();
                match sock.recv(&mut buf).await {
                    Err(e) if e.kind() == ErrorKind::ConnectionRefused => refused += 1,
                    Err(e) if e.kind() == ErrorKind::TimedOut => {}
                    other => panic!("unexpected {other:?}"),
                }
                // The read timeout, not a spin, ends a receive with no error.
                assert_eq!(sock.recv(&mut buf).await.unwrap_err().kind(), ErrorKind::TimedOut);
            }
            assert!(refused > 0, "the errors were reported");
            assert!(ticks.get() > 0);
        }))
    });
}
