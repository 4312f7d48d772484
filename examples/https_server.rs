//! HTTPS with a self-signed certificate made at start (rcgen): a server,
//! and a client that trusts that certificate and nothing else.
//!
//! ```text
//! cargo run --release --example https_server --features tls                 # server + client, then exit
//! cargo run --release --example https_server --features tls -- --serve 127.0.0.1:8443
//! curl --cacert /tmp/sprout-https-cert.pem https://localhost:8443/
//! ```

use std::time::Duration;

use sprout::http::{Body, Client, Incoming, Request, Response, Server};
use sprout::tls::{self, rustls::RootCertStore, rustls::pki_types::PrivateKeyDer};

async fn hello(req: Request<Incoming>) -> Response<Body> {
    Response::new(Body::from(format!("Hello over TLS ({:?}), you asked for {}\n", req.version(), req.uri().path())))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let serve_on = match &args[..] {
        [] => None,
        [flag, addr] if flag == "--serve" => Some(addr.clone()),
        _ => {
            eprintln!("usage: https_server [--serve ADDR]");
            std::process::exit(2);
        }
    };

    // A certificate for localhost, signed by itself.
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).expect("rcgen");
    let cert = made.cert.der().clone();
    let key = PrivateKeyDer::try_from(made.signing_key.serialize_der()).expect("a PKCS#8 key");
    let pem_path = std::env::temp_dir().join("sprout-https-cert.pem");
    std::fs::write(&pem_path, made.cert.pem()).expect("write the certificate");
    let server_config = tls::server_config(vec![cert.clone()], key).expect("a valid certificate and key");

    sprout::run(async move {
        let addr = serve_on.as_deref().unwrap_or("127.0.0.1:0");
        let server = Server::bind(addr, hello).await.expect("bind").tls(server_config);
        let port = server.local_addr().expect("a bound listener").port();
        println!("https_server on https://localhost:{port}/ (certificate: {})", pem_path.display());
        let handle = server.start();
        if serve_on.is_some() {
            // Ctrl-C (or SIGTERM): requests in flight get 5 s; a second
            // Ctrl-C stops at once.
            handle.stop_on_signals(Duration::from_secs(5)).expect("listen for Ctrl-C");
            handle.finished().await;
            return;
        }

        // The client trusts our certificate only.
        let mut roots = RootCertStore::empty();
        roots.add(cert).expect("a certificate");
        let client = Client::builder().tls_config(tls::client_config(roots)).build();
        for path in ["/", "/again"] {
            let resp = client.get(&format!("https://localhost:{port}{path}")).await.expect("https request");
            print!("client got {} {:?}: {}", resp.status(), resp.version(), resp.text().await.expect("body"));
        }
        // A client with the usual (Mozilla) roots refuses the certificate.
        match Client::new().get(&format!("https://localhost:{port}/")).await {
            Ok(resp) => println!("unexpected: {}", resp.status()),
            Err(e) => println!("a client that trusts only the public roots says: {e}"),
        }
        handle.stop();
    });
}
