//! The server's settings: [`Config`] on worker 0, [`WorkerConfig`] (all
//! but the error hook) for the other workers.

use std::rc::Rc;
use std::time::Duration;

use super::{ErrorKind, ServeError};

/// The error hook.
pub(crate) type OnError = Rc<dyn Fn(&ServeError)>;

/// The default error hook: one stderr line for what is not the peer's
/// doing. With the `tracing` feature, an event of target `sprout::http`
/// instead, with the fields `peer`, `kind` and `error`: ERROR for a
/// failed or panicking handler and for other errors, DEBUG for a peer's
/// (which the stderr form leaves out). An error in a handler comes inside
/// the request's span.
pub(crate) fn report_unless_peer(error: &ServeError) {
    match error.kind {
        ErrorKind::Peer => sprout_runtime::__report!(event: DEBUG(
            target: "sprout::http",
            peer = %error.peer,
            kind = ?error.kind,
            error = %error.error,
            "a connection failed through its peer"
        )),
        _ => sprout_runtime::__report!(
            event: ERROR(
                target: "sprout::http",
                peer = %error.peer,
                kind = ?error.kind,
                error = %error.error,
                "{}",
                match error.kind {
                    ErrorKind::Handler => "the handler failed",
                    ErrorKind::Panic => "the handler panicked",
                    _ => "a connection failed",
                }
            ),
            stderr: "sprout::http: {error}",
        ),
    }
}

/// Per-server settings, fixed when the server starts.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) header_read_timeout: Option<Duration>,
    pub(crate) max_header_size: usize,
    pub(crate) keep_alive_timeout: Option<Duration>,
    pub(crate) keep_alive: bool,
    pub(crate) writev: bool,
    pub(crate) http2: bool,
    pub(crate) on_error: OnError,
    /// `Server::trace_requests` (feature `tracing`).
    #[cfg(feature = "tracing")]
    pub(crate) trace_requests: bool,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<futures_rustls::TlsAcceptor>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            header_read_timeout: Some(Duration::from_secs(30)),
            max_header_size: crate::limits::MAX_HEADER_SIZE,
            keep_alive_timeout: Some(Duration::from_secs(60)),
            keep_alive: true,
            writev: false,
            http2: cfg!(feature = "http2"),
            on_error: Rc::new(report_unless_peer),
            #[cfg(feature = "tracing")]
            trace_requests: true,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl Config {
    /// Whether each request gets a span (`Server::trace_requests`; never
    /// without the `tracing` feature).
    #[inline(always)]
    pub(crate) fn traces_requests(&self) -> bool {
        #[cfg(feature = "tracing")]
        return self.trace_requests;
        #[cfg(not(feature = "tracing"))]
        false
    }

    /// The settings other workers copy: all but the error hook, which
    /// need not be `Send` (workers use the default hook).
    pub(crate) fn for_workers(&self) -> WorkerConfig {
        WorkerConfig {
            header_read_timeout: self.header_read_timeout,
            max_header_size: self.max_header_size,
            keep_alive_timeout: self.keep_alive_timeout,
            keep_alive: self.keep_alive,
            writev: self.writev,
            http2: self.http2,
            #[cfg(feature = "tracing")]
            trace_requests: self.trace_requests,
            #[cfg(feature = "tls")]
            tls: self.tls.clone(),
        }
    }
}

/// [`Config`] without the error hook, to send to other workers.
#[derive(Clone)]
pub(crate) struct WorkerConfig {
    header_read_timeout: Option<Duration>,
    max_header_size: usize,
    keep_alive_timeout: Option<Duration>,
    keep_alive: bool,
    writev: bool,
    http2: bool,
    #[cfg(feature = "tracing")]
    trace_requests: bool,
    #[cfg(feature = "tls")]
    tls: Option<futures_rustls::TlsAcceptor>,
}

impl WorkerConfig {
    pub(crate) fn into_config(self) -> Config {
        Config {
            header_read_timeout: self.header_read_timeout,
            max_header_size: self.max_header_size,
            keep_alive_timeout: self.keep_alive_timeout,
            keep_alive: self.keep_alive,
            writev: self.writev,
            http2: self.http2,
            on_error: Rc::new(report_unless_peer),
            #[cfg(feature = "tracing")]
            trace_requests: self.trace_requests,
            #[cfg(feature = "tls")]
            tls: self.tls,
        }
    }
}
