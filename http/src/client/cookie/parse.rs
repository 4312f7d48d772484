//! One `Set-Cookie` header, read as RFC 6265 §5.2 says a user agent
//! must (leniently: an attribute that does not parse is ignored, not the
//! cookie).

use std::time::{Duration, SystemTime};

use super::date;

/// A `Set-Cookie` header's content, before the store judges it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SetCookie<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: &'a str,
    /// `Domain`, lower case, without a leading dot.
    pub(crate) domain: Option<String>,
    /// `Path`, when it starts with `/`.
    pub(crate) path: Option<&'a str>,
    pub(crate) secure: bool,
    /// Parsed, and of no use to a client that runs no scripts.
    pub(crate) http_only: bool,
    /// From `Max-Age` if it is there, else from `Expires`; `None`: the
    /// cookie lasts as long as the client.
    pub(crate) expires: Option<SystemTime>,
}

/// Reads `header` (received at `now`); `None` if it holds no cookie.
pub(crate) fn parse(header: &str, now: SystemTime) -> Option<SetCookie<'_>> {
    let (pair, attributes) = header.split_once(';').unwrap_or((header, ""));
    let (name, value) = pair.split_once('=')?;
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() {
        return None;
    }
    let mut cookie =
        SetCookie { name, value, domain: None, path: None, secure: false, http_only: false, expires: None };
    let mut max_age = None;
    for attribute in attributes.split(';') {
        let (key, value) = attribute.split_once('=').unwrap_or((attribute, ""));
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("expires") {
            if let Some(at) = date::parse(value) {
                cookie.expires = Some(at);
            }
        } else if key.eq_ignore_ascii_case("max-age") {
            if let Some(at) = max_age_of(value, now) {
                max_age = Some(at);
            }
        } else if key.eq_ignore_ascii_case("domain") {
            let domain = value.strip_prefix('.').unwrap_or(value);
            if !domain.is_empty() {
                cookie.domain = Some(domain.to_ascii_lowercase());
            }
        } else if key.eq_ignore_ascii_case("path") {
            cookie.path = value.starts_with('/').then_some(value);
        } else if key.eq_ignore_ascii_case("secure") {
            cookie.secure = true;
        } else if key.eq_ignore_ascii_case("httponly") {
            cookie.http_only = true;
        }
    }
    // Max-Age wins over Expires (§5.3 step 3).
    if max_age.is_some() {
        cookie.expires = max_age;
    }
    Some(cookie)
}

/// `Max-Age=n` seconds from `now`; zero or less is "already expired".
fn max_age_of(value: &str, now: SystemTime) -> Option<SystemTime> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if value.starts_with('-') || digits.bytes().all(|b| b == b'0') {
        return Some(SystemTime::UNIX_EPOCH);
    }
    // A number too large for u64 seconds is as good as forever.
    let seconds = digits.parse::<u64>().unwrap_or(u64::MAX);
    Some(now.checked_add(Duration::from_secs(seconds)).unwrap_or(now + Duration::from_secs(u32::MAX.into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn name_value_and_every_attribute() {
        let now = at(1_000);
        let c =
            parse("sid = abc=def ; Domain=.Example.COM; Path=/app; Secure; HttpOnly; SameSite=Lax; Max-Age=60", now)
                .unwrap();
        assert_eq!((c.name, c.value), ("sid", "abc=def"));
        assert_eq!(c.domain.as_deref(), Some("example.com"));
        assert_eq!(c.path, Some("/app"));
        assert!(c.secure && c.http_only);
        assert_eq!(c.expires, Some(at(1_060)));
    }

    #[test]
    fn max_age_beats_expires_whatever_the_order() {
        let now = at(1_000);
        let c = parse("a=1; Max-Age=10; Expires=Wed, 21 Oct 2015 07:28:00 GMT", now).unwrap();
        assert_eq!(c.expires, Some(at(1_010)));
        let c = parse("a=1; Expires=Thu, 01 Jan 1970 00:01:40 GMT", now).unwrap();
        assert_eq!(c.expires, Some(at(100)));
        assert_eq!(parse("a=1; Max-Age=0", now).unwrap().expires, Some(SystemTime::UNIX_EPOCH));
        assert_eq!(parse("a=1; Max-Age=-5", now).unwrap().expires, Some(SystemTime::UNIX_EPOCH));
        assert_eq!(parse("a=1; Max-Age=ten", now).unwrap().expires, None, "ignored");
        assert!(parse("a=1; Max-Age=99999999999999999999999", now).unwrap().expires.unwrap() > at(1_000_000));
    }

    #[test]
    fn what_is_not_a_cookie_and_what_is_ignored() {
        let now = at(0);
        assert_eq!(parse("novalue", now), None);
        assert_eq!(parse("=v", now), None);
        let c = parse("a=; Path=relative; Domain=; Expires=soon", now).unwrap();
        assert_eq!((c.value, c.path, c.domain, c.expires), ("", None, None, None));
    }
}
