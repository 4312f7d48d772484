//! The proxy environment variables, read by `Client::new()`. A binary of
//! its own with one test: setting variables would race every other test
//! of a binary that reads them (each `Client::new()` does).

mod support;

use sprout_http::{Body, Client, Incoming, Request, Response, Server};
use support::proxy::{self, Mode};
use support::run;

fn set(name: &str, value: &str) {
    // SAFETY: this binary runs one test on one thread, and nothing else
    // reads or writes the environment while the variable is set.
    unsafe { std::env::set_var(name, value) }
}

fn unset(name: &str) {
    // SAFETY: as in `set`.
    unsafe { std::env::remove_var(name) }
}

#[test]
fn http_proxy_https_proxy_and_no_proxy_from_the_environment() {
    run(async {
        let server = Server::bind("127.0.0.1:0", |req: Request<Incoming>| async move {
            Response::new(Body::from(req.uri().to_string()))
        })
        .await
        .unwrap();
        let port = server.local_addr().unwrap().port();
        let handle = server.start();
        let proxy = proxy::start(Mode::RequireAuth("Basic dTpw".into()), None).await; // base64("u:p")
        let proxy_url = proxy.url.replacen("://", "://u:p@", 1);

        for name in ["http_proxy", "https_proxy", "all_proxy", "ALL_PROXY", "no_proxy", "REQUEST_METHOD"] {
            unset(name);
        }
        set("HTTP_PROXY", &proxy_url);
        set("NO_PROXY", "localhost");
        let client = Client::new();
        // Read once, at build: later changes do not reach this client.
        unset("HTTP_PROXY");
        // `origin.test` is this machine to the test proxy (support/proxy.rs).
        let via_proxy = client.get(&format!("http://origin.test:{port}/a")).await.unwrap().text().await.unwrap();
        assert_eq!(via_proxy, format!("http://origin.test:{port}/a"), "absolute form: it went through the proxy");
        let direct = client.get(&format!("http://localhost:{port}/b")).await.unwrap().text().await.unwrap();
        assert_eq!(direct, "/b", "NO_PROXY: direct");
        // Loopback is never sent to a proxy from the environment, listed or not.
        let loopback = client.get(&format!("http://127.0.0.1:{port}/e")).await.unwrap().text().await.unwrap();
        assert_eq!(loopback, "/e", "loopback: direct");
        assert_eq!(proxy.seen().len(), 1);
        assert_eq!(proxy.seen()[0].auth.as_deref(), Some("Basic dTpw"));

        // Lower case wins over upper case; a client built now sees no HTTP_PROXY.
        set("http_proxy", &proxy_url);
        set("HTTP_PROXY", "http://127.0.0.1:1");
        let body = Client::new().get(&format!("http://origin.test:{port}/c")).await.unwrap().text().await.unwrap();
        assert_eq!(body, format!("http://origin.test:{port}/c"));
        unset("http_proxy");
        unset("HTTP_PROXY");
        let body = Client::new().get(&format!("http://127.0.0.1:{port}/d")).await.unwrap().text().await.unwrap();
        assert_eq!(body, "/d", "no variable: direct");

        // An unusable value fails the requests it covers, naming the variable.
        set("HTTPS_PROXY", "socks5://127.0.0.1:1080");
        let err = Client::new().get("https://origin.test:1/").await.unwrap_err();
        assert!(err.is_proxy(), "{err}");
        assert!(err.to_string().contains("HTTPS_PROXY"), "{err}");
        unset("HTTPS_PROXY");
        unset("NO_PROXY");
        handle.stop();
    });
}
