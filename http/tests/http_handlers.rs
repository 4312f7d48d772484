//! What a server can be given to run and how its type is named:
//! `Server<BoxHandler>` built by one function for `main` and the tests,
//! any handler boxed, a server with no listener until its caller gives it
//! one.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use sprout_http::{Body, BoxHandler, Client, Incoming, Request, Response, Server, StatusCode};
use support::{Errors, routes, run};

/// The app, as a program would write it once: its routes (the tests'
/// shared ones), its settings, and a counter of its own, with the address
/// left to the caller (`main` would listen on its port; tests on port 0).
fn app(hits: Rc<Cell<u32>>, errors: &Errors) -> Server<BoxHandler> {
    Server::new(move |req: Request<Incoming>| {
        hits.set(hits.get() + 1);
        routes(req)
    })
    .keep_alive_timeout(Some(Duration::from_secs(5)))
    .on_error(errors.hook())
    .boxed()
}

#[test]
fn one_function_builds_the_server_for_main_and_the_tests() {
    run(async {
        let (hits, errors) = (Rc::new(Cell::new(0)), Errors::default());
        let server: Server<BoxHandler> = app(hits.clone(), &errors).listen("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let client = Client::new();
        assert_eq!(client.get(&format!("http://{addr}/")).await.unwrap().text().await.unwrap(), "hello");
        assert_eq!(client.post(&format!("http://{addr}/echo"), "back").await.unwrap().text().await.unwrap(), "back");
        // The settings made before `boxed` hold: the hook hears the failure.
        assert_eq!(client.get(&format!("http://{addr}/error")).await.unwrap().status(), 500);
        let reported = errors.all();
        assert!(
            reported.len() == 1 && reported[0].starts_with("Handler") && reported[0].ends_with("the handler failed"),
            "{reported:?}"
        );
        assert_eq!(hits.get(), 3);
        handle.stop();
    });
}

#[test]
fn a_server_listens_on_every_listener_it_is_given() {
    run(async {
        let server =
            Server::new(|req: Request<Incoming>| async move { Response::new(Body::from(req.uri().path().to_owned())) })
                .listen("127.0.0.1:0")
                .await
                .unwrap();
        let first = server.local_addr().unwrap();
        let listener = sprout_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let second = listener.local_addr().unwrap();
        let handle = server.add_listener(listener).start();
        let client = Client::new();
        for addr in [first, second] {
            assert_eq!(client.get(&format!("http://{addr}/x")).await.unwrap().text().await.unwrap(), "/x");
        }
        assert_eq!(handle.local_addrs(), [first, second]);
        handle.stop();
    });
}

#[test]
fn a_boxed_handler_answers_500_for_its_panics_and_errors_as_any_handler() {
    run(async {
        let errors = Errors::default();
        let server = Server::with_handler(BoxHandler::from_fn(routes)).listen("127.0.0.1:0").await.unwrap();
        let server = server.on_error(errors.hook());
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let client = Client::new();
        for path in ["/panic", "/panic-early", "/error"] {
            let answer = client.get(&format!("http://{addr}{path}")).await.unwrap();
            assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        }
        let kinds: Vec<String> = errors.all().iter().map(|e| e.split(':').next().unwrap().to_owned()).collect();
        assert_eq!(kinds, ["Panic", "Panic", "Handler"]);
        // Boxing a boxed handler again changes nothing but the cost.
        let twice =
            Server::with_handler(BoxHandler::new(BoxHandler::from_fn(routes))).listen("127.0.0.1:0").await.unwrap();
        let addr = twice.local_addr().unwrap();
        let twice = twice.start();
        assert_eq!(client.get(&format!("http://{addr}/")).await.unwrap().text().await.unwrap(), "hello");
        handle.stop();
        twice.stop();
    });
}
