//! A small HTTP proxy for the client's tests: `CONNECT` tunnels and
//! absolute-form forwarding, over plain TCP or TLS, with a log of what it
//! was asked and a mode to refuse or to demand credentials.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use sprout_http::tls::rustls::ServerConfig;
use sprout_net::{TcpListener, TcpStream};

/// What the proxy does with a request.
#[derive(Clone, Debug)]
pub(crate) enum Mode {
    /// Tunnels and forwards everything.
    Forward,
    /// Answers every request with this status (403: a policy refusal).
    Refuse(u16),
    /// Answers 407 unless `Proxy-Authorization` is exactly this.
    RequireAuth(String),
}

/// The first request line and credentials of one proxy connection.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub method: String,
    pub target: String,
    pub auth: Option<String>,
}

pub(crate) struct TestProxy {
    /// `http://127.0.0.1:port` (or `https://localhost:port` over TLS).
    pub url: String,
    pub accepted: Rc<Cell<usize>>,
    pub log: Rc<RefCell<Vec<Seen>>>,
}

impl TestProxy {
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.log.borrow().clone()
    }
}

/// Starts a proxy on a free port; over TLS with `tls`.
pub(crate) async fn start(mode: Mode, tls: Option<Arc<ServerConfig>>) -> TestProxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let url = match tls {
        Some(_) => format!("https://localhost:{}", addr.port()),
        None => format!("http://{addr}"),
    };
    let (accepted, log) = (Rc::new(Cell::new(0)), Rc::new(RefCell::new(Vec::new())));
    let (count, seen) = (accepted.clone(), log.clone());
    sprout_runtime::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            count.set(count.get() + 1);
            let (mode, seen, tls) = (mode.clone(), seen.clone(), tls.clone());
            sprout_runtime::spawn(async move {
                match tls {
                    Some(config) => {
                        let Ok(stream) = sprout_http::tls::accept(stream, config).await else { return };
                        handle(stream, mode, seen).await;
                    }
                    None => handle(stream, mode, seen).await,
                }
            });
        }
    });
    TestProxy { url, accepted, log }
}

async fn handle<S>(mut client: S, mode: Mode, log: Rc<RefCell<Vec<Seen>>>)
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let Some((head, rest)) = read_head(&mut client).await else { return };
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (first.next().unwrap_or_default().to_owned(), first.next().unwrap_or_default().to_owned());
    let auth = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, value)| value.trim().to_owned());
    log.borrow_mut().push(Seen { method: method.clone(), target: target.clone(), auth: auth.clone() });

    let refusal = match &mode {
        Mode::Forward => None,
        Mode::Refuse(status) => Some(format!("HTTP/1.1 {status} Forbidden\r\ncontent-length: 0\r\n\r\n")),
        Mode::RequireAuth(expected) if auth.as_deref() != Some(expected) => Some(
            "HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm=\"test\"\r\n\
             content-length: 0\r\n\r\n"
                .to_owned(),
        ),
        Mode::RequireAuth(_) => None,
    };
    if let Some(refusal) = refusal {
        let _ = client.write_all(refusal.as_bytes()).await;
        let _ = client.close().await;
        return;
    }
    let authority = if method == "CONNECT" {
        target.clone()
    } else {
        // `http://host:port/path`: the origin is between `//` and the next `/`.
        let after = target.strip_prefix("http://").unwrap_or(&target);
        after.split('/').next().unwrap_or_default().to_owned()
    };
    // Hosts under `.test` (a name RFC 6761 reserves for tests) are this
    // machine: a test reaches a loopback server through a name that is
    // not loopback, which a proxy from the environment would skip.
    let authority = match authority.rsplit_once(':') {
        Some((host, port)) if host.ends_with(".test") => format!("127.0.0.1:{port}"),
        _ => authority,
    };
    let Ok(upstream) = TcpStream::connect(authority.as_str()).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n").await;
        return;
    };
    if method == "CONNECT" {
        if client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.is_err() {
            return;
        }
    } else {
        // Forwarded as it came (an origin must accept absolute form).
        if upstream.write_all(&head).await.is_err() {
            return;
        }
    }
    if !rest.is_empty() && upstream.write_all(&rest).await.is_err() {
        return;
    }
    pipe(client, upstream).await;
}

/// Copies both ways until either side closes.
async fn pipe<S>(client: S, upstream: TcpStream)
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let (mut client_read, mut client_write) = client.split();
    let upstream = Rc::new(upstream);
    let up = upstream.clone();
    let to_upstream = sprout_runtime::spawn(async move {
        let _ = futures_util::io::copy(&mut client_read, &mut &*up).await;
        let _ = up.shutdown(std::net::Shutdown::Write);
    });
    let _ = futures_util::io::copy(&*upstream, &mut client_write).await;
    let _ = client_write.close().await;
    let _ = to_upstream.await;
}

/// The request head up to its blank line, and any bytes read past it.
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Some((buf, rest));
        }
    }
}
