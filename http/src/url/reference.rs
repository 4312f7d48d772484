//! Resolving a URI reference against a base: RFC 3986 §5.
//!
//! A redirect's `Location` may be any reference form: absolute
//! (`https://b/x`), network-path (`//b:8080/x`), absolute-path (`/x`),
//! relative-path (`sub/page`, `../up`, `./same`), query only (`?page=2`),
//! fragment only, or empty. [`resolve`] is §5.2.2's algorithm, in strict
//! mode, with §5.2.3's merge and §5.2.4's `remove_dot_segments`, on text:
//! the result is §5.3's recomposition. §5.4's examples are its table test.

/// A URI reference split into its five components (RFC 3986 Appendix B:
/// `^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?`).
#[derive(Debug, PartialEq, Eq)]
struct Parts<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

fn split(reference: &str) -> Parts<'_> {
    let (rest, fragment) = match reference.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (reference, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    // A scheme is a non-empty run before the first `:` that holds no `/`.
    let (scheme, rest) = match rest.find([':', '/']) {
        Some(colon) if colon > 0 && rest.as_bytes()[colon] == b':' => (Some(&rest[..colon]), &rest[colon + 1..]),
        _ => (None, rest),
    };
    let (authority, path) = match rest.strip_prefix("//") {
        Some(rest) => {
            let end = rest.find('/').unwrap_or(rest.len());
            (Some(&rest[..end]), &rest[end..])
        }
        None => (None, rest),
    };
    Parts { scheme, authority, path, query, fragment }
}

/// The target URI of `reference` resolved against `base` (§5.2.2,
/// strict: a reference with a scheme is taken as it is).
///
/// `base` should be absolute (the URL of the request that was
/// redirected); the result then is too. Never fails: any text is a
/// reference (invalid characters are for the caller's URI parser).
pub(crate) fn resolve(base: &str, reference: &str) -> String {
    let base = split(base);
    let r = split(reference);
    let (scheme, authority, path, query);
    if r.scheme.is_some() {
        (scheme, authority, path, query) = (r.scheme, r.authority, remove_dot_segments(r.path), r.query);
    } else if r.authority.is_some() {
        (scheme, authority, path, query) = (base.scheme, r.authority, remove_dot_segments(r.path), r.query);
    } else if r.path.is_empty() {
        (scheme, authority, path, query) = (base.scheme, base.authority, base.path.to_owned(), r.query.or(base.query));
    } else if r.path.starts_with('/') {
        (scheme, authority, path, query) = (base.scheme, base.authority, remove_dot_segments(r.path), r.query);
    } else {
        (scheme, authority, path, query) =
            (base.scheme, base.authority, remove_dot_segments(&merge(&base, r.path)), r.query);
    }
    recompose(scheme, authority, &path, query, r.fragment)
}

/// §5.2.3: a relative path appended to the base path's directory.
fn merge(base: &Parts<'_>, path: &str) -> String {
    if base.authority.is_some() && base.path.is_empty() {
        return format!("/{path}");
    }
    match base.path.rfind('/') {
        Some(slash) => format!("{}{path}", &base.path[..=slash]),
        None => path.to_owned(),
    }
}

/// §5.2.4: removes `.` and `..` segments, as the RFC's loop does: the
/// input is consumed from the front, and each `..` drops the output's last
/// segment. Linear: every step consumes input or moves one segment.
pub(crate) fn remove_dot_segments(path: &str) -> String {
    // Each entry is one segment with its leading `/` (if it had one), so
    // popping one removes "the last segment and its preceding /".
    let mut output: Vec<&str> = Vec::new();
    let mut input = path;
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../").or_else(|| input.strip_prefix("./")) {
            input = rest; // A
        } else if input.starts_with("/./") {
            input = &input[2..]; // B: "/./x" becomes "/x"
        } else if input == "/." {
            input = "/"; // B
        } else if input.starts_with("/../") {
            input = &input[3..]; // C: "/../x" becomes "/x"
            output.pop();
        } else if input == "/.." {
            input = "/"; // C
            output.pop();
        } else if input == "." || input == ".." {
            input = ""; // D
        } else {
            // E: the first segment, with its leading "/", moves to the output.
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |i| i + start);
            output.push(&input[..end]);
            input = &input[end..];
        }
    }
    output.concat()
}

/// §5.3: the components joined back into one string.
fn recompose(
    scheme: Option<&str>,
    authority: Option<&str>,
    path: &str,
    query: Option<&str>,
    fragment: Option<&str>,
) -> String {
    let mut out = String::with_capacity(path.len() + 64);
    if let Some(scheme) = scheme {
        out.push_str(scheme);
        out.push(':');
    }
    if let Some(authority) = authority {
        out.push_str("//");
        out.push_str(authority);
    }
    out.push_str(path);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://a/b/c/d;p?q";

    /// RFC 3986 §5.4.1, "Normal Examples".
    const NORMAL: &[(&str, &str)] = &[
        ("g:h", "g:h"),
        ("g", "http://a/b/c/g"),
        ("./g", "http://a/b/c/g"),
        ("g/", "http://a/b/c/g/"),
        ("/g", "http://a/g"),
        ("//g", "http://g"),
        ("?y", "http://a/b/c/d;p?y"),
        ("g?y", "http://a/b/c/g?y"),
        ("#s", "http://a/b/c/d;p?q#s"),
        ("g#s", "http://a/b/c/g#s"),
        ("g?y#s", "http://a/b/c/g?y#s"),
        (";x", "http://a/b/c/;x"),
        ("g;x", "http://a/b/c/g;x"),
        ("g;x?y#s", "http://a/b/c/g;x?y#s"),
        ("", "http://a/b/c/d;p?q"),
        (".", "http://a/b/c/"),
        ("./", "http://a/b/c/"),
        ("..", "http://a/b/"),
        ("../", "http://a/b/"),
        ("../g", "http://a/b/g"),
        ("../..", "http://a/"),
        ("../../", "http://a/"),
        ("../../g", "http://a/g"),
    ];

    /// RFC 3986 §5.4.2, "Abnormal Examples" (strict parser).
    const ABNORMAL: &[(&str, &str)] = &[
        ("../../../g", "http://a/g"),
        ("../../../../g", "http://a/g"),
        ("/./g", "http://a/g"),
        ("/../g", "http://a/g"),
        ("g.", "http://a/b/c/g."),
        (".g", "http://a/b/c/.g"),
        ("g..", "http://a/b/c/g.."),
        ("..g", "http://a/b/c/..g"),
        ("./../g", "http://a/b/g"),
        ("./g/.", "http://a/b/c/g/"),
        ("g/./h", "http://a/b/c/g/h"),
        ("g/../h", "http://a/b/c/h"),
        ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
        ("g;x=1/../y", "http://a/b/c/y"),
        ("g?y/./x", "http://a/b/c/g?y/./x"),
        ("g?y/../x", "http://a/b/c/g?y/../x"),
        ("g#s/./x", "http://a/b/c/g#s/./x"),
        ("g#s/../x", "http://a/b/c/g#s/../x"),
        ("http:g", "http:g"),
    ];

    #[test]
    fn rfc_3986_section_5_4_examples() {
        for (reference, want) in NORMAL.iter().chain(ABNORMAL) {
            assert_eq!(resolve(BASE, reference), *want, "reference {reference:?}");
        }
    }

    #[test]
    fn section_5_2_4_examples() {
        assert_eq!(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
        assert_eq!(remove_dot_segments("mid/content=5/../6"), "mid/6");
    }

    #[test]
    fn a_base_without_a_path_merges_under_the_root() {
        assert_eq!(resolve("http://a", "g"), "http://a/g");
        assert_eq!(resolve("http://a", "?q"), "http://a?q");
        assert_eq!(resolve("http://a:8080/x/y", "//b:9090/z"), "http://b:9090/z");
        assert_eq!(resolve("https://a/x", "http://b/../c"), "http://b/c");
    }

    #[test]
    fn splitting_follows_appendix_b() {
        let p = split("https://u@h:1/p/q?x=1?y#f#g");
        assert_eq!(
            p,
            Parts {
                scheme: Some("https"),
                authority: Some("u@h:1"),
                path: "/p/q",
                query: Some("x=1?y"),
                fragment: Some("f#g")
            }
        );
        assert_eq!(split("a/b:c").scheme, None, "a slash before the colon: no scheme");
        assert_eq!(split(":x").scheme, None, "a scheme is not empty");
        assert_eq!(split("//h?q").authority, Some("h"));
    }

    mod fuzz {
        use proptest::prelude::*;

        use super::*;

        /// A plain model of dot-segment removal for absolute paths: a stack
        /// of segments, where a final `.` or `..` leaves a trailing slash.
        fn model(path: &str) -> String {
            let segments: Vec<&str> = path[1..].split('/').collect();
            let mut stack: Vec<&str> = Vec::new();
            for (i, segment) in segments.iter().enumerate() {
                let last = i + 1 == segments.len();
                match *segment {
                    "." => {}
                    ".." => {
                        stack.pop();
                    }
                    other => {
                        stack.push(other);
                        continue;
                    }
                }
                if last {
                    stack.push("");
                }
            }
            format!("/{}", stack.join("/"))
        }

        fn segment() -> impl Strategy<Value = String> {
            prop_oneof![Just(".".to_owned()), Just("..".to_owned()), Just(String::new()), "[a-c.]{1,3}"]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            #[test]
            fn dot_segment_removal_agrees_with_the_model(segments in prop::collection::vec(segment(), 0..12)) {
                let path = format!("/{}", segments.join("/"));
                prop_assert_eq!(remove_dot_segments(&path), model(&path), "path {}", path);
            }

            /// Any reference against an absolute base: no panic, an absolute
            /// result, no dot segment left in its path.
            #[test]
            fn resolution_is_total_and_absolute(reference in "\\PC{0,30}|[./a?#:]{0,12}") {
                let out = resolve(BASE, &reference);
                let parts = split(&out);
                prop_assert!(parts.scheme.is_some(), "{} -> {}", reference, out);
                if parts.authority.is_some() {
                    prop_assert!(parts.path.is_empty() || parts.path.starts_with('/'), "{} -> {}", reference, out);
                    prop_assert!(parts.path.split('/').all(|s| s != "." && s != ".."), "{} -> {}", reference, out);
                }
            }
        }
    }
}
