//! hyper-util's pooled legacy Client (the engine under reqwest) with
//! sprout's connector, executor and timer, as it is.

mod support;

use std::cell::Cell;
use std::rc::Rc;

use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use sprout_http::connector::Connector;
use sprout_http::{Body, Bytes, Incoming, Request, Response, Server, rt};
use support::run;

#[test]
fn the_pooled_client_reuses_connections_on_sprout() {
    run(async {
        let requests = Rc::new(Cell::new(0));
        let seen = requests.clone();
        let server = Server::bind("127.0.0.1:0", move |req: Request<Incoming>| {
            seen.set(seen.get() + 1);
            async move { Response::new(Body::from(req.into_body())) }
        })
        .await
        .unwrap();
        let url = format!("http://{}/", server.local_addr().unwrap());
        let handle = server.start();

        let client: Client<Connector, Full<Bytes>> =
            Client::builder(rt::Exec).timer(rt::Timer).pool_timer(rt::Timer).build(Connector::new());
        for i in 0..5 {
            let req = hyper::Request::post(&url).body(Full::new(Bytes::from(format!("body {i}")))).unwrap();
            let resp = client.request(req).await.unwrap();
            assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), format!("body {i}"));
        }
        // Concurrent requests, each in its own green task (the client is Clone).
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (client, url) = (client.clone(), url.clone());
                sprout_runtime::spawn(async move {
                    let resp = client.get(url.parse().unwrap()).await.unwrap();
                    resp.into_body().collect().await.unwrap().to_bytes()
                })
            })
            .collect();
        for body in sprout_runtime::joinall(tasks).await {
            assert_eq!(body.unwrap(), "");
        }
        assert_eq!(requests.get(), 9);
        assert!(handle.connections() <= 4, "pooled: {} connections for 9 requests", handle.connections());
        handle.stop();
    });
}

#[test]
fn the_connector_refuses_https_clearly() {
    run(async {
        let client: Client<Connector, Full<Bytes>> = Client::builder(rt::Exec).build(Connector::new());
        let err = client.get("https://localhost:1/".parse().unwrap()).await.unwrap_err();
        let source = std::error::Error::source(&err).map(ToString::to_string).unwrap_or_default();
        assert!(source.contains(r#"https://localhost:1/: unsupported scheme "https""#), "{err}: {source}");
    });
}
