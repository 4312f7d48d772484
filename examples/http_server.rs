//! An HTTP server in the role of `gevent.pywsgi`: hello world, a JSON echo,
//! a streamed response and static files, one green task per connection.
//!
//! ```text
//! cargo run --release --example http_server --features http
//! cargo run --release --example http_server --features http -- --addr 127.0.0.1:8080 --dir docs
//! curl http://127.0.0.1:8080/
//! curl -d '{"name": "gevent"}' http://127.0.0.1:8080/json
//! curl -N http://127.0.0.1:8080/stream
//! curl http://127.0.0.1:8080/static/http.md
//! ```
//!
//! Routes:
//! - `GET /`: `Hello, World!` (the route the benchmark hits);
//! - `POST /json`: parses the body as JSON and answers it back, wrapped;
//! - `GET /stream`: ten lines, one every 100 ms, sent as they are made;
//! - `GET /static/<path>`: a file under `--dir` (default `.`), read on the
//!   blocking pool and sent in 64 KiB chunks.
//!
//! Ctrl-C stops it gracefully: requests in flight get 5 s to finish; a
//! second Ctrl-C stops it at once (`ServerHandle::stop_on_signals`).

use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use sprout::http::{Body, Bytes, Incoming, Method, Request, Response, Server, StatusCode, header};

/// The hello route's body, shared by every response (no copy, no allocation).
static HELLO: &[u8] = b"Hello, World!";

async fn route(req: Request<Incoming>, dir: Rc<PathBuf>) -> Response<Body> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => Response::new(Body::from(HELLO)),
        (&Method::POST, "/json") => json_echo(req).await,
        (&Method::GET, "/stream") => streamed(),
        (&Method::GET, path) if path.starts_with("/static/") => static_file(&dir, &path["/static/".len()..]).await,
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// Parses the body as JSON and answers `{"you_sent": <it>, "bytes": n}`.
async fn json_echo(req: Request<Incoming>) -> Response<Body> {
    // At most 1 MiB: a handler decides how much it is willing to hold.
    let body = match sprout::http::to_bytes_limited(req.into_body(), 1 << 20).await {
        Ok(body) => body,
        Err(e) => return text(StatusCode::PAYLOAD_TOO_LARGE, &format!("{e}\n")),
    };
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(value) => {
            let reply = serde_json::json!({ "you_sent": value, "bytes": body.len() });
            let mut resp = Response::new(Body::from(reply.to_string()));
            resp.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
            resp
        }
        Err(e) => text(StatusCode::BAD_REQUEST, &format!("not JSON: {e}\n")),
    }
}

/// Ten lines, one every 100 ms, each sent as soon as it is made (chunked).
fn streamed() -> Response<Body> {
    let lines = futures_util::stream::unfold(0, |n| async move {
        if n == 10 {
            return None;
        }
        if n > 0 {
            sprout::sleep(Duration::from_millis(100)).await;
        }
        Some((Ok::<_, std::io::Error>(format!("line {n}\n")), n + 1))
    });
    Response::new(Body::stream(lines))
}

/// A file under `dir`, streamed in 64 KiB chunks read on the blocking pool.
async fn static_file(dir: &Path, path: &str) -> Response<Body> {
    // Plain names only: no `..`, no absolute paths.
    let relative = Path::new(path);
    if path.is_empty() || !relative.components().all(|c| matches!(c, Component::Normal(_))) {
        return text(StatusCode::NOT_FOUND, "not found\n");
    }
    let file = match sprout::fs::File::open(dir.join(relative)).await {
        Ok(file) => file,
        Err(_) => return text(StatusCode::NOT_FOUND, "not found\n"),
    };
    let len = match file.metadata().await {
        Ok(meta) if meta.is_file() => meta.len(),
        _ => return text(StatusCode::NOT_FOUND, "not found\n"),
    };
    let chunks = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    let mut resp = Response::new(Body::stream(chunks));
    resp.headers_mut().insert(header::CONTENT_LENGTH, len.into());
    let kind = match relative.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("md" | "txt" | "rs" | "toml") => "text/plain; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    resp.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(kind));
    resp
}

fn text(status: StatusCode, message: &str) -> Response<Body> {
    let mut resp = Response::new(Body::from(message.to_owned()));
    *resp.status_mut() = status;
    resp
}

fn main() {
    let mut addr = String::from("127.0.0.1:8080");
    let mut dir = PathBuf::from(".");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            ("--dir", Some(value)) => dir = PathBuf::from(value),
            _ => {
                eprintln!("usage: http_server [--addr 127.0.0.1:8080] [--dir .]");
                std::process::exit(2);
            }
        }
    }
    let _ = sprout::net::raise_fd_limit(); // room for many connections
    sprout::run(async move {
        let dir = Rc::new(dir);
        let server = match Server::bind(addr.as_str(), move |req| route(req, dir.clone())).await {
            Ok(server) => server,
            Err(e) => {
                eprintln!("http_server: cannot listen on {addr}: {e}");
                std::process::exit(1);
            }
        };
        println!("http_server listening on http://{}", server.local_addr().expect("a bound listener"));
        // Ctrl-C (or SIGTERM): finish the requests in flight, up to 5 s; a
        // second Ctrl-C stops at once.
        if let Err(e) = server.handle().stop_on_signals(Duration::from_secs(5)) {
            eprintln!("http_server: cannot listen for Ctrl-C: {e}");
        }
        server.serve_forever().await;
        println!("http_server stopped");
    });
}
