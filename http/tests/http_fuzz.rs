//! What a peer controls, fuzzed with proptest (a bounded number of cases,
//! run by `cargo test`): arbitrary bytes at a live server never panic it
//! nor stop it serving others. (The request framing the server follows
//! has its property tests beside it, `http/src/server/framing.rs`; the
//! WebSocket upgrade's header checks are in `ws.rs`.)

mod support;

use std::time::Duration;

use proptest::prelude::*;
use sprout_http::{Body, Incoming, Request, Response, Server};
use sprout_net::TcpStream;
use support::{Errors, read_until_close};

/// A request to garble.
const GOOD: &[u8] = b"POST /echo?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello\
GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";

/// Garbage: random bytes, or the good requests with bytes flipped,
/// inserted and cut off.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    let random = prop::collection::vec(any::<u8>(), 0..600);
    let edits = prop::collection::vec((0..GOOD.len(), any::<u8>(), 0u8..3), 1..8);
    let mutated = (edits, 0..=GOOD.len()).prop_map(|(edits, cut)| {
        let mut bytes = GOOD.to_vec();
        for (at, byte, how) in edits {
            let at = at.min(bytes.len().saturating_sub(1));
            match how {
                0 => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        bytes.truncate(cut);
        bytes
    });
    prop_oneof![random, mutated]
}

/// Echoes the body; a body the peer broke off answers 400 (a peer's
/// fault, not the handler's).
async fn echo(req: Request<Incoming>) -> Response<Body> {
    match sprout_http::to_bytes(req.into_body()).await {
        Ok(body) => Response::new(Body::from(body)),
        Err(e) => Response::builder().status(400).body(Body::from(e.to_string())).unwrap(),
    }
}

#[test]
fn arbitrary_bytes_never_panic_the_server_nor_stop_it_serving() {
    let rt = sprout_runtime::Runtime::new().unwrap();
    let errors = Errors::default();
    let (addr, handle) = rt.block_on(async {
        let server = Server::bind("127.0.0.1:0", echo).await.unwrap().on_error(errors.hook());
        (server.local_addr().unwrap(), server.start())
    });
    let config = ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&garbage(), |bytes| {
        errors.0.borrow_mut().clear();
        rt.block_on(sprout_runtime::timeout(Duration::from_secs(20), async {
            let stream = TcpStream::connect(addr).await.unwrap();
            // The server may answer and close before taking it all.
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let reply = read_until_close(&stream).await;
            // Nothing, or HTTP responses (the last one possibly cut short
            // by a reset, when the server closed with bytes unread).
            prop_assert!(
                reply.is_empty() || reply.starts_with("HTTP/1.1 ") || "HTTP/1.1 ".starts_with(&reply),
                "{reply:?}"
            );
            // And it still serves.
            let stream = TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .await
                .unwrap();
            let reply = read_until_close(&stream).await;
            prop_assert!(reply.starts_with("HTTP/1.1 200 OK") && reply.ends_with("\r\n\r\nok"), "{reply:?}");
            let errors = errors.all();
            prop_assert!(errors.iter().all(|e| e.starts_with("Peer")), "{errors:?}");
            Ok(())
        }))
        .expect("a case hung")
    });
    rt.block_on(async { handle.stop() });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
