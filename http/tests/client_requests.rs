//! The client's request side: method helpers, the request builder
//! (headers, query, auth, form, JSON, multipart), JSON responses,
//! `error_for_status`, the per-request timeout and the read timeout.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use sprout_http::client::multipart::{Form, Part};
use sprout_http::{Body, Client, Incoming, Method, Request, Response, Server, StatusCode};
use support::{run, run_paused};

/// An echo of what the server received: method, target, the headers the
/// tests look at, and the body.
#[derive(Debug, Deserialize)]
struct Echo {
    method: String,
    target: String,
    content_type: Option<String>,
    content_length: Option<String>,
    authorization: Option<String>,
    custom: Vec<String>,
    body: String,
}

async fn echo(req: Request<Incoming>) -> Response<Body> {
    let header = |name: &str| req.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let json = serde_json::json!({
        "method": req.method().as_str(),
        "target": req.uri().to_string(),
        "content_type": header("content-type"),
        "content_length": header("content-length"),
        "authorization": header("authorization"),
        "custom": req.headers().get_all("x-custom").iter().map(|v| v.to_str().unwrap()).collect::<Vec<_>>(),
        "body": String::from_utf8_lossy(&req.into_body().collect().await.unwrap().to_bytes()),
    });
    Response::new(Body::from(json.to_string()))
}

async fn echo_server() -> (String, sprout_net::ServerHandle) {
    let server = Server::bind("127.0.0.1:0", echo).await.unwrap();
    (format!("http://{}", server.local_addr().unwrap()), server.start())
}

#[test]
fn every_method_helper_sends_its_method_and_body() {
    run(async {
        let (base, handle) = echo_server().await;
        let client = Client::new();
        let url = format!("{base}/item");
        let cases = [
            (client.get(&url), "GET", ""),
            (client.post(&url, "p"), "POST", "p"),
            (client.put(&url, "u"), "PUT", "u"),
            (client.patch(&url, "a"), "PATCH", "a"),
            (client.delete(&url), "DELETE", ""),
            (client.request(Method::OPTIONS, &url), "OPTIONS", ""),
        ];
        for (request, method, body) in cases {
            let echo: Echo = request.await.unwrap().json().await.unwrap();
            assert_eq!((echo.method.as_str(), echo.target.as_str(), echo.body.as_str()), (method, "/item", body));
        }
        // HEAD: the GET's head, no body.
        let resp = client.head(&url).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers().contains_key("content-length"));
        assert_eq!(resp.bytes().await.unwrap().len(), 0);
        handle.stop();
    });
}

#[test]
fn the_builder_sets_headers_query_auth_and_a_form() {
    run(async {
        let (base, handle) = echo_server().await;
        let client = Client::new();
        let echo: Echo = client
            .post(&format!("{base}/f?keep=1"), ())
            .header("x-custom", "one")
            .header("x-custom", "two")
            .query(&[("q", "a b"), ("amp", "&=")])
            .basic_auth("Aladdin", Some("open sesame"))
            .form(&[("name", "Zoë"), ("note", "1+1=2")])
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(echo.target, "/f?keep=1&q=a+b&amp=%26%3D");
        assert_eq!(echo.custom, ["one", "two"]);
        assert_eq!(echo.authorization.as_deref(), Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
        assert_eq!(echo.content_type.as_deref(), Some("application/x-www-form-urlencoded"));
        assert_eq!(echo.body, "name=Zo%C3%AB&note=1%2B1%3D2");

        let echo: Echo = client.get(&base).bearer_auth("t0k3n").await.unwrap().json().await.unwrap();
        assert_eq!(echo.authorization.as_deref(), Some("Bearer t0k3n"));

        // A bad header is an error when sent, not a panic.
        let err = client.get(&base).header("bad header", "x").await.unwrap_err();
        assert!(err.is_builder(), "{err}");
        handle.stop();
    });
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Order {
    id: u32,
    items: Vec<String>,
    note: Option<String>,
}

#[test]
fn json_both_ways() {
    run(async {
        let (base, handle) = echo_server().await;
        let order = Order { id: 7, items: vec!["tea".into(), "cake".into()], note: None };
        let echo: Echo = Client::new().post(&base, ()).json(&order).await.unwrap().json().await.unwrap();
        assert_eq!(echo.content_type.as_deref(), Some("application/json"));
        assert_eq!(echo.content_length.as_deref(), Some(echo.body.len().to_string().as_str()), "a whole body");
        let back: Order = serde_json::from_str(&echo.body).unwrap();
        assert_eq!(back, order);

        // A value that does not serialize: an error at send.
        let mut bad = HashMap::new();
        bad.insert((1, 2), "tuple keys are not JSON");
        let err = Client::new().post(&base, ()).json(&bad).await.unwrap_err();
        assert!(err.is_builder() && err.to_string().contains("JSON"), "{err}");
        handle.stop();
    });
}

#[test]
fn a_body_that_is_not_the_json_expected_says_why_and_where() {
    run(async {
        let server = Server::bind("127.0.0.1:0", |req: Request<Incoming>| async move {
            let (status, body) = match req.uri().path() {
                "/wrong-type" => (StatusCode::OK, "{\"id\": \"seven\", \"items\": []}"),
                "/not-json" => (StatusCode::BAD_GATEWAY, "<html>\n<h1>Bad gateway</h1>"),
                _ => (StatusCode::NOT_FOUND, "{\"error\": \"no such order\"}"),
            };
            let mut resp = Response::new(Body::from(body));
            *resp.status_mut() = status;
            resp
        })
        .await
        .unwrap();
        let base = format!("http://{}", server.local_addr().unwrap());
        let handle = server.start();
        let client = Client::new();

        let err = client.get(&format!("{base}/wrong-type")).await.unwrap().json::<Order>().await.unwrap_err();
        assert!(err.is_decode(), "{err}");
        assert_eq!(err.status(), Some(StatusCode::OK));
        let msg = err.to_string();
        assert!(msg.contains("200 OK") && msg.contains("/wrong-type"), "{msg}");
        assert!(msg.contains("invalid type: string \"seven\"") && msg.contains("line 1 column 14"), "{msg}");

        let err = client.get(&format!("{base}/not-json")).await.unwrap().json::<Order>().await.unwrap_err();
        assert!(err.is_decode() && err.to_string().contains("502 Bad Gateway"), "{err}");
        assert!(err.to_string().contains("line 1 column 1"), "{err}");

        // error_for_status turns a 4xx into an error before decoding.
        let err = client.get(&format!("{base}/missing")).await.unwrap().error_for_status().unwrap_err();
        assert!(err.is_status() && err.status() == Some(StatusCode::NOT_FOUND), "{err}");
        assert!(err.to_string().contains("client error 404 Not Found"), "{err}");
        let ok = client.get(&format!("{base}/wrong-type")).await.unwrap().error_for_status();
        assert!(ok.is_ok());
        handle.stop();
    });
}

/// A multipart upload, parsed on the server by multer: text fields, a
/// bytes part with a type, a file streamed from disk, and the
/// `Content-Length` kept because every length is known.
#[test]
fn a_multipart_form_is_parsed_by_the_server() {
    run(async {
        let server = Server::bind("127.0.0.1:0", |req: Request<Incoming>| async move {
            let content_type = req.headers()["content-type"].to_str().unwrap().to_owned();
            let length = req.headers().get("content-length").map(|v| v.to_str().unwrap().to_owned());
            let boundary = multer::parse_boundary(&content_type).unwrap();
            let stream = req.into_body().into_data_stream();
            let mut form = multer::Multipart::new(stream, boundary);
            let mut seen = Vec::new();
            while let Some(field) = form.next_field().await.unwrap() {
                let (name, file, kind) = (
                    field.name().map(str::to_owned),
                    field.file_name().map(str::to_owned),
                    field.content_type().map(|m| m.to_string()),
                );
                let bytes = field.bytes().await.unwrap();
                seen.push(format!("{name:?} {file:?} {kind:?} {}", String::from_utf8_lossy(&bytes)));
            }
            seen.push(format!("length {}", length.is_some()));
            Response::new(Body::from(seen.join("\n")))
        })
        .await
        .unwrap();
        let url = format!("http://{}/upload", server.local_addr().unwrap());
        let handle = server.start();

        let dir = std::env::temp_dir().join(format!("sprout-multipart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notes \"v2\".txt");
        let content: String = (0..20_000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        std::fs::write(&path, &content).unwrap();

        let form = Form::new()
            .text("title", "holiday")
            .text("caption", "Zoë & co\r\nline two")
            .part("photo", Part::bytes(&b"\xff\xd8 jpeg"[..]).file_name("beach.jpg").mime("image/jpeg"))
            .part("notes", Part::file(&path).await.unwrap().mime("text/plain"));
        let body = Client::new().post(&url, ()).multipart(form).await.unwrap().text().await.unwrap();
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines[0], "Some(\"title\") None None holiday");
        assert_eq!(lines[1], "Some(\"caption\") None None Zoë & co");
        assert_eq!(lines[2], "line two");
        assert_eq!(lines[3], "Some(\"photo\") Some(\"beach.jpg\") Some(\"image/jpeg\") \u{fffd}\u{fffd} jpeg");
        let notes = format!("Some(\"notes\") Some(\"notes %22v2%22.txt\") Some(\"text/plain\") {content}");
        assert_eq!(lines[4], notes);
        assert_eq!(lines[5], "length true", "every length known: Content-Length, not chunked");

        // A part of unknown length: sent chunked, parsed the same.
        let chunks = futures_util::stream::iter(["str", "eam"].map(Ok::<_, std::io::Error>));
        let form = Form::new().part("s", Part::stream(chunks, None));
        let body = Client::new().post(&url, ()).multipart(form).await.unwrap().text().await.unwrap();
        assert_eq!(body, "Some(\"s\") None None stream\nlength false");
        std::fs::remove_dir_all(&dir).unwrap();
        handle.stop();
    });
}

/// A server whose `/stall` answers after 10 s, and whose `/trickle`
/// sends its head at once and then a chunk every second, five times.
async fn slow_server() -> (String, sprout_net::ServerHandle) {
    let server = Server::bind("127.0.0.1:0", |req: Request<Incoming>| async move {
        if req.uri().path() == "/stall" {
            sprout_runtime::sleep(Duration::from_secs(10)).await;
            return Response::new(Body::from("late"));
        }
        let chunks = futures_util::stream::iter(0..5).then(|i| async move {
            sprout_runtime::sleep(Duration::from_secs(1)).await;
            Ok::<_, std::io::Error>(format!("{i}"))
        });
        Response::new(Body::stream(chunks))
    })
    .await
    .unwrap();
    (format!("http://{}", server.local_addr().unwrap()), server.start())
}

#[test]
fn a_per_request_timeout_replaces_the_clients() {
    run_paused(async {
        let (base, handle) = slow_server().await;
        let client = Client::builder().timeout(Duration::from_secs(1)).build();
        let err = client.get(&format!("{base}/stall")).await.unwrap_err();
        assert!(err.is_timeout(), "{err}");
        let resp = client.get(&format!("{base}/stall")).timeout(Duration::from_secs(15)).await.unwrap();
        assert_eq!(resp.text().await.unwrap(), "late", "a longer limit for this one");
        // It covers the body too: five chunks over 5 s do not fit in 3 s.
        let resp = client.get(&format!("{base}/trickle")).timeout(Duration::from_secs(3)).await.unwrap();
        assert!(resp.text().await.unwrap_err().is_timeout());
        handle.stop();
    });
}

#[test]
fn the_read_timeout_bounds_each_wait_not_the_whole_body() {
    run_paused(async {
        let (base, handle) = slow_server().await;
        // A chunk a second, with 1.5 s allowed between them: the whole
        // body, 5 s long, is read.
        let client = Client::builder().read_timeout(Duration::from_millis(1500)).build();
        let body = client.get(&format!("{base}/trickle")).await.unwrap().text().await.unwrap();
        assert_eq!(body, "01234");
        // A head that takes 10 s.
        let err = client.get(&format!("{base}/stall")).await.unwrap_err();
        assert!(err.is_timeout() && err.to_string().contains("read timeout"), "{err}");

        // 0.5 s allowed: the head comes, the first chunk does not.
        let client = Client::builder().read_timeout(Duration::from_millis(500)).build();
        let start = sprout_runtime::time::now();
        let mut resp = client.get(&format!("{base}/trickle")).await.unwrap();
        let err = resp.chunk().await.unwrap_err();
        assert!(err.is_timeout() && err.to_string().contains("no data from the server for 500ms"), "{err}");
        assert!(sprout_runtime::time::now() - start < Duration::from_secs(1), "cut at the read timeout (virtual)");

        // With both, the earlier limit decides and says which it was.
        let client =
            Client::builder().read_timeout(Duration::from_secs(30)).timeout(Duration::from_millis(2500)).build();
        let err = client.get(&format!("{base}/trickle")).await.unwrap().text().await.unwrap_err();
        assert_eq!(err.to_string(), "the request timed out");
        handle.stop();
    });
}
