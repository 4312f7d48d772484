//! TLS: handshake and round trip through the Server and the Client, HTTP/2
//! over ALPN, and a certificate the client does not trust, refused with a
//! clear error.

mod support;

use sprout_http::tls::{self, rustls::RootCertStore};
use sprout_http::{Client, Server};
use support::{Errors, routes, run, test_cert};

#[test]
fn https_round_trip_with_a_custom_root() {
    let cert = test_cert();
    let server_config = tls::server_config(vec![cert.cert.clone()], cert.key.clone_key()).unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(cert.cert.clone()).unwrap();
    run(async move {
        let server = Server::bind("127.0.0.1:0", routes).await.unwrap().tls(server_config);
        let port = server.local_addr().unwrap().port();
        let handle = server.start();
        let client = Client::builder().tls_config(tls::client_config(roots)).build();
        for host in ["localhost", "127.0.0.1"] {
            let resp = client.get(&format!("https://{host}:{port}/")).await.unwrap();
            assert_eq!(resp.version(), hyper::Version::HTTP_2, "h2 negotiated by ALPN");
            assert_eq!(resp.text().await.unwrap(), "hello");
            let echoed = client.post(&format!("https://{host}:{port}/echo"), "over tls").await.unwrap();
            assert_eq!(echoed.text().await.unwrap(), "over tls");
        }
        handle.stop();
    });
}

#[test]
fn http1_over_tls_when_the_client_offers_only_http1() {
    let cert = test_cert();
    let server_config = tls::server_config(vec![cert.cert.clone()], cert.key.clone_key()).unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(cert.cert.clone()).unwrap();
    let mut client_config = (*tls::client_config(roots)).clone();
    client_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    run(async move {
        let server = Server::bind("127.0.0.1:0", routes).await.unwrap().tls(server_config);
        let port = server.local_addr().unwrap().port();
        let handle = server.start();
        let client = Client::builder().tls_config(client_config).build();
        for _ in 0..3 {
            let resp = client.get(&format!("https://localhost:{port}/")).await.unwrap();
            assert_eq!(resp.version(), hyper::Version::HTTP_11);
            assert_eq!(resp.text().await.unwrap(), "hello");
        }
        assert_eq!(handle.connections(), 1, "kept alive");
        handle.stop();
    });
}

#[test]
fn a_certificate_the_client_does_not_trust_is_refused_clearly() {
    let cert = test_cert();
    let server_config = tls::server_config(vec![cert.cert.clone()], cert.key.clone_key()).unwrap();
    run(async move {
        let errors = Errors::default();
        let server = Server::bind("127.0.0.1:0", routes).await.unwrap().tls(server_config).on_error(errors.hook());
        let port = server.local_addr().unwrap().port();
        let handle = server.start();
        // The default client trusts the Mozilla roots, not our self-signed certificate.
        let err = Client::new().get(&format!("https://localhost:{port}/")).await.unwrap_err();
        assert!(err.is_tls(), "{err}");
        let message = err.to_string();
        assert!(message.contains("invalid peer certificate") && message.contains("UnknownIssuer"), "{message}");
        assert!(message.contains(&format!("localhost:{port}")), "names the server: {message}");
        // A plain-HTTP request to the TLS port is refused, and is the peer's fault.
        let reply = support::raw(([127, 0, 0, 1], port).into(), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(!reply.contains("hello"));
        sprout_runtime::sleep(std::time::Duration::from_millis(20)).await;
        let errors = errors.all();
        assert!(!errors.is_empty() && errors.iter().all(|e| e.starts_with("Peer")), "{errors:?}");
        handle.stop();
    });
}
