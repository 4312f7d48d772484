//! The `tracing` feature on the HTTP server (docs/debugging.md,
//! "tracing"): a span per request with its method, path, status and
//! latency, the handler and what it spawns inside it; a panicking
//! handler's error event; `Server::trace_requests(false)`; a peer's error
//! at DEBUG.
//!
//! Each test installs a recording layer for its own thread
//! (`support::trace`), so the tests run side by side.

mod support;

use std::time::Duration;

use sprout::http::{Body, Client, Incoming, Request, Response, Server, StatusCode};
use sprout::net::TcpStream;
use support::trace::Recorder;
use tracing::Level;

async fn handler(req: Request<Incoming>) -> Response<Body> {
    tracing::info!("handling");
    if req.uri().path() == "/panic" {
        panic!("the handler's panic");
    }
    // A task the handler spawns runs inside the request's span.
    sprout::spawn(async { tracing::info!("spawned by the handler") }).await.unwrap();
    let mut response = Response::new(Body::from("created"));
    *response.status_mut() = StatusCode::CREATED;
    response
}

#[test]
fn each_request_gets_a_span_with_method_path_status_and_latency() {
    let (recorder, _guard) = Recorder::install();
    sprout::run(async {
        let server = Server::bind("127.0.0.1:0", handler).await.unwrap();
        let url = format!("http://{}/things?x=1", server.local_addr().unwrap());
        let handle = server.start();
        let resp = Client::new().post(&url, "x").send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        handle.stop_graceful(Duration::from_secs(5)).await;
    });
    let log = recorder.log();
    let requests = log.spans_named("request");
    assert_eq!(requests.len(), 1, "{log:?}");
    let (index, span) = requests[0];
    assert_eq!(span.target, "sprout::http");
    assert_eq!(span.fields["method"], "POST");
    assert_eq!(span.fields["path"], "/things");
    assert_eq!(span.fields["version"], "HTTP/1.1");
    assert!(span.fields["peer"].starts_with("127.0.0.1:"), "{:?}", span.fields);
    assert_eq!(span.fields["status"], "201");
    assert!(span.fields["latency_us"].parse::<u64>().is_ok(), "{:?}", span.fields);
    // The request's span is inside the connection task's, which the
    // listener's acceptor task spawned.
    assert_eq!(log.ancestry(index), ["request", "task", "task"]);
    let acceptor = &log.spans[log.spans[span.parent.unwrap()].parent.unwrap()];
    assert!(acceptor.fields["task.name"].starts_with("StreamServer on 127.0.0.1:"), "{acceptor:?}");
    let answered = log.event("answered").expect("the event at the end");
    assert_eq!((answered.level, answered.field("status")), (Level::DEBUG, Some("201")));
    assert!(answered.field("latency_us").is_some());
    assert_eq!(answered.scope[0], index);
    let handling = log.event("handling").expect("the handler's event");
    assert_eq!(handling.scope[0], index, "the handler runs inside the span");
    let spawned = log.event("spawned by the handler").expect("the spawned task's event");
    assert_eq!(log.ancestry(spawned.scope[0]), ["task", "request", "task", "task"]);
}

#[test]
fn a_handler_panic_is_an_error_event_inside_the_request_span() {
    let (recorder, _guard) = Recorder::install();
    sprout::run(async {
        let server = Server::bind("127.0.0.1:0", handler).await.unwrap();
        let url = format!("http://{}/panic", server.local_addr().unwrap());
        let handle = server.start();
        let resp = Client::new().get(&url).await.unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        handle.stop_graceful(Duration::from_secs(5)).await;
    });
    let log = recorder.log();
    let (index, request) = log.spans_named("request")[0];
    assert_eq!(request.fields["status"], "500");
    let errors: Vec<_> = log.events_of("sprout::http").into_iter().filter(|e| e.level == Level::ERROR).collect();
    assert_eq!(errors.len(), 1, "{log:?}");
    let error = errors[0];
    assert_eq!(error.field("message"), Some("the handler panicked"));
    assert_eq!(error.field("kind"), Some("Panic"));
    assert!(error.field("error").is_some_and(|e| e.contains("the handler's panic")), "{error:?}");
    assert!(error.field("peer").is_some_and(|p| p.starts_with("127.0.0.1:")));
    assert_eq!(error.scope[0], index, "inside the request's span");
}

#[test]
fn trace_requests_false_makes_no_request_span() {
    let (recorder, _guard) = Recorder::install();
    sprout::run(async {
        let server = Server::bind("127.0.0.1:0", handler).await.unwrap().trace_requests(false);
        let url = format!("http://{}/", server.local_addr().unwrap());
        let handle = server.start();
        assert_eq!(Client::new().get(&url).await.unwrap().status(), StatusCode::CREATED);
        handle.stop_graceful(Duration::from_secs(5)).await;
    });
    let log = recorder.log();
    assert!(log.spans_named("request").is_empty(), "{log:?}");
    assert!(log.event("answered").is_none());
    // The handler still runs in its connection task's span.
    let handling = log.event("handling").expect("the handler's event");
    assert_eq!(log.ancestry(handling.scope[0]), ["task", "task"]);
}

#[test]
fn a_peers_malformed_request_is_a_debug_event() {
    let (recorder, _guard) = Recorder::install();
    sprout::run(async {
        let server = Server::bind("127.0.0.1:0", handler).await.unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"NOT HTTP AT ALL\r\n\r\n").await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 400"), "{}", String::from_utf8_lossy(&answer));
        handle.stop_graceful(Duration::from_secs(5)).await;
    });
    let log = recorder.log();
    let events = log.events_of("sprout::http");
    let peer = events.iter().find(|e| e.field("kind") == Some("Peer")).unwrap_or_else(|| panic!("{log:?}"));
    assert_eq!(peer.level, Level::DEBUG);
    assert_eq!(peer.field("message"), Some("a connection failed through its peer"));
    assert!(events.iter().all(|e| e.level != Level::ERROR), "{events:?}");
}
