//! tower-http's `TimeoutLayer` (tokio's timer inside) around an axum
//! `Router`, served on sprout's `http::Server`: wrapped in `compat`, the
//! timeout works and answers 408; unwrapped, it panics (and the server
//! answers 500), which is why the wrapper exists.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use serde_json::{Value, json};
use sprout::compat::{CompatExt, TokioLayer};
use sprout::http::tower::IntoTower;
use sprout::http::{Body, Client, Request, Server, StatusCode};
use sprout::net::ServerHandle;
use support::run;
use tower_http::timeout::TimeoutLayer;

/// An axum app under a generous timeout, whose `/slow` handler sleeps (on
/// tokio's timer) far longer than its own short one. Both layers create a
/// tokio `Sleep` for every request they see. (The short timeout is on
/// `/slow` alone, so a loaded machine's stall cannot time out the others.)
fn app() -> Router {
    let short = TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_millis(50));
    Router::new()
        .route("/", get(|| async { "hello from axum" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "too late"
            })
            .layer(short),
        )
        .route("/json", post(|axum::Json(asked): axum::Json<Value>| async move { axum::Json(json!({ "got": asked })) }))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(10)))
}

/// Serves `app` on sprout's server (`Server::bind_tower`, feature
/// `tower`): each request goes to a clone of it, asked `poll_ready` first.
async fn serve<T: IntoTower>(app: T) -> (SocketAddr, ServerHandle) {
    let server = Server::bind_tower("127.0.0.1:0", app).await.unwrap();
    let addr = server.local_addr().unwrap();
    (addr, server.start())
}

/// The three routes, checked through sprout's own client.
async fn check_routes(addr: SocketAddr) {
    let client = Client::new();
    let page = client.get(&format!("http://{addr}/")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.text().await.unwrap(), "hello from axum");

    let slow = client.get(&format!("http://{addr}/slow")).await.unwrap();
    assert_eq!(slow.status(), StatusCode::REQUEST_TIMEOUT, "the timeout fired on tokio's timer");

    let request = Request::post(format!("http://{addr}/json"))
        .header("content-type", "application/json")
        .body(Body::from(json!({ "n": 1 }).to_string()))
        .unwrap();
    let echoed = client.execute(request).await.unwrap();
    assert_eq!(echoed.status(), 200);
    let echoed: Value = serde_json::from_str(&echoed.text().await.unwrap()).unwrap();
    assert_eq!(echoed, json!({ "got": { "n": 1 } }));
}

#[test]
fn timeout_layer_answers_408_with_the_service_wrapped_in_compat() {
    run(async {
        let (addr, server) = serve(app().compat()).await;
        check_routes(addr).await;
        server.stop();
    });
}

#[test]
fn timeout_layer_answers_408_under_a_tokio_layer() {
    run(async {
        let (addr, server) = serve(app().layer(TokioLayer::new())).await;
        check_routes(addr).await;
        server.stop();
    });
}

#[test]
fn without_the_wrapper_the_timeout_layer_panics_and_the_server_answers_500() {
    run(async {
        let (addr, server) = serve(app()).await;
        let answer = Client::new().get(&format!("http://{addr}/")).await.unwrap();
        assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR, "no tokio timer for TimeoutLayer");
        server.stop();
    });
}
