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
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(Response::new(Body::from("counted")))
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(Io::new(stream), service).await;
            });
        }
    });
    (base, accepted)
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
        let mut resp = client.request(req).await.unwrap();
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
