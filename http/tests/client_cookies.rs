//! The cookie store against real servers: off by default, host-only
//! cookies, a cookie for another domain not sent, expiry, and the
//! cookies of each hop of a redirect chain across origins. (`127.0.0.1`
//! and `localhost` are two hosts to a cookie store.)

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use sprout_http::{Body, Client, Incoming, Request, Response, Server, StatusCode, header};
use support::run;

/// Every `Cookie` header a server received, by path.
type Log = Rc<RefCell<Vec<(String, Option<String>)>>>;

/// A server that sets the cookie of each `c=` or `set=` in the query
/// (percent-encoded `Set-Cookie` values), redirects to `to=<url>` if
/// there is one, and logs the `Cookie` header of every request.
async fn cookie_server() -> (u16, Log, sprout_net::ServerHandle) {
    let log: Log = Rc::default();
    let seen = log.clone();
    let server = Server::bind("127.0.0.1:0", move |req: Request<Incoming>| {
        let seen = seen.clone();
        async move {
            let cookie = req.headers().get(header::COOKIE).map(|v| v.to_str().unwrap().to_owned());
            seen.borrow_mut().push((req.uri().path().to_owned(), cookie));
            let query: Vec<(String, String)> = req
                .uri()
                .query()
                .unwrap_or_default()
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), decode(v)))
                .collect();
            let mut resp = Response::new(Body::empty());
            for (key, value) in query {
                match key.as_str() {
                    "c" | "set" => drop(resp.headers_mut().append(header::SET_COOKIE, value.parse().unwrap())),
                    "to" => {
                        *resp.status_mut() = StatusCode::FOUND;
                        resp.headers_mut().insert(header::LOCATION, value.parse().unwrap());
                    }
                    _ => {}
                }
            }
            resp
        }
    })
    .await
    .unwrap();
    let port = server.local_addr().unwrap().port();
    (port, log, server.start())
}

/// `%XX` decoding, enough for the test's query strings.
fn decode(query: &str) -> String {
    let mut out = Vec::new();
    let bytes = query.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&query[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The `Cookie` header of the last request to `path`.
fn last(log: &Log, path: &str) -> Option<String> {
    log.borrow().iter().rev().find(|(p, _)| p == path).and_then(|(_, c)| c.clone())
}

#[test]
fn cookies_are_off_unless_asked_for() {
    run(async {
        let (port, log, handle) = cookie_server().await;
        let client = Client::new();
        client.get(&format!("http://127.0.0.1:{port}/set?c={}", enc("a=1"))).await.unwrap();
        client.get(&format!("http://127.0.0.1:{port}/check")).await.unwrap();
        assert_eq!(last(&log, "/check"), None);
        handle.stop();
    });
}

/// The edge case: a cookie for another domain is not sent.
#[test]
fn a_cookie_goes_back_to_its_host_only() {
    run(async {
        let (port, log, handle) = cookie_server().await;
        let (other_port, other_log, other) = cookie_server().await;
        let client = Client::builder().cookie_store(true).build();
        let set = |c: &str| format!("http://127.0.0.1:{port}/set?c={}", enc(c));
        client.get(&set("sid=abc; Path=/; HttpOnly")).await.unwrap();
        client.get(&set("theme=dark; Max-Age=3600")).await.unwrap();
        // Domain=example.com from 127.0.0.1: refused, sent nowhere.
        client.get(&set("evil=1; Domain=example.com")).await.unwrap();

        client.get(&format!("http://127.0.0.1:{port}/check")).await.unwrap();
        assert_eq!(last(&log, "/check").as_deref(), Some("sid=abc; theme=dark"));
        // Another port of the same host: cookies do not care about ports.
        client.get(&format!("http://127.0.0.1:{other_port}/check")).await.unwrap();
        assert_eq!(last(&other_log, "/check").as_deref(), Some("sid=abc; theme=dark"));
        // Another host (the same machine, named otherwise): nothing.
        client.get(&format!("http://localhost:{other_port}/elsewhere")).await.unwrap();
        assert_eq!(last(&other_log, "/elsewhere"), None);

        // Deleted by Max-Age=0; a caller's own Cookie header wins over the store.
        client.get(&set("theme=; Max-Age=0")).await.unwrap();
        client.get(&format!("http://127.0.0.1:{port}/check")).await.unwrap();
        assert_eq!(last(&log, "/check").as_deref(), Some("sid=abc"));
        client.get(&format!("http://127.0.0.1:{port}/mine")).header(header::COOKIE, "mine=1").await.unwrap();
        assert_eq!(last(&log, "/mine").as_deref(), Some("mine=1"));
        // Clones share the store.
        client.clone().get(&format!("http://127.0.0.1:{port}/clone")).await.unwrap();
        assert_eq!(last(&log, "/clone").as_deref(), Some("sid=abc"));
        handle.stop();
        other.stop();
    });
}

/// Across a redirect chain that leaves the origin and comes back, each
/// hop carries the cookies of its own URL: those set by earlier hops
/// included, those of other hosts not.
#[test]
fn each_redirect_hop_gets_the_cookies_of_its_own_url() {
    run(async {
        let (port, log, handle) = cookie_server().await;
        let (other_port, other_log, other) = cookie_server().await;
        let client = Client::builder().cookie_store(true).build();
        client.get(&format!("http://127.0.0.1:{port}/set?c={}", enc("sid=1"))).await.unwrap();

        // 127.0.0.1/go (sets login=yes) -> localhost:other/go (sets its
        // own cookie) -> 127.0.0.1/home.
        let home = format!("http://127.0.0.1:{port}/home");
        let middle = format!("http://localhost:{other_port}/go?to={}&set={}", enc(&home), enc("there=1"));
        let first = format!("http://127.0.0.1:{port}/go?to={}&set={}", enc(&middle), enc("login=yes"));
        let resp = client.get(&first).await.unwrap();
        assert_eq!(resp.url().to_string(), home);
        assert_eq!(last(&log, "/go").as_deref(), Some("sid=1"));
        assert_eq!(last(&other_log, "/go"), None, "127.0.0.1's cookies do not go to localhost");
        assert_eq!(last(&log, "/home").as_deref(), Some("sid=1; login=yes"), "set by a redirect, sent on the next hop");
        client.get(&format!("http://localhost:{other_port}/back")).await.unwrap();
        assert_eq!(last(&other_log, "/back").as_deref(), Some("there=1"), "set mid-chain, kept for its host");
        handle.stop();
        other.stop();
    });
}
