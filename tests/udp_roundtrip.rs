//! UdpSocket: round trips, connected sockets, peek, options, timeouts.

mod support;

use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::time::Duration;

use sprout::net::UdpSocket;
use support::within;

#[test]
fn send_to_and_recv_from() {
    sprout::run(within(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        // A reader waiting before the datagram is sent gets woken.
        let receiver = sprout::spawn(async move {
            let mut buf = [0; 64];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            b.send_to(&buf[..n].to_ascii_uppercase(), from).await.unwrap();
            from
        });
        sprout::yield_now().await;
        a.send_to(b"ping", b_addr).await.unwrap();
        let mut buf = [0; 64];
        let (n, from) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"PING"[..], b_addr));
        assert_eq!(receiver.await.unwrap(), a_addr);
    }));
}

#[test]
fn datagrams_keep_their_boundaries_and_peek_does_not_consume() {
    sprout::run(within(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        for msg in [&b"one"[..], b"two", b"three"] {
            a.send(msg).await.unwrap();
        }
        let mut buf = [0; 16];
        let (n, from) = b.peek_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"one"[..], a.local_addr().unwrap()));
        assert_eq!(b.peek(&mut buf).await.unwrap(), 3);
        for want in [&b"one"[..], b"two", b"three"] {
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], want);
        }
    }));
}

#[test]
fn many_round_trips() {
    sprout::run(within(async {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let echo = sprout::spawn(async move {
            let mut buf = [0; 1500];
            for _ in 0..1000 {
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                server.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.connect(addr).await.unwrap();
        let mut buf = [0; 1500];
        for i in 0..1000u32 {
            client.send(&i.to_le_bytes()).await.unwrap();
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &i.to_le_bytes());
        }
        echo.await.unwrap();
    }));
}

#[test]
fn options_and_timeouts() {
    sprout::run(within(async {
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        s.set_broadcast(true).unwrap();
        assert!(s.broadcast().unwrap());
        s.set_multicast_loop_v4(false).unwrap();
        assert!(!s.multicast_loop_v4().unwrap());
        s.set_multicast_ttl_v4(4).unwrap();
        assert_eq!(s.multicast_ttl_v4().unwrap(), 4);
        s.set_ttl(33).unwrap();
        assert_eq!(s.ttl().unwrap(), 33);
        let any = UdpSocket::bind("0.0.0.0:0").await.unwrap();
        // Joining a group needs a multicast-capable interface; a bare
        // container may lack one, so only a clean error is required there.
        let group = Ipv4Addr::new(239, 255, 0, 1);
        if any.join_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED).is_ok() {
            any.leave_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED).unwrap();
        }
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let mut buf = [0; 8];
        assert_eq!(s.recv_from(&mut buf).await.unwrap_err().kind(), ErrorKind::TimedOut);
        let std = s.try_clone().unwrap().into_std().unwrap();
        assert_eq!(std.local_addr().unwrap(), s.local_addr().unwrap());
        let back = UdpSocket::from_std(std).unwrap();
        assert_eq!(back.local_addr().unwrap(), s.local_addr().unwrap());
    }));
}
