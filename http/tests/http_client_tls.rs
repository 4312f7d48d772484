//! The client over TLS: one HTTP/2 connection per origin even for requests
//! fired at once from a fresh client, the HTTP/1 fallback when ALPN says
//! so, a dialling request cancelled mid-handshake, and the connect timeout
//! over a TLS handshake that never ends.

mod support;

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use sprout_http::tls::{self, rustls};
use sprout_http::{Client, Server};
use sprout_net::{TcpListener, TcpStream};
use sprout_runtime::sync::Event;
use support::{routes, run, run_paused, test_cert};

/// A TCP front for a server: counts the connections it accepts. The first
/// `stall` are held open and never forwarded (a server that accepts TCP
/// and never answers TLS); the others are piped to `upstream`.
struct Front {
    port: u16,
    accepted: Rc<Cell<usize>>,
    /// Set when a stalled connection has been accepted.
    stalled: Rc<Event>,
}

async fn front(upstream: SocketAddr, stall: usize) -> Front {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted, stalled) = (Rc::new(Cell::new(0)), Rc::new(Event::new()));
    let (count, stalled_set) = (accepted.clone(), stalled.clone());
    sprout_runtime::spawn(async move {
        loop {
            let (client, _) = listener.accept().await.unwrap();
            count.set(count.get() + 1);
            if count.get() <= stall {
                stalled_set.set();
                // Read and drop whatever comes, until the client goes away.
                sprout_runtime::spawn(async move { support::read_until_close(&client).await });
                continue;
            }
            let server = Rc::new(TcpStream::connect(upstream).await.unwrap());
            let client = Rc::new(client);
            for (from, to) in [(client.clone(), server.clone()), (server, client)] {
                sprout_runtime::spawn(async move {
                    let _ = futures_util::io::copy(&*from, &mut &*to).await;
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    Front { port, accepted, stalled }
}

/// A TLS server of the test routes that offers `alpn` (empty: the
/// server's default, `h2` and `http/1.1`), behind a [`Front`] that stalls
/// the first `stall` connections; and a client builder that trusts it.
struct Setup {
    front: Front,
    handle: sprout_net::ServerHandle,
    url: String,
    client: sprout_http::client::Builder,
}

async fn setup(alpn: &[&[u8]], stall: usize) -> Setup {
    let cert = test_cert();
    let mut config = (*tls::server_config(vec![cert.cert.clone()], cert.key.clone_key()).unwrap()).clone();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert).unwrap();
    let server = Server::bind("127.0.0.1:0", routes).await.unwrap().tls(config);
    let front = front(server.local_addr().unwrap(), stall).await;
    let url = format!("https://localhost:{}/", front.port);
    Setup { front, handle: server.start(), url, client: Client::builder().tls_config(tls::client_config(roots)) }
}

/// Fires `n` GETs at once from `client`; returns their HTTP versions.
async fn burst(client: &Client, url: &str, n: usize) -> Vec<hyper::Version> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (client, url) = (client.clone(), url.to_owned());
            sprout_runtime::spawn(async move {
                let resp = client.get(&url).await.unwrap();
                let version = resp.version();
                assert_eq!(resp.text().await.unwrap(), "hello");
                version
            })
        })
        .collect();
    sprout_runtime::joinall(tasks).await.into_iter().map(Result::unwrap).collect()
}

/// Issue 18, bug 4: fifty requests fired at once from a fresh client
/// opened fifty TLS connections; HTTP/2 carries them all on one.
#[test]
fn concurrent_first_requests_share_one_http2_connection() {
    run(async {
        let Setup { front, handle, url, client } = setup(&[], 0).await;
        let client = client.build();
        let versions = burst(&client, &url, 50).await;
        assert!(versions.iter().all(|v| *v == hyper::Version::HTTP_2), "{versions:?}");
        assert_eq!(front.accepted.get(), 1, "one TLS connection for fifty concurrent requests");
        // And the next burst shares it too.
        burst(&client, &url, 50).await;
        assert_eq!(front.accepted.get(), 1);
        handle.stop();
    });
}

/// The same burst to a server that picks `http/1.1` by ALPN: the requests
/// that waited for the first dial dial their own, and all succeed; the
/// connections are then pooled and reused.
#[test]
fn concurrent_first_requests_fall_back_to_http1_connections_when_alpn_says_so() {
    run(async {
        let Setup { front, handle, url, client } = setup(&[b"http/1.1"], 0).await;
        let client = client.build();
        let versions = burst(&client, &url, 20).await;
        assert!(versions.iter().all(|v| *v == hyper::Version::HTTP_11), "{versions:?}");
        assert_eq!(front.accepted.get(), 20, "HTTP/1 carries one exchange at a time");
        assert_eq!(client.idle_connections(), 20);
        burst(&client, &url, 20).await;
        assert_eq!(front.accepted.get(), 20, "the pooled connections are reused");
        handle.stop();
    });
}

/// The request dialling for the others is dropped mid-handshake: one of
/// the waiters dials instead, and both get their answer on one new
/// connection. (They wait for an hour's connect timeout otherwise.)
#[test]
fn waiters_take_over_when_the_dialling_request_is_dropped() {
    run(async {
        let Setup { front, handle, url, client } = setup(&[], 1).await;
        let client = client.connect_timeout(Duration::from_secs(3600)).build();
        let first = {
            let (client, url) = (client.clone(), url.clone());
            sprout_runtime::spawn(async move { drop(client.get(&url).await) })
        };
        // Its connection is accepted and stalls in the handshake.
        front.stalled.wait().await;
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let (client, url) = (client.clone(), url.clone());
                sprout_runtime::spawn(async move { client.get(&url).await.unwrap().text().await.unwrap() })
            })
            .collect();
        // Both run up to their wait (they were queued before this task).
        sprout_runtime::yield_now().await;
        first.kill();
        for text in sprout_runtime::joinall(waiters).await {
            assert_eq!(text.unwrap(), "hello");
        }
        assert_eq!(front.accepted.get(), 2, "one new connection for both waiters");
        handle.stop();
    });
}

/// Issue 18, bug 7: `connect_timeout` did not bound the TLS handshake; a
/// server that accepts TCP and never answers held the request forever.
#[test]
fn the_connect_timeout_covers_the_tls_handshake() {
    run_paused(async {
        let Setup { front, handle, url, client } = setup(&[], usize::MAX).await;
        let client = client.connect_timeout(Duration::from_secs(5)).build();
        let start = sprout_runtime::time::now();
        let err = client.get(&url).await.unwrap_err();
        assert!(err.is_timeout() && err.is_connect(), "{err}");
        assert!(front.stalled.is_set(), "TCP was accepted: the handshake timed out");
        let waited = sprout_runtime::time::now() - start;
        assert!((Duration::from_secs(5)..Duration::from_millis(5010)).contains(&waited), "{waited:?} (virtual)");
        handle.stop();
    });
}
