//! reqwest, a tokio-bound client, on sprout tasks through `compat`: GET,
//! POST with JSON, HTTPS with a private root, against sprout's own HTTP
//! server on the same thread; and a request dropped mid-way leaves no task
//! behind on the tokio runtime.

mod support;

use std::rc::Rc;
use std::sync::OnceLock;

use serde_json::{Value, json};
use sprout::compat::{CompatExt, Tokio};
use sprout::http::{Body, Incoming, Method, Request, Response, Server, StatusCode, header, to_bytes};
use sprout::sync::Event;
use support::{run, until};

/// The test server's routes: a page, a JSON endpoint, and (with `arrived`)
/// a page that never answers.
async fn routes(req: Request<Incoming>, arrived: Rc<Event>) -> Response<Body> {
    match (req.method().clone(), req.uri().path()) {
        (Method::GET, "/") => Response::new(Body::from("hello from sprout")),
        (Method::POST, "/json") => {
            let body = to_bytes(req.into_body()).await.unwrap();
            let asked: Value = serde_json::from_slice(&body).unwrap();
            let reply = json!({ "greeting": format!("hello, {}", asked["name"].as_str().unwrap()), "n": asked["n"].as_i64().unwrap() + 1 });
            Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(reply.to_string()))
                .unwrap()
        }
        (Method::GET, "/never") => {
            arrived.set();
            std::future::pending().await
        }
        _ => Response::builder().status(StatusCode::NOT_FOUND).body(Body::empty()).unwrap(),
    }
}

/// Starts the test server; returns its address, its handle and the event
/// `/never` sets.
async fn start() -> (std::net::SocketAddr, sprout::net::ServerHandle, Rc<Event>) {
    install_ring();
    let arrived = Rc::new(Event::new());
    let event = arrived.clone();
    let server = Server::bind("127.0.0.1:0", move |req| routes(req, event.clone())).await.unwrap();
    let addr = server.local_addr().unwrap();
    (addr, server.start(), arrived)
}

#[test]
fn get_and_post_json_with_a_fresh_client() {
    run(async {
        let (addr, server, _) = start().await;
        // Built outside the wrapper: building a Client touches no runtime.
        let client = reqwest::Client::new();
        let page = async {
            let resp = client.get(format!("http://{addr}/")).send().await?;
            assert_eq!(resp.status(), 200);
            resp.text().await
        }
        .compat()
        .await
        .unwrap();
        assert_eq!(page, "hello from sprout");

        let reply: Value = async {
            client
                .post(format!("http://{addr}/json"))
                .json(&json!({ "name": "sprout", "n": 41 }))
                .send()
                .await?
                .json()
                .await
        }
        .compat()
        .await
        .unwrap();
        assert_eq!(reply, json!({ "greeting": "hello, sprout", "n": 42 }));

        let missing = async { client.get(format!("http://{addr}/nowhere")).send().await }.compat().await.unwrap();
        assert_eq!(missing.status(), 404);
        server.stop();
    });
}

#[test]
fn many_sprout_tasks_share_one_client() {
    run(async {
        let (addr, server, _) = start().await;
        let client = reqwest::Client::new();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let client = client.clone();
                sprout::spawn(async move { client.get(format!("http://{addr}/")).send().await?.text().await }.compat())
            })
            .collect();
        for page in sprout::joinall(tasks).await {
            assert_eq!(page.unwrap().unwrap(), "hello from sprout");
        }
        server.stop();
    });
}

/// A private certificate authority and a `localhost` certificate it signed.
struct PrivatePki {
    ca: rcgen::Certificate,
    leaf: rcgen::Certificate,
    leaf_key: rcgen::KeyPair,
}

fn private_pki(name: &str) -> PrivatePki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, name);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let mut leaf_params = CertificateParams::new(vec!["localhost".into()]).unwrap();
    leaf_params.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    PrivatePki { ca, leaf, leaf_key }
}

/// reqwest is built with `rustls-no-provider` (its default provider,
/// aws-lc-rs, is a large C build), so every `Client` needs a process-wide
/// provider, even for plain http: ring, as sprout's TLS uses.
fn install_ring() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = sprout::tls::rustls::crypto::CryptoProvider::install_default((*sprout::tls::provider()).clone());
    });
}

#[test]
fn https_with_a_private_root() {
    install_ring();
    let pki = private_pki("sprout test root");
    let key = sprout::tls::rustls::pki_types::PrivateKeyDer::try_from(pki.leaf_key.serialize_der()).unwrap();
    let server_config = sprout::tls::server_config(vec![pki.leaf.der().clone()], key).unwrap();
    let root = reqwest::Certificate::from_der(pki.ca.der()).unwrap();
    let stranger = reqwest::Certificate::from_der(private_pki("another root").ca.der()).unwrap();
    run(async move {
        let event = Rc::new(Event::new());
        let server =
            Server::bind("127.0.0.1:0", move |req| routes(req, event.clone())).await.unwrap().tls(server_config);
        let port = server.local_addr().unwrap().port();
        let server = server.start();
        let url = format!("https://localhost:{port}/");

        let trusting = reqwest::Client::builder().tls_certs_only([root]).build().unwrap();
        let page = async { trusting.get(&url).send().await?.text().await }.compat().await.unwrap();
        assert_eq!(page, "hello from sprout");

        // A client that trusts another root refuses the server.
        let other = reqwest::Client::builder().tls_certs_only([stranger]).build().unwrap();
        let refused = async { other.get(&url).send().await }.compat().await.unwrap_err();
        assert!(format!("{refused:?}").contains("UnknownIssuer"), "{refused:?}");
        server.stop();
    });
}

#[test]
fn a_request_dropped_mid_way_leaves_no_task_on_the_tokio_runtime() {
    // A runtime of this test's own, so no other test's tasks are counted.
    let mine = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let handle = mine.handle().clone();
    run(async move {
        let (addr, server, arrived) = start().await;
        let metrics = handle.metrics();
        let request = sprout::spawn(Tokio::with_handle(
            async move { reqwest::Client::new().get(format!("http://{addr}/never")).send().await },
            handle.clone(),
        ));
        arrived.wait().await;
        // hyper-util drives each connection in a tokio task of its own.
        assert!(metrics.num_alive_tasks() >= 1, "the connection's task runs on the tokio runtime");
        request.kill();
        until("the connection's task to end", || metrics.num_alive_tasks() == 0).await;
        server.stop();
    });
}
