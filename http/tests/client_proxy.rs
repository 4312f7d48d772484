//! The client through a proxy written in the test (support/proxy.rs):
//! plain http in absolute form, https through a `CONNECT` tunnel,
//! credentials from the proxy URL, a proxy that refuses, `no_proxy`, a
//! TLS proxy. The environment variables have their own test binary
//! (client_proxy_env.rs).

mod support;

use sprout_http::client::{Client, Proxy};
use sprout_http::tls::{self, rustls};
use sprout_http::{Body, Incoming, Request, Response, Server};
use support::proxy::{self, Mode};
use support::{run, test_cert};

/// An origin that answers with the request target it received and the
/// `Proxy-Authorization` it saw (none, if the proxy did its job on a
/// tunnel).
async fn origin() -> (std::net::SocketAddr, sprout_net::ServerHandle) {
    let server = Server::bind("127.0.0.1:0", |req: Request<Incoming>| async move {
        let auth = req.headers().get("proxy-authorization").map(|v| v.to_str().unwrap().to_owned());
        Response::new(Body::from(format!("{} {} auth={auth:?}", req.method(), req.uri())))
    })
    .await
    .unwrap();
    (server.local_addr().unwrap(), server.start())
}

/// The same origin over TLS (the test certificate names localhost and
/// 127.0.0.1), and a client builder that trusts it.
async fn tls_origin() -> (std::net::SocketAddr, sprout_net::ServerHandle, sprout_http::client::Builder) {
    tls_origin_with(&test_cert()).await
}

async fn tls_origin_with(
    cert: &support::TestCert,
) -> (std::net::SocketAddr, sprout_net::ServerHandle, sprout_http::client::Builder) {
    let config = tls::server_config(vec![cert.cert.clone()], cert.key.clone_key()).unwrap();
    let server = Server::bind("127.0.0.1:0", |req: Request<Incoming>| async move {
        let target = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
        Response::new(Body::from(format!("tls {:?} {} {target}", req.version(), req.method())))
    })
    .await
    .unwrap()
    .tls(config);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.clone()).unwrap();
    (server.local_addr().unwrap(), server.start(), Client::builder().tls_config(tls::client_config(roots)))
}

fn with_credentials(proxy_url: &str) -> String {
    proxy_url.replacen("://", "://al%40ice:s3cret@", 1)
}

/// base64("al@ice:s3cret").
const ALICE: &str = "Basic YWxAaWNlOnMzY3JldA==";

#[test]
fn plain_http_goes_to_the_proxy_in_absolute_form_with_its_credentials() {
    run(async {
        let (addr, handle) = origin().await;
        let proxy = proxy::start(Mode::RequireAuth(ALICE.into()), None).await;
        let client = Client::builder().proxy(Proxy::all(&with_credentials(&proxy.url)).unwrap()).build();
        for _ in 0..3 {
            let body = client.get(&format!("http://{addr}/page?q=1")).await.unwrap().text().await.unwrap();
            // The origin got the absolute form the proxy forwarded as is.
            assert!(body.starts_with(&format!("GET http://{addr}/page?q=1 auth=Some")), "{body}");
        }
        let seen = proxy.seen();
        assert_eq!(seen[0].method, "GET");
        assert_eq!(seen[0].target, format!("http://{addr}/page?q=1"));
        assert_eq!(seen[0].auth.as_deref(), Some(ALICE));
        assert_eq!(proxy.accepted.get(), 1, "keep-alive through the proxy: one connection for three requests");
        handle.stop();
    });
}

#[test]
fn https_goes_through_a_connect_tunnel_and_the_proxy_sees_only_the_connect() {
    run(async {
        let (addr, handle, builder) = tls_origin().await;
        let proxy = proxy::start(Mode::RequireAuth(ALICE.into()), None).await;
        let client = builder.proxy(Proxy::all(&with_credentials(&proxy.url)).unwrap()).build();
        let url = format!("https://localhost:{}/secret?x=1", addr.port());
        for _ in 0..2 {
            let body = client.get(&url).await.unwrap().text().await.unwrap();
            // HTTP/2 by ALPN with the origin, through the tunnel.
            assert_eq!(body, "tls HTTP/2.0 GET /secret?x=1");
        }
        let seen = proxy.seen();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(
            (seen[0].method.as_str(), seen[0].target.clone()),
            ("CONNECT", format!("localhost:{}", addr.port()))
        );
        assert_eq!(seen[0].auth.as_deref(), Some(ALICE), "credentials on the CONNECT");
        assert_eq!(proxy.accepted.get(), 1, "the tunnel is pooled like a direct connection");
        handle.stop();
    });
}

/// The edge case: a proxy that refuses `CONNECT` fails the
/// request with an error that says so, with the proxy's status.
#[test]
fn a_proxy_that_refuses_connect_gives_a_clear_error() {
    run(async {
        let (addr, handle, builder) = tls_origin().await;
        let url = format!("https://localhost:{}/", addr.port());

        let refusing = proxy::start(Mode::Refuse(403), None).await;
        let client = builder.proxy(Proxy::all(&refusing.url).unwrap()).build();
        let err = client.get(&url).await.unwrap_err();
        assert!(err.is_proxy() && err.is_connect(), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("refused the tunnel: 403 Forbidden"), "{msg}");
        assert!(msg.contains(&format!("CONNECT localhost:{}", addr.port())), "{msg}");

        // No credentials where the proxy wants them: 407, said as such.
        let (_, _, builder) = tls_origin().await;
        let guarded = proxy::start(Mode::RequireAuth(ALICE.into()), None).await;
        let client = builder.proxy(Proxy::all(&guarded.url).unwrap()).build();
        let err = client.get(&url).await.unwrap_err();
        assert!(err.is_proxy(), "{err}");
        assert!(err.to_string().contains("407 Proxy Authentication Required"), "{err}");
        handle.stop();
    });
}

#[test]
fn a_plain_http_refusal_is_the_proxys_response_and_a_dead_proxy_is_a_proxy_error() {
    run(async {
        let (addr, handle) = origin().await;
        let refusing = proxy::start(Mode::Refuse(403), None).await;
        let client = Client::builder().proxy(Proxy::http(&refusing.url).unwrap()).build();
        // For plain http the proxy answers in the origin's place.
        let resp = client.get(&format!("http://{addr}/")).await.unwrap();
        assert_eq!(resp.status(), 403);

        // A proxy nobody listens on.
        let closed = sprout_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let client = Client::builder().proxy(Proxy::all(&dead).unwrap()).build();
        let err = client.get(&format!("http://{addr}/")).await.unwrap_err();
        assert!(err.is_proxy() && err.is_connect(), "{err}");
        assert!(err.to_string().contains("proxy http://127.0.0.1:"), "{err}");
        handle.stop();
    });
}

#[test]
fn no_proxy_hosts_and_other_schemes_go_direct() {
    run(async {
        let (addr, handle) = origin().await;
        let proxy = proxy::start(Mode::Forward, None).await;
        let client = Client::builder().proxy(Proxy::https(&proxy.url).unwrap()).build();
        let body = client.get(&format!("http://{addr}/direct")).await.unwrap().text().await.unwrap();
        assert_eq!(body, "GET /direct auth=None", "an https-only proxy leaves http direct");

        let client =
            Client::builder().proxy(Proxy::all(&proxy.url).unwrap().no_proxy("example.com, 127.0.0.0/8")).build();
        let body = client.get(&format!("http://{addr}/listed")).await.unwrap().text().await.unwrap();
        assert_eq!(body, "GET /listed auth=None");
        assert_eq!(proxy.accepted.get(), 0);

        let client = Client::builder().proxy(Proxy::all(&proxy.url).unwrap()).no_proxy().build();
        client.get(&format!("http://{addr}/")).await.unwrap();
        assert_eq!(proxy.accepted.get(), 0, "no_proxy() drops every proxy");
        handle.stop();
    });
}

/// An `https://` proxy: TLS to the proxy, then absolute-form requests,
/// or the `CONNECT` and the origin's TLS inside that.
#[test]
fn a_tls_proxy_carries_plain_and_tunnelled_requests() {
    run(async {
        // One certificate for the proxy and the origin: the client trusts it.
        let cert = test_cert();
        let (tls_addr, tls_handle, builder) = tls_origin_with(&cert).await;
        let (addr, handle) = origin().await;
        let proxy_tls = tls::server_config(vec![cert.cert.clone()], cert.key.clone_key()).unwrap();
        let proxy = proxy::start(Mode::Forward, Some(proxy_tls)).await;
        assert!(proxy.url.starts_with("https://"));
        let client = builder.proxy(Proxy::all(&proxy.url).unwrap()).build();
        let body = client.get(&format!("http://{addr}/p")).await.unwrap().text().await.unwrap();
        assert!(body.starts_with(&format!("GET http://{addr}/p")), "{body}");
        let url = format!("https://localhost:{}/s", tls_addr.port());
        assert_eq!(client.get(&url).await.unwrap().text().await.unwrap(), "tls HTTP/2.0 GET /s");
        let seen: Vec<_> = proxy.seen().into_iter().map(|s| s.method).collect();
        assert_eq!(seen, ["GET", "CONNECT"]);
        tls_handle.stop();
        handle.stop();
    });
}
