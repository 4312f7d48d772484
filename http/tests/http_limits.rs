//! Every buffer a peer can grow has a cap (issue 18, bug 6's class): a
//! request head, a body read whole on either side. The WebSocket limits
//! are in `ws.rs`, the chat example's line cap in the root's
//! `tests/chat_lines.rs`.

mod support;

use std::cell::Cell;
use std::rc::Rc;

use sprout_http::{Body, BodyTooLarge, Client, Incoming, Request, Response, Server, StatusCode, limits, to_bytes};
use support::{raw, run};

/// A request whose head is `size` bytes or a little more.
fn request_with_head_of(size: usize) -> Vec<u8> {
    let filler = "a".repeat(size);
    format!("GET / HTTP/1.1\r\nHost: x\r\nX-Filler: {filler}\r\nConnection: close\r\n\r\n").into_bytes()
}

/// The first `size` bytes of a head that goes on: exactly as many as the
/// server may take. (Sent whole, an oversized head would leave bytes
/// unread when the server answers 431 and closes, and the close would
/// then be a reset, which may destroy the answer before the client reads
/// it: the test would be flaky.)
fn head_prefix_of(size: usize) -> Vec<u8> {
    let mut head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Filler: ".to_vec();
    head.resize(size, b'a');
    head
}

async fn hello(_req: Request<Incoming>) -> Response<Body> {
    Response::new(Body::from("hello"))
}

#[test]
fn a_head_over_the_cap_gets_431() {
    run(async {
        let server = Server::bind("127.0.0.1:0", hello).await.unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let reply = raw(addr, &head_prefix_of(limits::MAX_HEADER_SIZE)).await;
        assert!(reply.starts_with("HTTP/1.1 431"), "{reply:?}");
        let reply = raw(addr, &request_with_head_of(limits::MAX_HEADER_SIZE - 100)).await;
        assert!(reply.starts_with("HTTP/1.1 200") && reply.ends_with("hello"), "{reply:?}");
        handle.stop();
    });
}

#[test]
fn the_head_cap_is_configurable() {
    run(async {
        let server = Server::bind("127.0.0.1:0", hello).await.unwrap().max_header_size(1024);
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let reply = raw(addr, &head_prefix_of(1024)).await;
        assert!(reply.starts_with("HTTP/1.1 431"), "{reply:?}");
        let reply = raw(addr, &request_with_head_of(512)).await;
        assert!(reply.ends_with("hello"), "{reply:?}");
        handle.stop();
    });
}

/// A handler that reads the request body whole: its size, or 413.
async fn upload(req: Request<Incoming>) -> Response<Body> {
    match to_bytes(req.into_body()).await {
        Ok(body) => Response::new(Body::from(body.len().to_string())),
        Err(e) => {
            let status = if e.is::<BodyTooLarge>() { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::BAD_REQUEST };
            Response::builder().status(status).body(Body::from(e.to_string())).unwrap()
        }
    }
}

#[test]
fn to_bytes_refuses_a_body_over_its_limit() {
    run(async {
        let server = Server::bind("127.0.0.1:0", upload).await.unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        // Announced with a Content-Length: refused before a byte is read
        // (none is sent, so the server closes with nothing unread).
        let head = format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", limits::MAX_BODY_SIZE + 1);
        let reply = raw(addr, head.as_bytes()).await;
        assert!(reply.starts_with("HTTP/1.1 413"), "{reply:?}");
        assert!(reply.ends_with(&format!("the limit of {} bytes", limits::MAX_BODY_SIZE)), "{reply:?}");
        // At the limit: accepted.
        let url = format!("http://{addr}/");
        let resp = Client::new().post(&url, vec![0u8; limits::MAX_BODY_SIZE]).await.unwrap();
        assert_eq!(resp.text().await.unwrap(), limits::MAX_BODY_SIZE.to_string());
        // Streamed, with no length announced: `to_bytes_limited_stops_reading_at_its_limit`.
        handle.stop();
    });
}

#[test]
fn to_bytes_limited_stops_reading_at_its_limit() {
    run(async {
        // An endless body of 1 KiB chunks, counting how many were made.
        let made = Rc::new(Cell::new(0));
        let counter = made.clone();
        let endless = futures_util::stream::repeat_with(move || {
            counter.set(counter.get() + 1);
            Ok::<_, std::io::Error>(vec![0u8; 1024])
        });
        let error = sprout_http::to_bytes_limited(Body::stream(endless), 10 * 1024).await.unwrap_err();
        assert_eq!(error.downcast_ref::<BodyTooLarge>().map(BodyTooLarge::limit), Some(10 * 1024));
        assert_eq!(made.get(), 11, "the chunk that crossed the limit is the last one read");
        let whole = sprout_http::to_bytes_limited(Body::from("several words"), 13).await.unwrap();
        assert_eq!(whole, "several words");
    });
}

#[test]
fn the_clients_bytes_and_text_refuse_a_body_over_their_limit() {
    run(async {
        let server = Server::bind("127.0.0.1:0", |_req: Request<Incoming>| async {
            // Larger than the client's limit, streamed with no length.
            let chunks = (0..17).map(|_| Ok::<_, std::io::Error>(vec![b'z'; 1 << 20]));
            Response::new(Body::stream(futures_util::stream::iter(chunks)))
        })
        .await
        .unwrap();
        let url = format!("http://{}/", server.local_addr().unwrap());
        let handle = server.start();
        let client = Client::new();
        let error = client.get(&url).await.unwrap().bytes().await.unwrap_err();
        assert!(error.is_body_too_large(), "{error}");
        let error = client.get(&url).await.unwrap().text().await.unwrap_err();
        assert!(error.is_body_too_large(), "{error}");
        let error = client.get(&url).await.unwrap().bytes_limited(1000).await.unwrap_err();
        assert!(error.is_body_too_large() && error.to_string().contains("1000"), "{error}");
        let whole = client.get(&url).await.unwrap().bytes_limited(usize::MAX).await.unwrap();
        assert_eq!(whole.len(), 17 << 20);
        handle.stop();
    });
}
