//! Transparent decompression: gzip, deflate and brotli bodies from a
//! server that compresses them (flate2, brotli), `Accept-Encoding`, the
//! headers that go, a corrupt body, and `no_decompression`.

mod support;

use std::io::Write;

use sprout_http::{Body, Client, Incoming, Request, Response, Server, header};
use support::run;

/// A text long enough that compression shows (and spans many frames).
fn text() -> String {
    (0..2_000).map(|i| format!("line {i} of a compressible body\n")).collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        encoder.write_all(data).unwrap();
    }
    out
}

/// `/{coding}` answers `text()` so encoded (`/gzip`, `/deflate`, `/br`,
/// `/x-gzip`, `/gzip-chunked` streamed in pieces, `/two-members`,
/// `/corrupt`, `/truncated`, `/empty-gzip`, `/stacked`); the header
/// `x-accept-encoding` echoes what the client asked for.
async fn compressing_server() -> (String, sprout_net::ServerHandle) {
    let server = Server::bind("127.0.0.1:0", |req: Request<Incoming>| async move {
        let plain = text();
        let (coding, body): (&str, Body) = match req.uri().path() {
            "/gzip" => ("gzip", gzip(plain.as_bytes()).into()),
            "/x-gzip" => ("x-gzip", gzip(plain.as_bytes()).into()),
            "/deflate" => ("deflate", zlib(plain.as_bytes()).into()),
            "/br" => ("br", brotli(plain.as_bytes()).into()),
            "/gzip-chunked" => {
                let compressed = gzip(plain.as_bytes());
                let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
                    compressed.chunks(100).map(|c| Ok(c.to_vec())).collect();
                ("gzip", Body::stream(futures_util::stream::iter(pieces)))
            }
            "/two-members" => ("gzip", [gzip(b"first "), gzip(b"second")].concat().into()),
            "/corrupt" => ("gzip", b"this is not gzip at all, just text".to_vec().into()),
            "/truncated" => {
                let compressed = gzip(plain.as_bytes());
                ("gzip", compressed[..compressed.len() / 2].to_vec().into())
            }
            "/empty-gzip" => ("gzip", Body::stream(futures_util::stream::empty::<Result<Vec<u8>, std::io::Error>>())),
            "/stacked" => ("gzip, br", b"left as it came".to_vec().into()),
            _ => ("identity", plain.into()),
        };
        let accept = req.headers().get(header::ACCEPT_ENCODING).cloned();
        let mut resp = Response::new(body);
        resp.headers_mut().insert(header::CONTENT_ENCODING, coding.parse().unwrap());
        if let Some(accept) = accept {
            resp.headers_mut().insert("x-accept-encoding", accept);
        }
        resp
    })
    .await
    .unwrap();
    (format!("http://{}", server.local_addr().unwrap()), server.start())
}

#[test]
fn gzip_deflate_and_brotli_bodies_are_decoded_and_their_headers_go() {
    run(async {
        let (base, handle) = compressing_server().await;
        let client = Client::new();
        for coding in ["gzip", "x-gzip", "deflate", "br", "gzip-chunked"] {
            let resp = client.get(&format!("{base}/{coding}")).await.unwrap();
            assert_eq!(resp.headers()["x-accept-encoding"], "gzip, deflate, br", "{coding}");
            assert!(!resp.headers().contains_key(header::CONTENT_ENCODING), "{coding}");
            assert!(!resp.headers().contains_key(header::CONTENT_LENGTH), "{coding}: it was the compressed length");
            assert_eq!(resp.text().await.unwrap(), text(), "{coding}");
        }
        // Chunk by chunk too: decoded pieces, the whole text in order.
        let mut resp = client.get(&format!("{base}/br")).await.unwrap();
        let mut got = Vec::new();
        while let Some(chunk) = resp.chunk().await.unwrap() {
            got.extend_from_slice(&chunk);
        }
        assert_eq!(got, text().as_bytes());
        let body = client.get(&format!("{base}/two-members")).await.unwrap().text().await.unwrap();
        assert_eq!(body, "first second", "every gzip member");
        assert_eq!(client.idle_connections(), 1, "decoded bodies still give their connection back");
        handle.stop();
    });
}

/// The issue's edge case: a compressed body that is corrupt fails with a
/// clear error, not garbage and not a panic.
#[test]
fn a_corrupt_compressed_body_gives_a_clear_error() {
    run(async {
        let (base, handle) = compressing_server().await;
        let client = Client::new();
        for path in ["/corrupt", "/truncated"] {
            let resp = client.get(&format!("{base}{path}")).await.unwrap();
            assert_eq!(resp.status(), 200);
            let err = resp.text().await.unwrap_err();
            assert!(err.is_decode(), "{path}: {err}");
            assert!(err.to_string().starts_with("the gzip body of a 200 OK response does not decode"), "{path}: {err}");
        }
        // The client is fine afterwards.
        assert_eq!(client.get(&format!("{base}/gzip")).await.unwrap().text().await.unwrap(), text());
        handle.stop();
    });
}

#[test]
fn empty_stacked_and_unasked_bodies_pass_through() {
    run(async {
        let (base, handle) = compressing_server().await;
        let client = Client::new();
        // No bytes at all under `Content-Encoding: gzip`: an empty body.
        assert_eq!(client.get(&format!("{base}/empty-gzip")).await.unwrap().text().await.unwrap(), "");
        let resp = client.head(&format!("{base}/gzip")).await.unwrap();
        assert_eq!(resp.headers()[header::CONTENT_ENCODING], "gzip", "nothing decoded, headers kept");
        assert_eq!(resp.text().await.unwrap(), "");
        // Two codings stacked: left alone, headers and all.
        let resp = client.get(&format!("{base}/stacked")).await.unwrap();
        assert_eq!(resp.headers()[header::CONTENT_ENCODING], "gzip, br");
        assert_eq!(resp.text().await.unwrap(), "left as it came");
        // A Range request does not ask for compression (a slice of
        // compressed bytes does not decode alone); the caller's own
        // Accept-Encoding is kept as is.
        let resp = client.get(&format!("{base}/plain")).header(header::RANGE, "bytes=0-9").await.unwrap();
        assert!(!resp.headers().contains_key("x-accept-encoding"));
        let resp = client.get(&format!("{base}/plain")).header(header::ACCEPT_ENCODING, "identity").await.unwrap();
        assert_eq!(resp.headers()["x-accept-encoding"], "identity");
        handle.stop();
    });
}

#[test]
fn no_decompression_leaves_the_body_as_sent() {
    run(async {
        let (base, handle) = compressing_server().await;
        let client = Client::builder().no_decompression().build();
        let resp = client.get(&format!("{base}/gzip")).await.unwrap();
        assert!(!resp.headers().contains_key("x-accept-encoding"), "nothing asked for");
        assert_eq!(resp.headers()[header::CONTENT_ENCODING], "gzip");
        let length: usize = resp.headers()[header::CONTENT_LENGTH].to_str().unwrap().parse().unwrap();
        let body = resp.bytes().await.unwrap();
        assert_eq!(body.len(), length);
        assert_eq!(&body[..], &gzip(text().as_bytes())[..]);
        handle.stop();
    });
}
