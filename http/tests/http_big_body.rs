//! A 100 MB body each way through the server and the client, with memory
//! bounded: a counting allocator in this test binary records the peak of
//! live heap bytes, which must stay far below the body's size.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use sprout_http::{Body, Client, Incoming, Request, Response, Server};
use support::run;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to the system allocator with the caller's
// arguments unchanged; the counters only observe the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's obligations for `alloc` are passed on as they are.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TOTAL: usize = 100 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// 100 MB made one 64 KiB chunk at a time, as the peer asks for them.
fn generated() -> Body {
    let chunks = futures_util::stream::unfold(0usize, |sent| async move {
        (sent < TOTAL).then(|| (Ok::<_, std::io::Error>(vec![b'z'; CHUNK]), sent + CHUNK))
    });
    Body::stream(chunks)
}

/// Counts an incoming body's bytes without keeping them.
async fn count(mut body: Incoming) -> usize {
    use http_body_util::BodyExt;
    let mut total = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            total += data.len();
        }
    }
    total
}

#[test]
fn a_100_mb_body_streams_each_way_in_bounded_memory() {
    run(async {
        let server = Server::bind("127.0.0.1:0", |req: Request<Incoming>| async move {
            if req.uri().path() == "/download" {
                Response::new(generated())
            } else {
                Response::new(Body::from(count(req.into_body()).await.to_string()))
            }
        })
        .await
        .unwrap();
        let base = format!("http://{}", server.local_addr().unwrap());
        let handle = server.start();
        let client = Client::new();
        // Warm up (connection, buffers), then measure from here.
        assert_eq!(client.post(&format!("{base}/upload"), "x").await.unwrap().text().await.unwrap(), "1");
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);

        let mut resp = client.get(&format!("{base}/download")).await.unwrap();
        let mut downloaded = 0;
        while let Some(chunk) = resp.chunk().await.unwrap() {
            downloaded += chunk.len();
        }
        assert_eq!(downloaded, TOTAL);

        let uploaded = client.post(&format!("{base}/upload"), generated()).await.unwrap().text().await.unwrap();
        assert_eq!(uploaded, TOTAL.to_string());

        let peak = PEAK.load(Ordering::Relaxed) - before;
        eprintln!("peak heap growth: {peak} bytes");
        // Both ends together held a few chunks and hyper's buffers at most.
        assert!(peak < 4 * 1024 * 1024, "peak heap growth {peak} bytes for a {TOTAL}-byte body");
        handle.stop();
    });
}
