//! The server's settings: [`Config`] on worker 0, [`WorkerConfig`] (all
//! but the error hook) for the other workers.

use std::rc::Rc;
use std::time::Duration;

use super::ServeError;

/// The error hook.
pub(crate) type OnError = Rc<dyn Fn(&ServeError)>;

/// The default error hook: one stderr line for what is not the peer's doing.
pub(crate) fn report_unless_peer(error: &ServeError) {
    if !error.is_peer() {
        eprintln!("sprout::http: {error}");
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
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl Config {
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
            #[cfg(feature = "tls")]
            tls: self.tls,
        }
    }
}
