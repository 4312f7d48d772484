//! `Authorization` values: HTTP Basic (RFC 7617), for
//! [`RequestBuilder::basic_auth`](super::RequestBuilder::basic_auth) and
//! for the credentials of a proxy URL.

use hyper::header::HeaderValue;

/// `Basic base64(user:password)`, marked sensitive (hyper then keeps it
/// out of HPACK's table, and `Debug` shows `Sensitive`).
pub(crate) fn basic_auth(user: &str, password: Option<&str>) -> HeaderValue {
    let credentials = format!("{user}:{}", password.unwrap_or_default());
    let mut value = HeaderValue::from_str(&format!("Basic {}", base64(credentials.as_bytes())))
        .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
    value.set_sensitive(true);
    value
}

/// Standard base64 with padding (RFC 4648 §4): twenty lines, where a
/// crate would be a dependency for one call.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [group[0], group.get(1).copied().unwrap_or(0), group.get(2).copied().unwrap_or(0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want, "{input:?}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn basic_auth_is_rfc_7617s_example() {
        let value = basic_auth("Aladdin", Some("open sesame"));
        assert_eq!(value, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert!(value.is_sensitive());
    }
}
