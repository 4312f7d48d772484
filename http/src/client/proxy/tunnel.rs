//! `CONNECT`: asking a proxy for a tunnel to an origin.
//!
//! Written by hand rather than through hyper's client: the exchange is
//! one request head and one response head, and what follows on the same
//! stream is the origin's TLS, which must not pass through an HTTP
//! connection's buffers. The answer is read up to its blank line and no
//! further byte is expected (a TLS server speaks only after the client's
//! hello), so nothing read here belongs to the tunnel.

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

use super::Endpoint;
use crate::client::Error;
use crate::url::target::Target;

/// A proxy's answer head larger than this is not one (RFC 9110 sets no
/// limit; hyper's default for a whole head is 400 KiB, but a `CONNECT`
/// answer is a status line and a few headers).
const MAX_HEAD: usize = 16 * 1024;

/// Asks `proxy`, over `stream`, for a tunnel to `origin`; returns once
/// the proxy answered 2xx, the stream then carrying the origin's bytes.
///
/// # Errors
/// [`Error::is_proxy`]: the proxy answered another status (its status
/// line is in the message), closed the connection, or did not speak
/// HTTP; an I/O error on the way.
pub(crate) async fn open<S>(stream: &mut S, proxy: &Endpoint, origin: &Target) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let authority = format!("{}:{}", origin.host, origin.port);
    let mut head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = &proxy.auth {
        head.push_str("Proxy-Authorization: ");
        // A header value made by `basic_auth`: ASCII.
        head.push_str(auth.to_str().unwrap_or_default());
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let fail = |what: String| Error::proxy(format!("the proxy {proxy:?} {what} (CONNECT {authority})"));
    stream.write_all(head.as_bytes()).await.map_err(|e| fail(format!("failed: {e}")))?;
    stream.flush().await.map_err(|e| fail(format!("failed: {e}")))?;

    let answer = read_head(stream).await.map_err(|e| fail(format!("failed: {e}")))?;
    let answer = match answer {
        Head::Complete(answer) => answer,
        Head::Closed => return Err(fail("closed the connection without answering".into())),
        Head::TooLong => return Err(fail(format!("sent an answer longer than {MAX_HEAD} bytes"))),
        Head::Trailing => return Err(fail("sent bytes after its answer, before the tunnel was used".into())),
    };
    let status_line = answer.lines().next().unwrap_or_default();
    match status(status_line) {
        Some(200..=299) => Ok(()),
        Some(_) => Err(fail(format!("refused the tunnel: {}", status_line.trim_start_matches(|c| c != ' ').trim()))),
        None => Err(fail(format!("did not answer in HTTP ({:?})", truncate(status_line)))),
    }
}

/// What came back before the blank line.
enum Head {
    Complete(String),
    Closed,
    TooLong,
    Trailing,
}

async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Head> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Head::Closed);
        }
        let searched_from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf[searched_from..].windows(4).position(|w| w == b"\r\n\r\n") {
            let end = searched_from + end + 4;
            if end != buf.len() {
                return Ok(Head::Trailing);
            }
            return Ok(Head::Complete(String::from_utf8_lossy(&buf).into_owned()));
        }
        if buf.len() > MAX_HEAD {
            return Ok(Head::TooLong);
        }
    }
}

/// The status code of `HTTP/1.x NNN reason`.
fn status(line: &str) -> Option<u16> {
    let rest = line.strip_prefix("HTTP/1.")?;
    let mut parts = rest.splitn(3, ' ');
    let _minor = parts.next()?;
    let code = parts.next()?;
    (code.len() == 3).then(|| code.parse().ok()).flatten()
}

fn truncate(line: &str) -> String {
    line.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(status("HTTP/1.1 200 Connection established"), Some(200));
        assert_eq!(status("HTTP/1.0 407 Proxy Authentication Required"), Some(407));
        assert_eq!(status("HTTP/1.1 403"), Some(403));
        assert_eq!(status("SSH-2.0-OpenSSH"), None);
        assert_eq!(status("HTTP/1.1 20 short"), None);
        assert_eq!(status("HTTP/2 200"), None);
    }
}
