//! Address resolution that never blocks the loop: `ToSocketAddrs` and `lookup_host`.
//!
//! std's `ToSocketAddrs` resolves host names with a blocking
//! `getaddrinfo` call, which would stall every green task on the thread.
//! sprout's trait of the same name accepts the same inputs; literal
//! addresses resolve at once, and only a host name goes to the blocking
//! pool (`sprout::blocking::spawn_blocking`).
//!
//! A `"host:port"` string is checked before any lookup: no port, a port
//! above 65535 or an empty host fail at once with `InvalidInput` and a
//! message that says which (std passes some of these to `getaddrinfo`,
//! whose error names nothing).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use sprout_runtime::blocking::spawn_blocking;

/// Anything that names one or more socket addresses: the async twin of
/// [`std::net::ToSocketAddrs`], implemented for the same types.
///
/// A literal address (`"127.0.0.1:80"`, `SocketAddr`, `(Ipv4Addr, u16)`...)
/// resolves at once; a host name (`"example.com:80"`, `("localhost", 80)`)
/// is looked up on the blocking pool, so the loop keeps running. The trait
/// is sealed: its method is an implementation detail.
pub trait ToSocketAddrs: sealed::Sealed {}

pub(crate) mod sealed {
    use super::*;

    /// How an address is resolved.
    #[doc(hidden)]
    #[derive(Debug)]
    pub enum Resolve {
        /// Already known (or already an error).
        Ready(io::Result<Vec<SocketAddr>>),
        /// A `"host:port"` string for the system resolver.
        Lookup(String),
    }

    #[doc(hidden)]
    pub trait Sealed {
        fn to_resolve(&self) -> Resolve;
    }
}

use sealed::{Resolve, Sealed};

macro_rules! literal {
    ($($ty:ty),*) => {$(
        impl ToSocketAddrs for $ty {}
        impl Sealed for $ty {
            fn to_resolve(&self) -> Resolve {
                Resolve::Ready(Ok(vec![SocketAddr::from(*self)]))
            }
        }
    )*};
}

literal!(SocketAddr, SocketAddrV4, SocketAddrV6, (IpAddr, u16), (Ipv4Addr, u16), (Ipv6Addr, u16));

impl ToSocketAddrs for str {}
impl Sealed for str {
    fn to_resolve(&self) -> Resolve {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Resolve::Ready(Ok(vec![addr])),
            Err(_) => match check_host_port(self) {
                Ok(()) => Resolve::Lookup(self.to_owned()),
                Err(e) => Resolve::Ready(Err(e)),
            },
        }
    }
}

/// Checks that `addr`, which is not a literal socket address, is a host
/// name and a port from 0 to 65535.
fn check_host_port(addr: &str) -> io::Result<()> {
    let invalid =
        |why: String| Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid address {addr:?}: {why}")));
    let Some((host, port)) = addr.rsplit_once(':') else {
        return invalid("no port (host:port)".into());
    };
    if host.is_empty() {
        return invalid("no host".into());
    }
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return invalid(format!("the port {port:?} is not a number"));
    }
    if port.parse::<u16>().is_err() {
        return invalid(format!("port {port} is out of range (0 to 65535)"));
    }
    Ok(())
}

/// Checks that `host` (paired with a port) is not empty.
fn check_host(host: &str) -> io::Result<()> {
    if host.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "invalid address: no host"));
    }
    Ok(())
}

impl ToSocketAddrs for String {}
impl Sealed for String {
    fn to_resolve(&self) -> Resolve {
        self.as_str().to_resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl Sealed for (&str, u16) {
    fn to_resolve(&self) -> Resolve {
        let (host, port) = *self;
        // An IPv6 address may come in a URL's brackets: `("[::1]", 80)`.
        let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        match literal.parse::<IpAddr>() {
            Ok(ip) => Resolve::Ready(Ok(vec![SocketAddr::new(ip, port)])),
            Err(_) => match check_host(host) {
                Ok(()) => Resolve::Lookup(format!("{host}:{port}")),
                Err(e) => Resolve::Ready(Err(e)),
            },
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl Sealed for (String, u16) {
    fn to_resolve(&self) -> Resolve {
        (self.0.as_str(), self.1).to_resolve()
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl Sealed for [SocketAddr] {
    fn to_resolve(&self) -> Resolve {
        Resolve::Ready(Ok(self.to_vec()))
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {}
impl Sealed for Vec<SocketAddr> {
    fn to_resolve(&self) -> Resolve {
        Resolve::Ready(Ok(self.clone()))
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: Sealed + ?Sized> Sealed for &T {
    fn to_resolve(&self) -> Resolve {
        (**self).to_resolve()
    }
}

/// Resolves `addr` to a list of socket addresses, off the loop if a
/// lookup is needed.
pub(crate) async fn resolve(addr: &(impl ToSocketAddrs + ?Sized)) -> io::Result<Vec<SocketAddr>> {
    match addr.to_resolve() {
        Resolve::Ready(result) => result,
        Resolve::Lookup(host) => blocking_lookup(host).await,
    }
}

async fn blocking_lookup(host: String) -> io::Result<Vec<SocketAddr>> {
    let lookup = spawn_blocking(move || std::net::ToSocketAddrs::to_socket_addrs(host.as_str()).map(Iterator::collect));
    lookup.await.map_err(|e| io::Error::other(format!("the address lookup failed: {e}")))?
}

/// Runs `f` on each address in turn until one succeeds, as std's `bind`
/// and `connect` do; returns the last error.
pub(crate) async fn each_addr<T, F, Fut>(addr: &(impl ToSocketAddrs + ?Sized), mut f: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let addrs = resolve(addr).await?;
    let mut last = None;
    for addr in addrs {
        match f(addr).await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "could not resolve to any address")))
}

/// Resolves `host` (`"example.com:80"`, `("localhost", 8080)`, or a
/// literal address) to its socket addresses, like `getaddrinfo`.
///
/// The lookup runs on the blocking pool, so other tasks keep running
/// meanwhile; a literal address resolves at once.
///
/// ```
/// # sprout::run(async {
/// let addrs: Vec<_> = sprout::net::lookup_host("localhost:8080").await.unwrap().collect();
/// assert!(addrs.iter().all(|a| a.port() == 8080 && a.ip().is_loopback()));
/// # });
/// ```
///
/// # Errors
/// If the name does not resolve, or has no port.
pub async fn lookup_host(host: impl ToSocketAddrs) -> io::Result<std::vec::IntoIter<SocketAddr>> {
    resolve(&host).await.map(Vec::into_iter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(addr: &(impl ToSocketAddrs + ?Sized)) -> Option<Vec<SocketAddr>> {
        match addr.to_resolve() {
            Resolve::Ready(r) => Some(r.unwrap()),
            Resolve::Lookup(_) => None,
        }
    }

    #[test]
    fn literals_resolve_without_a_lookup() {
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert_eq!(ready("127.0.0.1:80"), Some(vec![v4]));
        assert_eq!(ready(&String::from("127.0.0.1:80")), Some(vec![v4]));
        assert_eq!(ready(&("127.0.0.1", 80)), Some(vec![v4]));
        assert_eq!(ready(&(Ipv4Addr::LOCALHOST, 80)), Some(vec![v4]));
        assert_eq!(ready(&v4), Some(vec![v4]));
        assert_eq!(ready(&[v4, v4][..]), Some(vec![v4, v4]));
        assert_eq!(ready(&("::1", 80)), Some(vec!["[::1]:80".parse().unwrap()]));
    }

    #[test]
    fn names_go_to_the_resolver() {
        assert!(ready("localhost:80").is_none());
        assert!(ready(&("localhost", 80)).is_none());
        assert_eq!(ready(&("[::1]", 80)), Some(vec!["[::1]:80".parse().unwrap()]));
    }

    /// The error a malformed address fails with at once (no lookup).
    fn refused(addr: &(impl ToSocketAddrs + ?Sized)) -> String {
        match addr.to_resolve() {
            Resolve::Ready(Err(e)) => {
                assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
                e.to_string()
            }
            Resolve::Ready(Ok(addrs)) => panic!("accepted: {addrs:?}"),
            Resolve::Lookup(host) => panic!("sent to the resolver: {host}"),
        }
    }

    #[test]
    fn malformed_addresses_fail_before_any_lookup() {
        assert_eq!(
            refused("127.0.0.1:99999"),
            r#"invalid address "127.0.0.1:99999": port 99999 is out of range (0 to 65535)"#
        );
        assert_eq!(
            refused("example.com:65536"),
            r#"invalid address "example.com:65536": port 65536 is out of range (0 to 65535)"#
        );
        assert_eq!(refused(":80"), r#"invalid address ":80": no host"#);
        assert_eq!(refused("example.com"), r#"invalid address "example.com": no port (host:port)"#);
        assert_eq!(
            refused("example.com:http"),
            r#"invalid address "example.com:http": the port "http" is not a number"#
        );
        assert_eq!(refused("example.com:"), r#"invalid address "example.com:": the port "" is not a number"#);
        assert_eq!(refused(&("", 80)), "invalid address: no host");
    }
}
