//! Which server the running handler belongs to: [`current`] and
//! [`stopping`], read from inside a handler without passing anything in.
//!
//! A connection (or datagram) task sets a thread-local pointer to its
//! server for the length of each of its polls and puts the old one back
//! after (a guard does, so a panicking handler restores it too): the
//! handler's code, and anything it polls, sees its server; another task,
//! including one the handler spawned, does not. Servers built on these
//! set it the same way around their handlers ([`with_current`]:
//! sprout-http does, for every request, HTTP/2 streams included).

use std::cell::Cell;
use std::ptr;
use std::rc::Rc;

use sprout_runtime::CancelToken;

use super::{ServerHandle, Shared};

thread_local! {
    /// The server whose handler is being polled on this thread, or null.
    static CURRENT: Cell<*const Rc<Shared>> = const { Cell::new(ptr::null()) };
}

/// The server whose handler is running: called from a connection (or
/// datagram) handler of a [`StreamServer`](super::StreamServer) or
/// [`DatagramServer`](super::DatagramServer), or from a request handler of
/// sprout-http's `Server`, its handle; `None` anywhere else (a task the
/// handler spawned included: take what it needs before spawning it).
pub fn current() -> Option<ServerHandle> {
    let shared = CURRENT.get();
    // SAFETY: non-null only while `with_shared` runs, which borrows the
    // `Rc<Shared>` it points at for that long; all on this thread.
    (!shared.is_null()).then(|| ServerHandle { shared: unsafe { (*shared).clone() } })
}

/// The [`stopping`](ServerHandle::stopping) token of the server whose
/// handler is running ([`current`]): cancelled when a graceful stop begins,
/// so that a long-lived handler (a long poll, a stream, a WebSocket) can
/// finish cleanly before the stop's deadline kills it. `None` outside a
/// handler.
///
/// ```
/// use std::time::Duration;
/// use sprout::net::{StreamServer, TcpStream, server};
///
/// sprout::run(async {
///     let server = StreamServer::bind("127.0.0.1:0", |stream: TcpStream, _| async move {
///         let stop = server::stopping().expect("inside a handler");
///         // A long poll: an answer within the hour, or at once on a stop.
///         let answer: &[u8] = match stop.run_until_cancelled(sprout::sleep(Duration::from_secs(3600))).await {
///             Some(()) => b"news",
///             None => b"bye",
///         };
///         stream.write_all(answer).await
///     })
///     .await
///     .unwrap();
///     let client = TcpStream::connect(server.local_addr().unwrap()).await.unwrap();
///     let handle = server.start();
///     while handle.connections() == 0 {
///         sprout::yield_now().await;
///     }
///     let stopped = sprout::spawn({
///         let handle = handle.clone();
///         async move { handle.stop_graceful(Duration::from_secs(60)).await }
///     });
///     let mut buf = [0; 3];
///     client.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"bye");
///     assert_eq!(stopped.await.unwrap(), 0, "it finished by itself, nothing was killed");
/// });
/// ```
pub fn stopping() -> Option<CancelToken> {
    current().map(|handle| handle.stopping())
}

/// Runs `f` with `server` as [`current`] (and so [`stopping`]): for servers
/// built on these that run their handlers outside the connection task's
/// own poll (sprout-http's HTTP/2 streams).
pub fn with_current<R>(server: &ServerHandle, f: impl FnOnce() -> R) -> R {
    with_shared(&server.shared, f)
}

/// [`with_current`] for the server's own connection tasks.
#[inline]
pub(super) fn with_shared<R>(shared: &Rc<Shared>, f: impl FnOnce() -> R) -> R {
    let _restore = Restore(CURRENT.replace(shared));
    f()
}

/// Puts the outer server back, panic or not.
struct Restore(*const Rc<Shared>);

impl Drop for Restore {
    #[inline]
    fn drop(&mut self) {
        CURRENT.set(self.0);
    }
}
