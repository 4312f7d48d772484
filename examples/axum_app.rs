//! An axum app on sprout: routes, shared state, JSON, middleware and a
//! graceful stop, served by sprout's `http::Server` with no tokio runtime
//! (axum's default features, tokio among them, are off).
//!
//! ```text
//! cargo run --release --example axum_app --features tower
//! cargo run --release --example axum_app --features tower -- --addr 127.0.0.1:3000 --workers 4
//! curl http://127.0.0.1:3000/
//! curl -d '{"title": "water the sprouts"}' -H 'content-type: application/json' http://127.0.0.1:3000/todos
//! curl http://127.0.0.1:3000/todos
//! curl http://127.0.0.1:3000/todos/1
//! curl http://127.0.0.1:3000/whoami
//! ```
//!
//! Routes:
//! - `GET /`: a greeting;
//! - `GET /todos`, `POST /todos` (JSON `{"title": ...}`, answered `201
//!   Created`), `GET /todos/{id}` (or `404`): a to-do list in shared state
//!   (`State`), which every worker and connection sees;
//! - `GET /whoami`: the client's address, which sprout puts in every
//!   request's extensions (`Extension<RemoteAddr>`);
//! - `GET /slow`: a handler that takes 30 s, cut at 10 s by the timeout.
//!
//! Middleware: tower-http's `TraceLayer` logs one line per request
//! (method, path, status, latency) through its callbacks, no subscriber
//! needed; an axum `from_fn` middleware adds a `server` header; sprout's
//! `TimeoutLayer` answers `408` to a request not answered within 10 s (on
//! sprout's timer: tower-http's own `TimeoutLayer` needs tokio's).
//!
//! Ctrl-C (or SIGTERM) stops it gracefully: requests in flight get 5 s to
//! finish; a second Ctrl-C stops it at once.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use sprout::http::{RemoteAddr, Server, TimeoutLayer};
use tower_http::trace::TraceLayer;

/// One to-do item, as the API shows it.
#[derive(Clone, Serialize)]
struct Todo {
    id: u64,
    title: String,
    done: bool,
}

/// What `POST /todos` takes.
#[derive(Deserialize)]
struct NewTodo {
    title: String,
}

/// The app's shared state: the list. axum clones it into each handler;
/// every clone is the same list (`Arc`). It is `Send + Sync` because axum
/// asks it to be, and because with `--workers` every worker serves it.
#[derive(Clone, Default)]
struct Todos(Arc<Mutex<Vec<Todo>>>);

async fn hello() -> &'static str {
    "Hello from axum on sprout!\n"
}

async fn list(State(todos): State<Todos>) -> Json<Vec<Todo>> {
    Json(todos.0.lock().expect("no handler panics holding the lock").clone())
}

async fn create(State(todos): State<Todos>, Json(new): Json<NewTodo>) -> (StatusCode, Json<Todo>) {
    let mut list = todos.0.lock().expect("no handler panics holding the lock");
    let todo = Todo { id: list.len() as u64 + 1, title: new.title, done: false };
    list.push(todo.clone());
    (StatusCode::CREATED, Json(todo))
}

async fn one(State(todos): State<Todos>, Path(id): Path<u64>) -> Result<Json<Todo>, StatusCode> {
    let list = todos.0.lock().expect("no handler panics holding the lock");
    list.iter().find(|todo| todo.id == id).cloned().map(Json).ok_or(StatusCode::NOT_FOUND)
}

async fn whoami(Extension(RemoteAddr(peer)): Extension<RemoteAddr>) -> String {
    format!("you are {peer}\n")
}

async fn slow() -> &'static str {
    sprout::sleep(Duration::from_secs(30)).await;
    "that took a while\n"
}

/// A middleware written as a function: adds a `server` header to every
/// response.
async fn server_header(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(header::SERVER, HeaderValue::from_static("sprout"));
    response
}

/// The app: routes, state and middleware. Kept apart from `main` so a test
/// could serve the same app on port 0.
fn app() -> Router {
    let trace = TraceLayer::new_for_http()
        .on_request(())
        .on_response(|response: &Response, latency: Duration, _span: &tracing::Span| {
            println!("{} in {latency:?}", response.status());
        })
        .make_span_with(|request: &Request| {
            println!("{} {}", request.method(), request.uri().path());
            tracing::Span::none()
        });
    Router::new()
        .route("/", get(hello))
        .route("/todos", get(list).post(create))
        .route("/todos/{id}", get(one))
        .route("/whoami", get(whoami))
        .route("/slow", get(slow))
        .with_state(Todos::default())
        .layer(middleware::from_fn(server_header))
        .layer(TimeoutLayer::new(Duration::from_secs(10)))
        .layer(trace)
}

fn main() {
    let mut addr = String::from("127.0.0.1:3000");
    let mut workers = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            ("--workers", Some(value)) if value.parse::<usize>().is_ok() => workers = value.parse().unwrap_or(1),
            _ => {
                eprintln!("usage: axum_app [--addr 127.0.0.1:3000] [--workers N (0: every core)]");
                std::process::exit(2);
            }
        }
    }
    sprout::run(async move {
        // The three lines an axum app needs: bind, (workers,) serve.
        let server = match Server::bind_tower(addr.as_str(), app()).await {
            Ok(server) => server.workers(workers),
            Err(e) => {
                eprintln!("axum_app: cannot listen on {addr}: {e}");
                std::process::exit(1);
            }
        };
        let local: SocketAddr = server.local_addr().expect("a bound listener");
        println!("axum_app listening on http://{local} ({workers} worker(s))");
        // Ctrl-C (or SIGTERM): finish the requests in flight, up to 5 s; a
        // second Ctrl-C stops at once.
        if let Err(e) = server.handle().stop_on_signals(Duration::from_secs(5)) {
            eprintln!("axum_app: cannot listen for Ctrl-C: {e}");
        }
        server.serve_forever().await;
        println!("axum_app stopped");
    });
}
