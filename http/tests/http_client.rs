//! The HTTP client: connection reuse, chunked bodies both ways, redirects,
//! timeouts, errors.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use http_body_util::BodyExt;
use sprout_http::rt::Io;
use sprout_http::{Body, Client, Request, Response, Server, header};
use sprout_net::TcpListener;
use support::{routes, run};

/// A hyper server on a plain accept loop that counts its connections.
/// `/` answers "counted"; the other paths are bodies for the drain tests
/// (see [`drain_body`]).
async fn counting_server() -> (String, Rc<Cell<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Rc::new(Cell::new(0));
    let count = accepted.clone();
    sprout_runtime::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            count.set(count.get() + 1);
            sprout_runtime::spawn(async move {
                let service = hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                    Ok::<_, std::convert::Infallible>(Response::new(drain_body(req.uri().path())))
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(Io::new(stream), service).await;
            });
        }
    });
    (base, accepted)
}

/// `/small` 10 KiB with a length; `/small-chunked` three chunks of 10 KiB;
/// `/big` 1 MB with a length; `/big-chunked` a hundred chunks of 10 kB;
/// `/stall` one chunk, then nothing ever; `/` "counted".
fn drain_body(path: &str) -> Body {
    let chunks = |n: usize| {
        Body::stream(futures_util::stream::iter((0..n).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 10_240]))))
    };
    match path {
        "/small" => Body::from(vec![b's'; 10_240]),
        "/small-chunked" => chunks(3),
        "/big" => Body::from(vec![b'b'; 1_000_000]),
        "/big-chunked" => chunks(100),
        "/stall" => {
            let first = futures_util::stream::iter([Ok::<_, std::io::Error>(vec![b'x'; 100])]);
            Body::stream(futures_util::StreamExt::chain(first, futures_util::stream::pending()))
        }
        _ => Body::from("counted"),
    }
}

#[test]
fn keep_alive_reuses_one_connection_per_concurrent_request() {
    run(async {
        let (base, accepted) = counting_server().await;
        let client = Client::new();
        for _ in 0..10 {
            let resp = client.get(&format!("{base}/")).await.unwrap();
            assert_eq!(resp.text().await.unwrap(), "counted");
        }
        assert_eq!(accepted.get(), 1, "ten requests in a row, one connection");
        assert_eq!(client.idle_connections(), 1);

        // Four at once need four connections; then they are all reused.
        for _ in 0..3 {
            let batch: Vec<_> = (0..4)
                .map(|_| {
                    let (client, url) = (client.clone(), format!("{base}/"));
                    sprout_runtime::spawn(async move { client.get(&url).await.unwrap().text().await.unwrap() })
                })
                .collect();
            for text in sprout_runtime::joinall(batch).await {
                assert_eq!(text.unwrap(), "counted");
            }
        }
        assert_eq!(accepted.get(), 4);
        assert_eq!(client.idle_connections(), 4);
    });
}

#[test]
fn a_response_dropped_half_read_closes_its_connection() {
    run(async {
        let server = Server::bind("127.0.0.1:0", |_req| async {
            let chunks = futures_util::stream::iter((0..100).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 10_000])));
            Response::new(Body::stream(chunks))
        })
        .await
        .unwrap();
        let url = format!("http://{}/", server.local_addr().unwrap());
        let handle = server.start();
        let client = Client::new();
        let mut resp = client.get(&url).await.unwrap();
        assert!(resp.chunk().await.unwrap().is_some());
        drop(resp);
        assert_eq!(client.idle_connections(), 0, "not pooled with a body left unread");
        // The next request gets a fresh connection and works.
        let body = client.get(&url).await.unwrap().bytes().await.unwrap();
        assert_eq!(body.len(), 1_000_000);
        assert_eq!(client.idle_connections(), 1);
        handle.stop();
    });
}

#[test]
fn chunked_bodies_both_ways() {
    run(async {
        let server = Server::bind("127.0.0.1:0", routes).await.unwrap();
        let url = format!("http://{}/echo", server.local_addr().unwrap());
        let handle = server.start();
        let client = Client::new();
        // No length known: the request goes out chunked...
        let chunks: Vec<Result<String, std::io::Error>> = (0..50).map(|i| Ok(format!("chunk {i};"))).collect();
        let req = Request::post(&url).body(Body::stream(futures_util::stream::iter(chunks))).unwrap();
        let mut resp = client.execute(req).await.unwrap();
        // ...and the echo, streamed back as it arrives, comes back chunked.
        assert_eq!(resp.headers().get(header::TRANSFER_ENCODING).unwrap(), "chunked");
        let mut got = String::new();
        let mut pieces = 0;
        while let Some(chunk) = resp.chunk().await.unwrap() {
            got.push_str(std::str::from_utf8(&chunk).unwrap());
            pieces += 1;
        }
        let want: String = (0..50).map(|i| format!("chunk {i};")).collect();
        assert_eq!(got, want);
        assert!(pieces >= 1);

        // A raw chunked request, checked on the wire.
        let reply = support::raw(
            server_addr(&url),
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
              5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        )
        .await;
        assert!(reply.contains("transfer-encoding: chunked"), "{reply:?}");
        let body = reply.split_once("\r\n\r\n").unwrap().1;
        let decoded: String = decode_chunked(body);
        assert_eq!(decoded, "hello world");
        handle.stop();
    });
}

fn server_addr(url: &str) -> std::net::SocketAddr {
    url.trim_start_matches("http://").split('/').next().unwrap().parse().unwrap()
}

/// Decodes a chunked body (test helper: well-formed input only).
fn decode_chunked(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size, 16).unwrap();
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
}

#[test]
fn redirects_are_followed_or_returned() {
    run(async {
        let server = Server::bind("127.0.0.1:0", |req: Request<sprout_http::Incoming>| async move {
            let path = req.uri().path().to_owned();
            let (status, location) = match path.as_str() {
                "/old" => (301, Some("/new")),
                "/see-other" => (303, Some("new")),
                "/loop" => (302, Some("/loop")),
                _ => (200, None),
            };
            let mut resp = Response::builder().status(status);
            if let Some(location) = location {
                resp = resp.header(header::LOCATION, location);
            }
            resp.body(Body::from(format!("{} {path}", req.method()))).unwrap()
        })
        .await
        .unwrap();
        let base = format!("http://{}", server.local_addr().unwrap());
        let handle = server.start();

        let client = Client::new();
        let resp = client.get(&format!("{base}/old")).await.unwrap();
        assert_eq!(resp.url().path(), "/new");
        assert_eq!(resp.text().await.unwrap(), "GET /new");
        let resp = client.post(&format!("{base}/see-other"), "form").await.unwrap();
        assert_eq!(resp.text().await.unwrap(), "GET /new", "303 turns a POST into a GET");
        let err = client.get(&format!("{base}/loop")).await.unwrap_err();
        assert!(err.is_redirect(), "{err}");

        let manual = Client::builder().redirects(0).build();
        let resp = manual.get(&format!("{base}/old")).await.unwrap();
        assert_eq!(resp.status(), 301);
        assert_eq!(resp.headers()[header::LOCATION], "/new");
        handle.stop();
    });
}

#[test]
fn a_request_times_out_and_errors_say_what_failed() {
    run(async {
        let server = Server::bind("127.0.0.1:0", routes).await.unwrap();
        let base = format!("http://{}", server.local_addr().unwrap());
        let handle = server.start();
        let client = Client::builder().timeout(Duration::from_millis(50)).build();
        let err = client.get(&format!("{base}/slow")).await.unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert_eq!(client.get(&format!("{base}/")).await.unwrap().text().await.unwrap(), "hello");

        let err = client.get("ftp://example.com/").await.unwrap_err();
        assert!(err.is_url(), "{err}");
        let err = client.get("/relative").await.unwrap_err();
        assert!(err.is_url(), "{err}");
        handle.stop();
        // Nothing listens there any more.
        sprout_runtime::sleep(Duration::from_millis(10)).await;
        let refused = Client::new().get(&format!("{base}/")).await.unwrap_err();
        assert!(refused.is_connect(), "{refused}");
        assert!(refused.to_string().contains("cannot connect"), "{refused}");
    });
}

#[test]
fn a_host_name_resolves_off_the_loop() {
    run(async {
        let server = Server::bind("127.0.0.1:0", routes).await.unwrap();
        let port = server.local_addr().unwrap().port();
        let handle = server.start();
        let resp = Client::new().get(&format!("http://localhost:{port}/")).await;
        // localhost may resolve to ::1 first; the client tries each address.
        assert_eq!(resp.unwrap().text().await.unwrap(), "hello");
        handle.stop();
    });
}

#[test]
fn bodies_collect_with_the_helpers() {
    run(async {
        let body = Body::from("abc");
        assert_eq!(sprout_http::to_bytes(body).await.unwrap(), "abc");
        let streamed = Body::stream(futures_util::stream::iter(["a", "b"].map(Ok::<_, std::io::Error>)));
        assert_eq!(streamed.collect().await.unwrap().to_bytes(), "ab");
    });
}

/// Issue 18, bug 2: a port above 65535 became the scheme's default (80)
/// in the client, `ws::connect` and the hyper-util connector.
#[test]
fn a_port_above_65535_is_a_url_error_wherever_a_url_is_taken() {
    run(async {
        let client = Client::new();
        for url in ["http://127.0.0.1:99999/", "https://127.0.0.1:65536/", "http://localhost:4294967376/"] {
            let err = client.get(url).await.unwrap_err();
            assert!(err.is_url(), "{url}: {err}");
            assert!(err.to_string().contains("out of range"), "{url}: {err}");
        }
        let err = client.get("http://user:secret@127.0.0.1:1/").await.unwrap_err();
        assert!(err.is_url() && !err.to_string().contains("secret"), "{err}");
        let err = client.get("http://:8080/").await.unwrap_err();
        assert!(err.is_url(), "{err}");

        match sprout_http::ws::connect("ws://127.0.0.1:99999/").await {
            Err(sprout_http::ws::Error::Url(e)) => assert!(e.to_string().contains("port 99999 is out of range"), "{e}"),
            other => panic!("ws::connect: {:?}", other.map(|_| ())),
        }

        let pooled: hyper_util::client::legacy::Client<_, http_body_util::Empty<sprout_http::Bytes>> =
            hyper_util::client::legacy::Client::builder(sprout_http::rt::Exec)
                .build(sprout_http::connector::Connector::new());
        let err = pooled.get("http://127.0.0.1:99999/".parse().unwrap()).await.unwrap_err();
        let chain = std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source());
        let url_error = chain.filter_map(|e| e.downcast_ref::<std::io::Error>()).next();
        let url_error = url_error.unwrap_or_else(|| panic!("no I/O error in {err:?}"));
        assert_eq!(url_error.kind(), std::io::ErrorKind::InvalidInput, "{url_error}");
        assert!(url_error.to_string().contains("out of range"), "{url_error}");
    });
}

/// Issue 18, bug 3: relative `Location`s failed with "bad redirect
/// location", and `//host:port/path` went to the original host.
#[test]
fn redirects_resolve_every_reference_form() {
    run(async {
        // The other origin: answers with what it got, and whether it saw
        // credentials; counts the connections its requests came on.
        let peers = Rc::new(std::cell::RefCell::new(std::collections::HashSet::new()));
        let seen = peers.clone();
        let other = Server::bind("127.0.0.1:0", move |req: Request<sprout_http::Incoming>| {
            seen.borrow_mut().insert(sprout_http::remote_addr().unwrap());
            let auth = req.headers().contains_key(header::AUTHORIZATION);
            async move { Response::new(Body::from(format!("other {} auth={auth}", req.uri()))) }
        })
        .await
        .unwrap();
        let other_addr = other.local_addr().unwrap();
        let other = other.start();
        let server = Server::bind("127.0.0.1:0", move |req: Request<sprout_http::Incoming>| async move {
            let location = match (req.uri().path(), req.uri().query()) {
                ("/a/b/relative", _) => Some("sub/page".to_owned()),
                ("/a/b/query", None) => Some("?page=2".to_owned()),
                ("/a/b/parent", _) => Some("../up".to_owned()),
                ("/a/b/dot", _) => Some("./same".to_owned()),
                ("/a/b/network", _) => Some(format!("//{other_addr}/x/../there?q")),
                ("/a/b/bad-port", _) => Some("//127.0.0.1:99999/".to_owned()),
                _ => None,
            };
            let auth = req.headers().contains_key(header::AUTHORIZATION);
            let mut resp = Response::builder().status(if location.is_some() { 302 } else { 200 });
            if let Some(location) = location {
                resp = resp.header(header::LOCATION, location);
            }
            resp.body(Body::from(format!("here {} auth={auth}", req.uri()))).unwrap()
        })
        .await
        .unwrap();
        let base = format!("http://{}", server.local_addr().unwrap());
        let handle = server.start();
        let client = Client::new();
        // A pooled connection to the other origin, for the redirect to reuse.
        let warm = client.get(&format!("http://{other_addr}/warm")).await.unwrap();
        assert_eq!(warm.text().await.unwrap(), "other /warm auth=false");
        let get = |path: &str| {
            let req = Request::get(format!("{base}{path}")).header(header::AUTHORIZATION, "Bearer secret");
            client.execute(req.body(Body::empty()).unwrap())
        };

        for (path, want) in [
            ("/a/b/relative", "here /a/b/sub/page auth=true"),
            ("/a/b/query", "here /a/b/query?page=2 auth=true"),
            ("/a/b/parent", "here /a/up auth=true"),
            ("/a/b/dot", "here /a/b/same auth=true"),
            // Another origin: its own connection, and no credentials.
            ("/a/b/network", "other /there?q auth=false"),
        ] {
            let resp = get(path).await.unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(resp.text().await.unwrap(), want, "{path}");
        }
        assert_eq!(peers.borrow().len(), 1, "the hop to the other origin took its pooled connection");
        let err = get("/a/b/bad-port").await.unwrap_err();
        assert!(err.is_url(), "{err}");
        handle.stop();
        other.stop();
    });
}

/// A server whose responses send their head at once, then a chunk every
/// second: `chunks` of them (`None`: none ever, the body stalls).
async fn trickling_server(chunks: Option<usize>) -> (String, sprout_net::ServerHandle) {
    let server = Server::bind("127.0.0.1:0", move |_req| async move {
        let body = futures_util::stream::unfold(0, move |sent| async move {
            match chunks {
                None => std::future::pending::<()>().await,
                Some(n) if sent == n => return None,
                Some(_) => {}
            }
            sprout_runtime::sleep(Duration::from_secs(1)).await;
            Some((Ok::<_, std::io::Error>(format!("chunk {sent};")), sent + 1))
        });
        Response::new(Body::stream(body))
    })
    .await
    .unwrap();
    let url = format!("http://{}/", server.local_addr().unwrap());
    (url, server.start())
}

/// Issue 18, bug 7: the request timeout stopped at the response head; a
/// body that stalls after it hung `text()` forever.
#[test]
fn the_request_timeout_covers_a_body_that_stalls() {
    support::run_paused(async {
        let (url, handle) = trickling_server(None).await;
        let client = Client::builder().timeout(Duration::from_secs(5)).build();
        let start = sprout_runtime::time::now();
        let resp = client.get(&url).await.unwrap();
        assert_eq!(resp.status(), 200, "the head comes in time");
        let err = resp.text().await.unwrap_err();
        assert!(err.is_timeout(), "{err}");
        let waited = sprout_runtime::time::now() - start;
        assert!((Duration::from_secs(5)..Duration::from_millis(5010)).contains(&waited), "{waited:?} (virtual)");

        let mut resp = client.get(&url).await.unwrap();
        assert!(resp.chunk().await.unwrap_err().is_timeout());
        handle.stop();
    });
}

/// The limit is the request's whole exchange, not each read: a body whose
/// chunks each come in time but which as a whole takes too long is cut at
/// the deadline. Without a limit it is read to its end.
#[test]
fn the_request_timeout_bounds_the_whole_body_not_each_read() {
    support::run_paused(async {
        let (url, handle) = trickling_server(Some(10)).await;
        let client = Client::builder().timeout(Duration::from_millis(4500)).build();
        let mut resp = client.get(&url).await.unwrap();
        let mut got = 0;
        let err = loop {
            match resp.chunk().await {
                Ok(Some(_)) => got += 1,
                Ok(None) => panic!("the whole body arrived after {got} chunks"),
                Err(e) => break e,
            }
        };
        assert!(err.is_timeout(), "{err}");
        assert_eq!(got, 4, "four chunks in 4.5 s, then the deadline");

        let body = Client::new().get(&url).await.unwrap().text().await.unwrap();
        assert_eq!(body, (0..10).map(|i| format!("chunk {i};")).collect::<String>());
        handle.stop();
    });
}

/// Issue 21: a response dropped with a small body unread closed its
/// connection, so the next request paid a new handshake. Now the rest is
/// drained in the background and the connection reused: sequential
/// requests whose responses are dropped unread use one connection.
#[test]
fn a_response_dropped_with_a_small_unread_body_keeps_its_connection() {
    run(async {
        for path in ["/small", "/small-chunked"] {
            let (base, accepted) = counting_server().await;
            let client = Client::new();
            for _ in 0..3 {
                let resp = client.get(&format!("{base}{path}")).await.unwrap();
                assert_eq!(resp.status(), 200);
                drop(resp); // unread
            }
            let resp = client.get(&format!("{base}/")).await.unwrap();
            assert_eq!(resp.text().await.unwrap(), "counted");
            assert_eq!(accepted.get(), 1, "{path}: four requests, one connection");
            assert_eq!(client.idle_connections(), 1, "{path}");
        }
    });
}

/// The other side of the rule: a rest above 64 KiB (known from the
/// length, or found while draining a chunked body) or one that does not
/// arrive in time closes the connection; the next request dials anew.
#[test]
fn a_response_dropped_with_a_big_or_slow_unread_body_closes_its_connection() {
    support::run_paused(async {
        for path in ["/big", "/big-chunked", "/stall"] {
            let (base, accepted) = counting_server().await;
            let client = Client::new();
            let mut resp = client.get(&format!("{base}{path}")).await.unwrap();
            assert!(resp.chunk().await.unwrap().is_some());
            drop(resp);
            let resp = client.get(&format!("{base}/")).await.unwrap();
            assert_eq!(resp.text().await.unwrap(), "counted");
            assert_eq!(accepted.get(), 2, "{path}: the dropped response's connection was closed");
            assert_eq!(client.idle_connections(), 1, "{path}");
        }
    });
}

/// A response still unread when the runtime ends: its connection is
/// dropped quietly (no drain task, no panic).
#[test]
fn a_response_left_unread_at_runtime_end_is_dropped_quietly() {
    let kept = Rc::new(Cell::new(None));
    let keep = kept.clone();
    sprout_runtime::run(async move {
        let (base, _accepted) = counting_server().await;
        let client = Client::new();
        keep.set(Some(client.get(&format!("{base}/small")).await.unwrap()));
        // A task that holds another response when the runtime stops.
        let resp = client.get(&format!("{base}/small")).await.unwrap();
        drop(sprout_runtime::spawn(async move {
            let _held = resp;
            std::future::pending::<()>().await;
        }));
        sprout_runtime::yield_now().await;
    });
    drop(kept.take()); // after the runtime: nothing to drain on
}

/// Issue 20: a `sprout::deadline` around a request bounds it like the
/// client's own timeout, with the same error, head and body alike; the
/// earlier of the two wins.
#[test]
fn a_deadline_bounds_a_request_like_its_timeout() {
    use sprout_runtime::time::{self, deadline_after};
    support::run_paused(async {
        let (url, handle) = trickling_server(None).await;
        let start = time::now();
        // No timeout of its own: the deadline cuts the stalled body.
        let client = Client::new();
        let err = deadline_after(Duration::from_secs(3), async { client.get(&url).await?.text().await })
            .await
            .expect("the client's own error, not the deadline's backstop")
            .unwrap_err();
        assert!(err.is_timeout(), "{err}");
        let waited = time::now() - start;
        assert!((Duration::from_secs(3)..Duration::from_millis(3010)).contains(&waited), "{waited:?} (virtual)");
        // A response taken outside the deadline, its body read under one.
        let resp = client.get(&url).await.unwrap();
        let err = deadline_after(Duration::from_secs(1), resp.text()).await.unwrap().unwrap_err();
        assert!(err.is_timeout(), "{err}");
        // A client timeout earlier than the deadline still wins.
        let client = Client::builder().timeout(Duration::from_secs(1)).build();
        let start = time::now();
        let err = deadline_after(Duration::from_secs(60), async { client.get(&url).await?.text().await })
            .await
            .unwrap()
            .unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert!(time::now() - start < Duration::from_secs(2));
        handle.stop();
    });
}
