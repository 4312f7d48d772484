//! Shared helpers for sprout-http's tests: a hang guard, raw HTTP over a
//! plain socket, a self-signed certificate, and a routing test server.
#![allow(dead_code)]

pub(crate) mod proxy;

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use sprout_http::{Body, Incoming, Request, Response, ServeError, StatusCode};
use sprout_net::TcpStream;

/// Runs `test` on a fresh runtime, failing it if it takes longer than 20 s
/// (a hang would otherwise stall the whole suite).
pub(crate) fn run<F: Future<Output = ()>>(test: F) {
    sprout_runtime::run(async {
        sprout_runtime::timeout(Duration::from_secs(20), test).await.expect("the test hung");
    });
}

/// [`run`] under paused (virtual) time: timeouts of seconds pass at once,
/// and exactly (the loop jumps to the next timer when every task waits
/// and no I/O is ready; loopback data is ready at once).
pub(crate) fn run_paused<F: Future<Output = ()>>(test: F) {
    let rt = sprout_runtime::Runtime::builder().start_paused(true).build().unwrap();
    rt.block_on(async {
        sprout_runtime::timeout(Duration::from_secs(20), test).await.expect("the test hung");
    });
}

/// Writes `request` as is, then reads until the peer closes or `until`
/// appears; returns what came back.
pub(crate) async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_until_close(&stream).await
}

/// Reads until EOF (or a reset, which ends the reply too).
pub(crate) async fn read_until_close(stream: &TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The errors a server reported through its hook.
#[derive(Clone, Default)]
pub(crate) struct Errors(pub Rc<RefCell<Vec<String>>>);

impl Errors {
    pub(crate) fn hook(&self) -> impl Fn(&ServeError) + 'static {
        let log = self.0.clone();
        move |e: &ServeError| log.borrow_mut().push(format!("{:?}: {e}", e.kind()))
    }
    pub(crate) fn all(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

/// The test routes: `/` hello, `/echo` the request body streamed back,
/// `/panic` and `/panic-early` panic, `/error` fails, `/slow` answers after 200 ms.
pub(crate) fn routes(req: Request<Incoming>) -> impl Future<Output = Result<Response<Body>, std::io::Error>> {
    let path = req.uri().path().to_owned();
    if path == "/panic-early" {
        panic!("boom before the future");
    }
    async move {
        match path.as_str() {
            "/" => Ok(Response::new(Body::from("hello"))),
            "/echo" => Ok(Response::new(Body::from(req.into_body()))),
            "/panic" => panic!("boom"),
            "/error" => Err(std::io::Error::other("the handler failed")),
            "/slow" => {
                sprout_runtime::sleep(Duration::from_millis(200)).await;
                Ok(Response::new(Body::from("slow")))
            }
            _ => {
                let mut resp = Response::new(Body::from("not found"));
                *resp.status_mut() = StatusCode::NOT_FOUND;
                Ok(resp)
            }
        }
    }
}

/// A self-signed certificate for `localhost` and 127.0.0.1.
pub(crate) struct TestCert {
    pub cert: rustls_pki::CertificateDer<'static>,
    pub key: rustls_pki::PrivateKeyDer<'static>,
}

pub(crate) use sprout_http::tls::rustls::pki_types as rustls_pki;

pub(crate) fn test_cert() -> TestCert {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    TestCert {
        cert: certified.cert.der().clone(),
        key: rustls_pki::PrivateKeyDer::try_from(certified.signing_key.serialize_der()).unwrap(),
    }
}
