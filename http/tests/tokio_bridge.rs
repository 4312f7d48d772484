//! The recipe of docs/ecosystem.md for a crate bound to tokio: a tokio
//! runtime on a side thread runs the tokio-bound futures, and sprout's
//! thread-safe `AsyncResult` carries each result back to the green task
//! that asked for it. Here the "tokio-bound crate" is tokio's own TCP and
//! timers, talking HTTP to a sprout server.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sprout_http::{Body, Response, Server};
use sprout_runtime::sync::threadsafe::AsyncResult;
use support::run;

/// A tokio runtime on its own thread.
struct TokioSide {
    handle: tokio::runtime::Handle,
}

impl TokioSide {
    fn start() -> TokioSide {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            tx.send(runtime.handle().clone()).unwrap();
            // Runs the spawned futures until the process ends.
            runtime.block_on(std::future::pending::<()>());
        });
        TokioSide { handle: rx.recv().unwrap() }
    }

    /// Runs `future` on the tokio thread; the calling green task waits
    /// (other tasks run meanwhile) for its output.
    async fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let result = Arc::new(AsyncResult::<F::Output, ()>::new());
        let done = result.clone();
        self.handle.spawn(async move { done.set(Ok(future.await)) });
        result.wait().await;
        result.take().expect("set before wait returned").expect("set with Ok")
    }
}

/// A tokio-only HTTP/1.0 GET, standing in for a crate that needs tokio.
async fn tokio_get(addr: std::net::SocketAddr, path: String) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tokio::time::sleep(Duration::from_millis(5)).await; // tokio's timer works too
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes()).await?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await?;
    Ok(reply)
}

#[test]
fn a_tokio_bound_future_runs_on_a_side_thread_and_its_result_comes_back() {
    let tokio = Arc::new(TokioSide::start());
    run(async move {
        let server = Server::bind("127.0.0.1:0", |req: sprout_http::Request<sprout_http::Incoming>| async move {
            Response::new(Body::from(format!("sprout served {}", req.uri().path())))
        })
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        // Several green tasks each wait on tokio work; the sprout server
        // keeps answering meanwhile (it runs on this thread).
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let tokio = tokio.clone();
                sprout_runtime::spawn(async move { tokio.run(tokio_get(addr, format!("/{i}"))).await })
            })
            .collect();
        for (i, reply) in sprout_runtime::joinall(tasks).await.into_iter().enumerate() {
            let reply = reply.unwrap().unwrap();
            assert!(reply.starts_with("HTTP/1.0 200 OK"), "{reply}");
            assert!(reply.ends_with(&format!("sprout served /{i}")), "{reply}");
        }
        handle.stop();
    });
}
