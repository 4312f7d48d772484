//! tower services on sprout's server (feature `tower`): an axum `Router`
//! with shared state and JSON, tower-http's Trace, Compression and Cors
//! layers, sprout's `TimeoutLayer`, `poll_ready` backpressure, `!Send`
//! services, the client's address as a request extension and through
//! axum's `ConnectInfo`, and what a failing service costs. No tokio
//! runtime anywhere.

mod support;

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::io::Read as _;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use http_body_util::{BodyExt, Empty};
use serde_json::{Value, json};
use sprout_http::rt::Io;
use sprout_http::{
    Body, Bytes, Client, Incoming, MakeTower, RemoteAddr, Request, Response, Server, StatusCode, TimeoutLayer, header,
};
use sprout_net::{ServerHandle, TcpStream};
use support::{Errors, run, run_paused};
use tower::ServiceBuilder;
use tower::service_fn;

/// Starts `server`; returns its address and handle.
fn start<H: sprout_http::Handler>(server: Server<H>) -> (SocketAddr, ServerHandle) {
    let addr = server.local_addr().unwrap();
    (addr, server.start())
}

/// The app of the first test: shared state (a hit counter), a path
/// parameter, JSON both ways.
fn counter_app() -> Router {
    #[derive(Clone, Default)]
    struct Hits(Arc<AtomicU64>);
    Router::new()
        .route("/", get(|| async { "hello from axum" }))
        .route(
            "/hits",
            get(|State(hits): State<Hits>| async move { (hits.0.fetch_add(1, Ordering::Relaxed) + 1).to_string() }),
        )
        .route(
            "/users/{id}",
            get(|Path(id): Path<u32>| async move { Json(json!({ "id": id, "name": format!("user {id}") })) }),
        )
        .route("/echo", post(|Json(body): Json<Value>| async move { Json(json!({ "got": body })) }))
        .with_state(Hits::default())
}

#[test]
fn an_axum_router_is_served_with_state_and_json() {
    run(async {
        let (addr, server) = start(Server::bind_tower("127.0.0.1:0", counter_app()).await.unwrap());
        let client = Client::new();
        let url = |path: &str| format!("http://{addr}{path}");
        assert_eq!(client.get(&url("/")).await.unwrap().text().await.unwrap(), "hello from axum");
        for n in 1..=3 {
            assert_eq!(client.get(&url("/hits")).await.unwrap().text().await.unwrap(), n.to_string());
        }
        let user: Value =
            serde_json::from_str(&client.get(&url("/users/7")).await.unwrap().text().await.unwrap()).unwrap();
        assert_eq!(user, json!({ "id": 7, "name": "user 7" }));
        let request = Request::post(url("/echo"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "n": 1 }).to_string()))
            .unwrap();
        let echoed = client.execute(request).await.unwrap();
        assert_eq!(echoed.status(), 200);
        assert_eq!(serde_json::from_str::<Value>(&echoed.text().await.unwrap()).unwrap(), json!({ "got": { "n": 1 } }));
        let missing = client.get(&url("/nowhere")).await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND, "axum's own 404");
        server.stop();
    });
}

/// Sends `request` on a fresh connection with hyper's own client, so the
/// response comes back exactly as the server framed and encoded it.
async fn send_raw(addr: SocketAddr, request: Request<Empty<Bytes>>) -> (hyper::http::response::Parts, Bytes) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(Io::from(stream)).await.unwrap();
    sprout_runtime::spawn(conn);
    let response = sender.send_request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts, body.collect().await.unwrap().to_bytes())
}

#[test]
fn tower_https_trace_layer_sees_every_request_and_response() {
    use tower_http::trace::TraceLayer;
    run(async {
        let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        let (on_request, on_response) = (seen.clone(), seen.clone());
        let app = counter_app().layer(
            TraceLayer::new_for_http()
                .on_request(move |req: &Request<_>, _: &tracing::Span| {
                    on_request.lock().unwrap().push(format!("-> {} {}", req.method(), req.uri().path()));
                })
                .on_response(move |resp: &Response<_>, _: Duration, _: &tracing::Span| {
                    on_response.lock().unwrap().push(format!("<- {}", resp.status().as_u16()));
                }),
        );
        let (addr, server) = start(Server::bind_tower("127.0.0.1:0", app).await.unwrap());
        let client = Client::new();
        client.get(&format!("http://{addr}/")).await.unwrap().text().await.unwrap();
        client.get(&format!("http://{addr}/nowhere")).await.unwrap().text().await.unwrap();
        assert_eq!(*seen.lock().unwrap(), ["-> GET /", "<- 200", "-> GET /nowhere", "<- 404"]);
        server.stop();
    });
}

#[test]
fn tower_https_compression_layer_gzips_for_a_client_that_asks() {
    use tower_http::compression::CompressionLayer;
    run(async {
        let text = "sprout ".repeat(1000);
        let page = text.clone();
        let app = Router::new().route("/", get(move || async move { page })).layer(CompressionLayer::new());
        let (addr, server) = start(Server::bind_tower("127.0.0.1:0", app).await.unwrap());
        let request = |gzip: bool| {
            let mut builder = Request::get("/").header(header::HOST, "test");
            if gzip {
                builder = builder.header(header::ACCEPT_ENCODING, "gzip");
            }
            builder.body(Empty::<Bytes>::new()).unwrap()
        };
        let (parts, body) = send_raw(addr, request(true)).await;
        assert_eq!(parts.headers[header::CONTENT_ENCODING], "gzip");
        assert!(body.len() < text.len() / 10, "compressed: {} bytes", body.len());
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(&body[..]).read_to_string(&mut unzipped).unwrap();
        assert_eq!(unzipped, text);
        // A client that does not ask gets the plain text.
        let (parts, body) = send_raw(addr, request(false)).await;
        assert!(!parts.headers.contains_key(header::CONTENT_ENCODING));
        assert_eq!(body, text.as_bytes());
        server.stop();
    });
}

#[test]
fn tower_https_cors_layer_answers_preflights_and_tags_responses() {
    use tower_http::cors::{Any, CorsLayer};
    run(async {
        let cors = CorsLayer::new().allow_origin(Any).allow_methods([hyper::Method::GET, hyper::Method::POST]);
        let (addr, server) = start(Server::bind_tower("127.0.0.1:0", counter_app().layer(cors)).await.unwrap());
        let client = Client::new();
        let preflight = Request::options(format!("http://{addr}/echo"))
            .header(header::ORIGIN, "https://example.com")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(Body::empty())
            .unwrap();
        let answer = client.execute(preflight).await.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let methods = answer.headers()[header::ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap().to_owned();
        assert!(methods.contains("GET") && methods.contains("POST"), "{methods}");
        let get =
            Request::get(format!("http://{addr}/")).header(header::ORIGIN, "https://example.com").body(Body::empty());
        let answer = client.execute(get.unwrap()).await.unwrap();
        assert_eq!(answer.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(answer.text().await.unwrap(), "hello from axum");
        server.stop();
    });
}

#[test]
fn sprouts_timeout_layer_answers_408_on_sprouts_timer() {
    // Virtual time: the hour-long handler and the 5 s timeout take no time.
    run_paused(async {
        let app = Router::new()
            .route("/fast", get(|| async { "fast" }))
            .route(
                "/slow",
                get(|| async {
                    sprout_runtime::sleep(Duration::from_secs(3600)).await;
                    "too late"
                }),
            )
            .layer(TimeoutLayer::new(Duration::from_secs(5)));
        let (addr, server) = start(Server::bind_tower("127.0.0.1:0", app).await.unwrap());
        let client = Client::new();
        let started = sprout_runtime::time::now();
        let slow = client.get(&format!("http://{addr}/slow")).await.unwrap();
        assert_eq!(slow.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(slow.text().await.unwrap(), "", "an empty body, as tower-http's");
        let waited = sprout_runtime::time::now() - started;
        assert!(waited >= Duration::from_secs(5) && waited < Duration::from_secs(3600), "{waited:?}");
        let fast = client.get(&format!("http://{addr}/fast")).await.unwrap();
        assert_eq!(fast.text().await.unwrap(), "fast");
        // Another status, as tower-http's `with_status_code`.
        let app = Router::new()
            .route("/", get(std::future::pending::<&str>))
            .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(1)));
        let (addr, other) = start(Server::bind_tower("127.0.0.1:0", app).await.unwrap());
        assert_eq!(client.get(&format!("http://{addr}/")).await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
        server.stop();
        other.stop();
    });
}

#[test]
fn tower_https_own_timeout_layer_needs_tokio_and_answers_500_without_it() {
    // Why sprout has its own TimeoutLayer: tower-http's makes a tokio timer
    // for every request, which panics outside a tokio runtime. The panic is
    // the handler's, caught: 500, reported, and the server goes on.
    run(async {
        let app = Router::new().route("/", get(|| async { "hello" })).layer(
            tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(1)),
        );
        let errors = Errors::default();
        let server = Server::bind_tower("127.0.0.1:0", app).await.unwrap().on_error(errors.hook());
        let (addr, server) = start(server);
        let answer = Client::new().get(&format!("http://{addr}/")).await.unwrap();
        assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let reported = errors.all();
        assert_eq!(reported.len(), 1, "{reported:?}");
        assert!(reported[0].starts_with("Panic") && reported[0].contains("Tokio"), "{reported:?}");
        server.stop();
    });
}

/// A service in front of another that counts the times it was not ready.
#[derive(Clone)]
struct CountNotReady<S> {
    inner: S,
    not_ready: Rc<Cell<u32>>,
}

impl<S: tower::Service<R>, R> tower::Service<R> for CountNotReady<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), S::Error>> {
        let ready = self.inner.poll_ready(cx);
        if ready.is_pending() {
            self.not_ready.set(self.not_ready.get() + 1);
        }
        ready
    }

    fn call(&mut self, req: R) -> S::Future {
        self.inner.call(req)
    }
}

#[test]
fn a_service_that_is_not_ready_holds_its_requests_back() {
    // A concurrency limit of one: while `/hold` runs, a second request on
    // another connection waits in `poll_ready`, its handler not called,
    // and runs once the first is done. The service is `!Send` (an `Rc`).
    run(async {
        let gate = Rc::new(sprout_runtime::sync::Event::new());
        let (running, most, calls) = (Rc::new(Cell::new(0u32)), Rc::new(Cell::new(0u32)), Rc::new(Cell::new(0u32)));
        let handler = {
            let (gate, running, most, calls) = (gate.clone(), running.clone(), most.clone(), calls.clone());
            service_fn(move |req: Request<Incoming>| {
                let (gate, running, most) = (gate.clone(), running.clone(), most.clone());
                calls.set(calls.get() + 1);
                async move {
                    running.set(running.get() + 1);
                    most.set(most.get().max(running.get()));
                    if req.uri().path() == "/hold" {
                        gate.wait().await;
                    }
                    running.set(running.get() - 1);
                    Ok::<_, Infallible>(Response::new(Body::from(req.uri().path().to_owned())))
                }
            })
        };
        let not_ready = Rc::new(Cell::new(0));
        let limited = ServiceBuilder::new().concurrency_limit(1).service(handler);
        let app = CountNotReady { inner: limited, not_ready: not_ready.clone() };
        let (addr, server) = start(Server::bind_tower("127.0.0.1:0", app).await.unwrap());
        let client = Client::new();
        let first = sprout_runtime::spawn({
            let client = client.clone();
            async move { client.get(&format!("http://{addr}/hold")).await.unwrap().text().await.unwrap() }
        });
        while running.get() == 0 {
            sprout_runtime::sleep(Duration::from_millis(1)).await;
        }
        let second = sprout_runtime::spawn({
            let client = client.clone();
            async move { client.get(&format!("http://{addr}/next")).await.unwrap().text().await.unwrap() }
        });
        while not_ready.get() == 0 {
            sprout_runtime::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(calls.get(), 1, "the second request waits in poll_ready, uncalled");
        gate.set();
        assert_eq!(first.await.unwrap(), "/hold");
        assert_eq!(second.await.unwrap(), "/next");
        assert_eq!((calls.get(), most.get()), (2, 1), "one at a time");
        server.stop();
    });
}

#[test]
fn the_clients_address_reaches_handlers_as_an_extension_and_through_connect_info() {
    run(async {
        let app = || {
            Router::new()
                .route(
                    "/ext",
                    get(|Extension(RemoteAddr(peer)): Extension<RemoteAddr>| async move { peer.to_string() }),
                )
                .route("/fn", get(|| async { sprout_http::remote_addr().unwrap().to_string() }))
                .route("/info", get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }))
        };
        let (plain, plain_server) = start(Server::bind_tower("127.0.0.1:0", app()).await.unwrap());
        let make = MakeTower::new(app().into_make_service_with_connect_info::<SocketAddr>());
        let (with_info, info_server) = start(Server::bind_tower("127.0.0.1:0", make).await.unwrap());
        for (addr, paths) in [(plain, &["/ext", "/fn"][..]), (with_info, &["/ext", "/fn", "/info"][..])] {
            for path in paths {
                // A socket of our own, to know the address the server sees.
                let stream = TcpStream::connect(addr).await.unwrap();
                let me = stream.local_addr().unwrap();
                let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n");
                stream.write_all(request.as_bytes()).await.unwrap();
                let reply = support::read_until_close(&stream).await;
                assert!(reply.starts_with("HTTP/1.1 200"), "{path}: {reply}");
                assert!(reply.ends_with(&me.to_string()), "{path} answered {reply}, not {me}");
            }
        }
        // Without the make-service axum has no ConnectInfo: its 500.
        let answer = Client::new().get(&format!("http://{plain}/info")).await.unwrap();
        assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
        plain_server.stop();
        info_server.stop();
    });
}

#[test]
fn a_make_service_is_called_once_per_connection() {
    run(async {
        let made: Rc<RefCell<Vec<SocketAddr>>> = Rc::default();
        let log = made.clone();
        let make = service_fn(move |peer: SocketAddr| {
            log.borrow_mut().push(peer);
            let answer = service_fn(move |_req: Request<Incoming>| async move {
                Ok::<_, Infallible>(Response::new(Body::from(format!("made for {peer}"))))
            });
            async move { Ok::<_, Infallible>(answer) }
        });
        let (addr, server) = start(Server::bind_tower("127.0.0.1:0", MakeTower::new(make)).await.unwrap());
        let client = Client::new(); // one kept-alive connection for all three
        for _ in 0..3 {
            let text = client.get(&format!("http://{addr}/")).await.unwrap().text().await.unwrap();
            assert_eq!(text, format!("made for {}", made.borrow()[0]));
        }
        assert_eq!(made.borrow().len(), 1, "one connection, one service");
        let other = Client::new();
        other.get(&format!("http://{addr}/")).await.unwrap().text().await.unwrap();
        assert_eq!(made.borrow().len(), 2);
        server.stop();
    });
}

#[test]
fn a_failing_make_service_closes_the_connection_and_is_reported() {
    run(async {
        // Every other connection gets no service.
        let connections = Rc::new(Cell::new(0u32));
        let count = connections.clone();
        let make = service_fn(move |_peer: SocketAddr| {
            count.set(count.get() + 1);
            let refuse = count.get().is_multiple_of(2);
            async move {
                if refuse {
                    return Err(std::io::Error::other("no service for this one"));
                }
                Ok(service_fn(|_req: Request<Incoming>| async {
                    Ok::<_, Infallible>(Response::new(Body::from("served")))
                }))
            }
        });
        let errors = Errors::default();
        let server = Server::bind_tower("127.0.0.1:0", MakeTower::new(make)).await.unwrap().on_error(errors.hook());
        let (addr, server) = start(server);
        for n in 1..=4 {
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n").await.unwrap();
            let reply = support::read_until_close(&stream).await;
            if n % 2 == 0 {
                assert_eq!(reply, "", "connection {n}: closed before its request was read");
            } else {
                assert!(reply.starts_with("HTTP/1.1 200") && reply.ends_with("served"), "connection {n}: {reply}");
            }
        }
        let reported = errors.all();
        assert_eq!(reported.len(), 2, "{reported:?}");
        assert!(
            reported.iter().all(|e| e.starts_with("Other") && e.ends_with("no service for this one")),
            "{reported:?}"
        );
        server.stop();
    });
}

#[test]
fn a_make_service_that_panics_closes_its_connection_and_the_server_goes_on() {
    run(async {
        let calls = Rc::new(Cell::new(0u32));
        let count = calls.clone();
        let make = service_fn(move |_peer: SocketAddr| {
            count.set(count.get() + 1);
            if count.get() == 1 {
                panic!("the make-service broke");
            }
            async {
                Ok::<_, Infallible>(service_fn(|_req: Request<Incoming>| async {
                    Ok::<_, Infallible>(Response::new(Body::from("ok")))
                }))
            }
        });
        let errors = Errors::default();
        let server = Server::bind_tower("127.0.0.1:0", MakeTower::new(make)).await.unwrap().on_error(errors.hook());
        let (addr, server) = start(server);
        let request = b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n";
        assert_eq!(support::raw(addr, request).await, "", "the first connection is closed");
        assert!(support::raw(addr, request).await.ends_with("ok"), "the next is served");
        let reported = errors.all();
        assert!(
            reported.len() == 1 && reported[0].starts_with("Panic") && reported[0].contains("the make-service broke"),
            "{reported:?}"
        );
        server.stop();
    });
}

#[test]
fn a_services_errors_answer_500_and_go_to_the_hook() {
    /// Not ready on `poll_ready` for requests after the second, failing on
    /// `call` for `/fail`.
    #[derive(Clone)]
    struct Moody(Rc<Cell<u32>>);
    impl tower::Service<Request<Incoming>> for Moody {
        type Response = Response<Body>;
        type Error = std::io::Error;
        type Future = std::future::Ready<Result<Response<Body>, std::io::Error>>;
        fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), std::io::Error>> {
            self.0.set(self.0.get() + 1);
            if self.0.get() > 2 {
                return std::task::Poll::Ready(Err(std::io::Error::other("overloaded")));
            }
            std::task::Poll::Ready(Ok(()))
        }
        fn call(&mut self, req: Request<Incoming>) -> Self::Future {
            std::future::ready(match req.uri().path() {
                "/fail" => Err(std::io::Error::other("the call failed")),
                _ => Ok(Response::new(Body::from("fine"))),
            })
        }
    }
    run(async {
        let errors = Errors::default();
        let server = Server::bind_tower("127.0.0.1:0", Moody(Rc::default())).await.unwrap().on_error(errors.hook());
        let (addr, server) = start(server);
        let client = Client::new();
        assert_eq!(client.get(&format!("http://{addr}/")).await.unwrap().text().await.unwrap(), "fine");
        assert_eq!(client.get(&format!("http://{addr}/fail")).await.unwrap().status(), 500);
        assert_eq!(client.get(&format!("http://{addr}/")).await.unwrap().status(), 500);
        let reported = errors.all();
        assert_eq!(reported.len(), 2, "{reported:?}");
        assert!(reported[0].starts_with("Handler") && reported[0].ends_with("the call failed"), "{reported:?}");
        assert!(reported[1].starts_with("Handler") && reported[1].ends_with("overloaded"), "{reported:?}");
        server.stop();
    });
}

#[test]
fn serve_tower_serves_until_the_server_is_stopped() {
    run(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener); // a free port, for `serve_tower` to bind
        let serving = sprout_runtime::spawn(sprout_http::serve_tower(addr, counter_app()));
        let client = Client::new();
        let text = loop {
            match client.get(&format!("http://{addr}/")).await {
                Ok(answer) => break answer.text().await.unwrap(),
                Err(_) => sprout_runtime::sleep(Duration::from_millis(1)).await,
            }
        };
        assert_eq!(text, "hello from axum");
        serving.kill();
    });
}
