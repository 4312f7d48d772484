//! TLS over sprout's streams: rustls through futures-rustls, with the
//! `ring` crypto provider.
//!
//! - Servers: [`server_config`] from a certificate chain and key, then
//!   [`Server::tls`](crate::Server::tls) or [`serve_tls`](crate::serve_tls)
//!   (or [`accept`] on any stream).
//! - Clients: [`default_client_config`] trusts the Mozilla roots of
//!   `webpki-roots`; [`client_config`] trusts the roots you give (a private
//!   CA, a self-signed test certificate). The [`Client`](crate::Client)
//!   uses them for `https://`; [`connect`] wraps any stream.
//!
//! A certificate that does not verify fails the handshake with an
//! `io::ErrorKind::InvalidData` error whose message is rustls's, such as
//! `invalid peer certificate: UnknownIssuer`.
//!
//! ```
//! use sprout::tls;
//! use sprout::net::{TcpListener, TcpStream};
//!
//! // A self-signed certificate for "localhost", trusted by the client only.
//! let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
//! let server = tls::server_config(vec![cert.cert.der().clone()], cert.signing_key.serialize_der().try_into().unwrap()).unwrap();
//! let mut roots = tls::rustls::RootCertStore::empty();
//! roots.add(cert.cert.der().clone()).unwrap();
//! let client = tls::client_config(roots);
//!
//! sprout::run(async move {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     sprout::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let mut stream = tls::accept(stream, server).await.unwrap();
//!         futures_util::io::AsyncWriteExt::write_all(&mut stream, b"secret").await.unwrap();
//!         futures_util::io::AsyncWriteExt::close(&mut stream).await.unwrap();
//!     });
//!     let stream = TcpStream::connect(addr).await.unwrap();
//!     let mut stream = tls::connect("localhost", stream, client).await.unwrap();
//!     let mut got = Vec::new();
//!     futures_util::io::AsyncReadExt::read_to_end(&mut stream, &mut got).await.unwrap();
//!     assert_eq!(got, b"secret");
//! });
//! ```

use std::io;
use std::sync::{Arc, OnceLock};

use futures_io::{AsyncRead, AsyncWrite};
pub use futures_rustls::rustls;
pub use futures_rustls::{client::TlsStream as ClientTlsStream, server::TlsStream as ServerTlsStream};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// The crypto provider sprout's configurations use: `ring`.
///
/// ring offers no post-quantum key exchange (rustls 0.23.48 deprecates it
/// for that reason). For X25519MLKEM768, build your own configuration with
/// rustls' aws-lc-rs provider and hand it to
/// [`Server::tls`](crate::Server::tls) or
/// [`client::Builder::tls_config`](crate::client::Builder::tls_config).
///
/// A crate that builds its own rustls configurations beside sprout's (a
/// reqwest built with `rustls-no-provider`) can install this one as the
/// process default, without naming ring itself:
///
/// ```
/// let _ = sprout::tls::rustls::crypto::CryptoProvider::install_default((*sprout::tls::provider()).clone());
/// ```
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: OnceLock<Arc<rustls::crypto::CryptoProvider>> = OnceLock::new();
    // ring, not rustls' default aws-lc-rs, because ring builds with a C
    // compiler alone (aws-lc-rs needs a much larger C build, and the
    // cross-target checks of .ci/run have no C toolchain for it:
    // docs/DEPENDENCIES.md). rustls 0.23.48 deprecates the ring provider
    // for lacking post-quantum key exchange, with no replacement in 0.23
    // (ring moves to the `rustls-ring` crate in 0.24); the choice is
    // deliberate and said in the doc above, so the warning is silenced
    // here, and only here. `allow`, not `expect`: rustls before 0.23.48
    // does not deprecate it, and both are semver-compatible.
    #[allow(deprecated)]
    let ring = rustls::crypto::ring::default_provider;
    PROVIDER.get_or_init(|| Arc::new(ring())).clone()
}

/// A server configuration for one certificate chain (leaf first) and its
/// private key, with safe default protocol versions and no client
/// authentication. ALPN is filled in by [`Server::tls`](crate::Server::tls)
/// when left empty.
///
/// # Errors
/// If the key does not match the certificate, or is of an unsupported kind.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// A client configuration that trusts `roots` only.
pub fn client_config(roots: RootCertStore) -> Arc<ClientConfig> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = default_alpn();
    Arc::new(config)
}

/// The client configuration the [`Client`](crate::Client) uses by default:
/// the Mozilla roots (`webpki-roots`), built once.
pub fn default_client_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            client_config(roots)
        })
        .clone()
}

/// The protocols a client offers: `h2` first when HTTP/2 is built in.
fn default_alpn() -> Vec<Vec<u8>> {
    let mut alpn = Vec::new();
    if cfg!(feature = "http2") {
        alpn.push(b"h2".to_vec());
    }
    alpn.push(b"http/1.1".to_vec());
    alpn
}

/// Runs a client handshake over `stream`, verifying the server's
/// certificate for `host` (a DNS name or an IP address).
///
/// # Errors
/// `InvalidInput` for a host that is not a valid name; the handshake's
/// error (`InvalidData` with rustls's reason for a certificate refused).
pub async fn connect<S>(host: &str, stream: S, config: Arc<ClientConfig>) -> io::Result<ClientTlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']').to_owned())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{host:?}: {e}")))?;
    futures_rustls::TlsConnector::from(config).connect(name, stream).await
}

/// Runs a server handshake over `stream`.
///
/// # Errors
/// The handshake's error.
pub async fn accept<S>(stream: S, config: Arc<ServerConfig>) -> io::Result<ServerTlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    futures_rustls::TlsAcceptor::from(config).accept(stream).await
}
