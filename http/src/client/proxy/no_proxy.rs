//! The `NO_PROXY` list: the hosts a request reaches without its proxy.

use std::net::IpAddr;

/// A parsed `NO_PROXY` list (syntax: [`Proxy::no_proxy`](super::Proxy::no_proxy)).
#[derive(Debug, Default)]
pub(crate) struct NoProxy {
    /// `*`: no host uses the proxy.
    all: bool,
    /// Lower-case domains without a leading dot: each matches itself and
    /// its subdomains.
    domains: Vec<String>,
    /// Networks (a lone address is a network of its full length).
    nets: Vec<(IpAddr, u8)>,
    /// Loopback hosts (`localhost`, `*.localhost`, 127.0.0.0/8, `::1`)
    /// are reached directly whatever the list says: set for proxies from
    /// the environment, as Go's `ProxyFromEnvironment` does, so that a
    /// machine-wide `HTTP_PROXY` never carries a request to this machine.
    loopback: bool,
}

impl NoProxy {
    pub(crate) fn parse(list: &str) -> NoProxy {
        let mut no_proxy = NoProxy::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                no_proxy.all = true;
            } else if let Some(net) = network(entry) {
                no_proxy.nets.push(net);
            } else if let Some(domain) = domain(entry) {
                no_proxy.domains.push(domain);
            }
        }
        no_proxy
    }

    /// `list` for a proxy from the environment: loopback hosts are always
    /// reached directly too.
    pub(crate) fn parse_env(list: &str) -> NoProxy {
        NoProxy { loopback: true, ..NoProxy::parse(list) }
    }

    /// Whether `host` (without IPv6 brackets, lower case) is reached
    /// directly.
    pub(crate) fn matches(&self, host: &str) -> bool {
        if self.all {
            return true;
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return (self.loopback && ip.is_loopback()) || self.nets.iter().any(|&(net, bits)| contains(net, bits, ip));
        }
        let host = host.trim_end_matches('.');
        if self.loopback && is_localhost(host) {
            return true;
        }
        self.domains.iter().any(|d| {
            host.len() >= d.len()
                && host[host.len() - d.len()..].eq_ignore_ascii_case(d)
                && (host.len() == d.len() || host.as_bytes()[host.len() - d.len() - 1] == b'.')
        })
    }
}

/// `localhost` and its subdomains (RFC 6761: they name this machine).
fn is_localhost(host: &str) -> bool {
    let tail = host.len().saturating_sub("localhost".len());
    host[tail..].eq_ignore_ascii_case("localhost") && (tail == 0 || host.as_bytes()[tail - 1] == b'.')
}

/// `10.0.0.0/8`, `::1`, `[::1]`, `10.1.2.3`: an address and a prefix length.
fn network(entry: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = match entry.split_once('/') {
        Some((addr, bits)) => (addr, Some(bits.parse::<u8>().ok()?)),
        None => (entry, None),
    };
    let addr = addr.strip_prefix('[').and_then(|a| a.strip_suffix(']')).unwrap_or(addr);
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((ip, bits))
}

/// `.example.com`, `*.example.com`, `example.com:8080`: `example.com`.
fn domain(entry: &str) -> Option<String> {
    let entry = entry.strip_prefix("*.").or_else(|| entry.strip_prefix('.')).unwrap_or(entry);
    // A port is not part of the match (as in curl and requests).
    let entry = match entry.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => entry,
    };
    let entry = entry.trim_end_matches('.');
    let valid =
        !entry.is_empty() && entry.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    valid.then(|| entry.to_ascii_lowercase())
}

/// Whether `ip` is in `net/bits` (an IPv4 network never holds an IPv6
/// address, nor the other way round).
fn contains(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    let (net, ip, width) = match (net, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => (u128::from(u32::from(net)), u128::from(u32::from(ip)), 32),
        (IpAddr::V6(net), IpAddr::V6(ip)) => (u128::from(net), u128::from(ip), 128),
        _ => return false,
    };
    let shift = width - u32::from(bits);
    // `bits` is 0..=width, so `shift` is 0..=128; a zero-length prefix holds everything.
    shift >= 128 || (net >> shift) == (ip >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_match_themselves_and_subdomains_only() {
        let list = NoProxy::parse("example.com, .corp.local, *.wild.org, port.net:8080, UPPER.io");
        for host in ["example.com", "www.example.com", "a.b.example.com", "corp.local", "x.corp.local", "y.wild.org"] {
            assert!(list.matches(host), "{host}");
        }
        assert!(list.matches("port.net"), "the port is not compared");
        assert!(list.matches("upper.io"), "case-insensitive");
        assert!(list.matches("example.com."), "a trailing dot is the same name");
        for host in ["notexample.com", "example.com.evil", "com", "local", "wild.orgx"] {
            assert!(!list.matches(host), "{host}");
        }
    }

    #[test]
    fn addresses_and_networks() {
        let list = NoProxy::parse("10.0.0.0/8, 192.168.1.5, ::1, [fd00::]/8, 0.0.0.0/0x");
        assert!(list.matches("10.200.3.4"));
        assert!(list.matches("192.168.1.5"));
        assert!(!list.matches("192.168.1.6"));
        assert!(list.matches("::1"));
        assert!(list.matches("fdab::1"));
        assert!(!list.matches("fe80::1"));
        assert!(!list.matches("11.0.0.1"));
        assert!(!list.matches("localhost"), "names are not resolved");
        assert!(NoProxy::parse("0.0.0.0/0").matches("1.2.3.4"));
        assert!(!NoProxy::parse("0.0.0.0/0").matches("::1"), "v4 networks never hold v6");
        assert!(!NoProxy::parse("10.0.0.0/33").matches("10.0.0.1"), "a prefix too long is ignored");
    }

    #[test]
    fn loopback_is_direct_only_for_environment_proxies() {
        let env = NoProxy::parse_env("");
        for host in ["127.0.0.1", "127.9.9.9", "::1", "localhost", "LocalHost", "a.localhost"] {
            assert!(env.matches(host), "{host}");
        }
        for host in ["10.0.0.1", "example.com", "notlocalhost", "localhost.example.com"] {
            assert!(!env.matches(host), "{host}");
        }
        let by_hand = NoProxy::parse("");
        assert!(!by_hand.matches("127.0.0.1") && !by_hand.matches("localhost"));
    }

    #[test]
    fn star_empty_and_junk() {
        assert!(NoProxy::parse("*").matches("anything"));
        assert!(NoProxy::parse("a, *").matches("1.2.3.4"));
        let empty = NoProxy::parse(" , ,");
        assert!(!empty.matches("x") && !empty.matches("127.0.0.1"));
        assert!(!NoProxy::parse("a b, !!").matches("a b"));
    }
}
