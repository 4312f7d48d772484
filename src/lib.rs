//! # sprout: gevent for Rust
//!
//! An app spawns thousands of cheap green tasks on one OS thread; each task
//! yields to the others whenever it would block on a socket, a sleep, a
//! lock or a queue. Tasks need not be `Send`: everything runs on the
//! thread that called [`run`].
//!
//! ```
//! use std::time::Duration;
//!
//! async fn eat() -> &'static str {
//!     println!("eat food 1");
//!     sprout::sleep(Duration::from_millis(20)).await; // switches to play()
//!     println!("eat food 2");
//!     "full"
//! }
//!
//! async fn play() -> &'static str {
//!     println!("play phone 1");
//!     sprout::sleep(Duration::from_millis(10)).await;
//!     println!("play phone 2");
//!     "bored"
//! }
//!
//! sprout::run(async {
//!     let g1 = sprout::spawn(eat());
//!     let g2 = sprout::spawn(play());
//!     sprout::yield_now().await; // both run up to their sleep
//!     // Both sleep at once, on this one thread: about 20 ms in all, not 30.
//!     assert!(!g1.is_finished() && !g2.is_finished());
//!     let results = sprout::joinall([g1, g2]).await;
//!     assert_eq!(results[0].as_ref().unwrap(), &"full");
//!     assert_eq!(results[1].as_ref().unwrap(), &"bored");
//! });
//! ```
//!
//! ## Where things are
//! | you want | gevent / Python | sprout |
//! | --- | --- | --- |
//! | start the loop | `gevent.wait()`, the hub | [`run`], [`Runtime`] |
//! | a green task | `gevent.spawn`, `Greenlet` | [`spawn`], [`JoinHandle`] |
//! | wait for many | `joinall`, `iwait`, `killall` | [`joinall`], [`iwait`], [`killall`] |
//! | tasks that end with their block (and borrow from it) | trio's nursery, `asyncio.TaskGroup` | [`scope()`] |
//! | a set of tasks, results as they finish | `Group`, tokio's `JoinSet` | [`pool::Group::collecting`] |
//! | sleep, switch | `gevent.sleep(d)`, `sleep(0)` | [`sleep`], [`yield_now`] |
//! | time limits | `gevent.Timeout` | [`timeout`]; for everything beneath: [`deadline`], [`deadline_after`] |
//! | asking work to stop | — (Go's `context`, tokio-util's `CancellationToken`) | [`CancelToken`] |
//! | the first of several futures | — (tokio's `select!`) | [`select!`] |
//! | wait on objects | `gevent.wait(objects)`, `iwait(objects)` | [`wait_any`], [`wait_objects`], [`iwait_objects`] |
//! | events and locks | `gevent.event`, `threading` | [`sync`] |
//! | read-write locks, once cells, notify, broadcast and watch channels | tokio's `sync` | [`sync::RwLock`], [`sync::OnceCell`], [`sync::Notify`], [`sync::broadcast`], [`sync::watch`] |
//! | queues and channels | `queue`, `gevent.queue` | [`queue`] |
//! | the same with OS threads | `threading` + `queue` | [`sync::threadsafe`], [`queue::threadsafe`] |
//! | readiness I/O | `gevent.socket.wait_read` | [`io`] |
//! | sockets, DNS | `gevent.socket`, `monkey.patch_socket` | [`net`] |
//! | servers | `gevent.server.StreamServer`, `DatagramServer` | [`net::StreamServer`], [`net::DatagramServer`] |
//! | signals | `gevent.signal_handler` | [`signal`] |
//! | child processes | `subprocess`, `gevent.subprocess` | [`process`] |
//! | `time.sleep` under monkey | `monkey.patch_time` | [`thread::sleep`] |
//! | pools of green tasks | `gevent.pool.Pool`, `Group` | [`pool::Pool`], [`pool::Group`] |
//! | thread and process pools | `concurrent.futures`, `multiprocessing.Pool` | [`blocking::ThreadPool`]; real processes: [`process`] |
//! | a blocking call | `gevent.threadpool` | [`spawn_blocking`] |
//! | tests: an async test, virtual time, seeded schedules | — | [`test`], [`time::pause`], [`testing::check_seeds`] |
//! | files | `FileObjectThread` | [`fs`] |
//! | an HTTP server (feature `http`) | `gevent.pywsgi.WSGIServer` | `http::Server`, `http::serve` |
//! | an axum app or tower service (feature `tower`) | a WSGI app | `http::serve_tower`, `http::Server::bind_tower` |
//! | an HTTP client (feature `http`) | `requests` under gevent | `http::Client` |
//! | TLS (feature `tls`) | `gevent.ssl` | `tls`, `http::serve_tls` |
//! | WebSockets (feature `ws`) | gevent-websocket | `ws` |
//! | tokio-bound crates (feature `tokio`) | — | `compat` |
//!
//! The guide in `docs/` has the full porting tables; `docs/seeds.md` puts
//! each program of the Python tutorials next to its example.
//!
//! ## Modules
//! - Tasks and waiting, at the crate root: [`run`], [`spawn`],
//!   [`spawn_later`], [`JoinHandle`], [`joinall`], [`iwait`], [`killall`],
//!   [`wait`], [`sleep`], [`timeout`], [`interval`], [`yield_now`],
//!   [`current`], [`Handle`], [`spawn_blocking`]; [`task`] for task-locals
//!   and graceful kills; [`Runtime`] and [`Builder`] for the settings.
//! - [`scope()`] and [`mod@scope`]: structured concurrency, child tasks that
//!   end with their block and may borrow from it (docs/structured.md);
//!   around them [`CancelToken`], [`deadline`] and [`current_deadline`],
//!   [`select!`], and [`wait_any`], [`wait_objects`], [`iwait_objects`]
//!   over anything [`Waitable`].
//! - [`time`]: the clock, deadlines, virtual time ([`time::pause`]).
//! - [`sync`]: `Event`, `AsyncResult`, `Lock`, `RLock`, `Semaphore`,
//!   `BoundedSemaphore`, `Condition`, `Barrier`; `RwLock`, `OnceCell`,
//!   `Lazy`, `Notify`, `CancelToken`; the `broadcast` and `watch` channels.
//! - [`queue`]: `Queue` (joinable), `LifoQueue`, `PriorityQueue`, `Channel`.
//! - [`pool`]: `Group` and `Pool` of green tasks; [`blocking`]: the
//!   `ThreadPool` and the blocking pool under [`spawn_blocking`]; [`fs`]:
//!   files on it.
//! - [`net`]: TCP, UDP and Unix sockets, DNS, `StreamServer`,
//!   `DatagramServer`; [`io`]: readiness on any descriptor; [`signal`];
//!   [`process`]: child processes; [`thread`]: `sleep` and `yield_now`
//!   under std's names.
//! - [`cores`]: one runtime per core, with handles and a cross-core channel.
//! - [`task::coop`]: the per-poll operation budget.
//! - [`testing`] and the [`test`] and [`main`] attributes: deterministic tests.
//! - `http`, `tls`, `ws`, `compat`: behind the features below.
//!
//! ## Cargo features
//! None is on by default; the runtime, the network layer, the pools and
//! the processes need no feature.
//!
//! | feature | turns on | implies |
//! | --- | --- | --- |
//! | `http` | `sprout::http`: the HTTP/1.1 `Server` and `Client` on hyper 1.x, `Body`, hyper's runtime traits (`http::rt`) | |
//! | `http2` | HTTP/2 in the server (prior knowledge in cleartext, ALPN `h2` under TLS) and the client | `http` |
//! | `tls` | `sprout::tls` (rustls with the ring provider): configurations, `connect`, `accept`; `http::serve_tls`; `https://` in the `Client` (Mozilla roots from webpki-roots) | `http` |
//! | `ws` | `sprout::ws`: WebSockets through async-tungstenite, server and client | `http` |
//! | `hyper-util` | `sprout::http::connector`: a connector for hyper-util's pooled legacy `Client` (the engine under reqwest) | `http` |
//! | `json` | `RequestBuilder::json` and `Response::json` in the `Client` (serde, serde_json) | `http` |
//! | `gzip`, `deflate`, `brotli`, `compression` (all three) | the `Client` decodes compressed responses (async-compression) | `http` |
//! | `tower` | `sprout::http::tower`: tower services on the server, an axum `Router` among them (`http::serve_tower`, `Server::bind_tower`), with no tokio runtime; `http::TimeoutLayer` on sprout's timer | `http` |
//! | `tokio` | `sprout::compat`: tokio-bound crates (reqwest, redis, sqlx, tower-http) on green tasks, through a side tokio runtime | |
//!
//! ```toml
//! [dependencies]
//! sprout = { path = "../sprout", features = ["http", "tls"] }
//! ```

#![warn(missing_docs)]

// The API is what this file names: each item once, under the path users
// write (docs/architecture.md, "The facade"; the list is checked against
// docs/public-api.txt by .ci/public_api.py). The runtime's internals for
// its sibling crates (`sprout_runtime::__net`) and its test probes are not
// re-exported.

// Tasks, waiting, time and the runtime, at the root as gevent has them.
pub use sprout_runtime::{
    Builder, CancelToken, Deadline, Elapsed, Handle, Interval, Iwait, IwaitObjects, JoinAll, JoinError, JoinHandle,
    JoinSome, Joined, MakeFuture, PanicPolicy, ReadyFuture, RemoteJoinHandle, Runtime, RuntimeGone, Sleep, TaskId,
    TaskInfo, TryJoinError, Wait, WaitAny, WaitObjects, Waitable, current, current_deadline, deadline, deadline_after,
    dump, interval, iwait, iwait_objects, joinall, killall, metrics, run, sleep, sleep_until, spawn, spawn_blocking,
    spawn_later, task_local, timeout, wait, wait_any, wait_objects, yield_now,
};
// The runtime's modules whose every public item is API. `scope` is both the
// function and its module.
pub use sprout_runtime::{blocking, cores, fs, observe, pool, scope, sync, task, testing, time};

/// What `select!` expands to (`sprout::__private::select_poll`). Not API.
#[doc(hidden)]
pub use sprout_runtime::__private;

/// Queues between green tasks: Python's `queue` module and `gevent.queue`.
///
/// - [`Queue`](queue::Queue) (alias [`JoinableQueue`](queue::JoinableQueue)):
///   first in, first out, with an optional `maxsize` (0: unbounded).
/// - [`LifoQueue`](queue::LifoQueue): last in, first out.
/// - [`PriorityQueue`](queue::PriorityQueue): smallest item first, as
///   Python's (a min-heap).
/// - [`Channel`](queue::Channel): no buffer; a put waits for a get
///   (`gevent.queue.Channel`).
/// - [`threadsafe`](queue::threadsafe): the same four, shared with plain
///   OS threads (`put_blocking`, `get_blocking`, `iter_blocking`).
///
/// All have the same methods, documented on each type's page:
/// `put(item).await`, `get().await`, `put_nowait`, `get_nowait`,
/// `put_timeout`, `get_timeout`, `qsize`, `empty`, `full`, `peek`,
/// `task_done`, `join().await`, `close`, and `stream()`
/// (`docs/porting-sync.md` has the table from Python's names). The local
/// queues are `!Send`: share them in an `Rc`.
///
/// # The contract
/// - **Order.** Items come out in the buffer's order; waiting getters and
///   waiting putters are each served in arrival order.
/// - **Hand-off.** A put while getters wait gives its item straight to the
///   longest-waiting getter; a get that makes room moves the
///   longest-waiting putter's item into the buffer. A task arriving later
///   cannot take an item or a free slot meant for a waiter.
/// - **Cancellation.** Dropping a `get` future (a `timeout`, a `select!`, a
///   killed task) loses nothing: an item it had been handed goes to the
///   next waiting getter, or back to the front of the queue. Dropping a
///   waiting `put` drops its item with it, unless a getter already took it;
///   `put_timeout` hands the item back instead.
/// - **Closing.** After `close`, puts fail and hand their item back
///   (waiting putters too); getters take what is left, then get
///   [`Closed`](queue::Closed).
/// - **Fairness to the loop.** Each `put` and `get` spends one unit of the
///   task's budget ([`task::coop`]), so a task draining a queue that is never
///   empty still lets the others run.
///
/// ```
/// use std::rc::Rc;
/// use sprout::queue::Queue;
///
/// sprout::run(async {
///     let q = Rc::new(Queue::new(2)); // at most 2 items waiting
///     let consumer = sprout::spawn({
///         let q = q.clone();
///         async move {
///             let mut total = 0;
///             while let Ok(n) = q.get().await {
///                 total += n;
///                 q.task_done().unwrap();
///             }
///             total
///         }
///     });
///     for n in 1..=10 {
///         q.put(n).await.unwrap(); // waits while 2 items are queued
///     }
///     q.join().await; // every item was processed
///     q.close();
///     assert_eq!(consumer.await.unwrap(), 55);
/// });
/// ```
pub mod queue {
    pub use sprout_runtime::queue::{
        Channel, Closed, Get, GetError, Items, Join, JoinableQueue, LifoQueue, PriorityQueue, Put, PutError,
        PutTimeout, Queue, Readiness, TaskDoneError,
    };

    /// Thread-safe queues: the same API as the runtime-local ones, plus
    /// blocking calls for plain OS threads.
    ///
    /// A green task and an OS thread (say, a worker of a thread pool) can
    /// share one of these queues through an `Arc`: the task awaits
    /// `put`/`get`, the thread calls `put_blocking` / `get_blocking`, and
    /// either side may be the one that waits. The `*_blocking` methods
    /// panic inside a sprout runtime (they would stall every green task on
    /// its thread). A green task waiting on one of these queues does not
    /// keep [`sprout::wait()`](crate::wait) waiting.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sprout::queue::threadsafe::Queue;
    ///
    /// sprout::run(async {
    ///     let jobs = Arc::new(Queue::new(4));
    ///     let worker = std::thread::spawn({
    ///         let jobs = jobs.clone();
    ///         move || jobs.iter_blocking().sum::<u64>()
    ///     });
    ///     for n in 1..=5u64 {
    ///         jobs.put(n).await.unwrap(); // a green task waits without blocking the loop
    ///     }
    ///     jobs.close();
    ///     assert_eq!(worker.join().unwrap(), 15);
    /// });
    /// ```
    pub mod threadsafe {
        pub use sprout_runtime::queue::threadsafe::{
            Channel, Get, Items, IterBlocking, Join, JoinableQueue, LifoQueue, PriorityQueue, Put, PutTimeout, Queue,
            Readiness,
        };
    }
}

/// Runs an `async fn` test on a fresh runtime; options `paused`,
/// `auto_advance = false`, `seed = N` (see [`testing`] and docs/debugging.md).
///
/// ```
/// # mod wrap {
/// use std::time::Duration;
///
/// #[sprout::test(paused)]
/// async fn an_hour_in_no_time() {
///     let start = sprout::time::now();
///     sprout::sleep(Duration::from_secs(3600)).await;
///     assert!(sprout::time::now() - start >= Duration::from_secs(3600));
/// }
/// # }
/// ```
///
/// Bad options are compile errors:
///
/// ```compile_fail
/// #[sprout::test(pause)] // unknown option `pause`
/// async fn t() {}
/// ```
///
/// ```compile_fail
/// #[sprout::test(seed = "seven")] // the seed must be an integer literal
/// async fn t() {}
/// ```
///
/// ```compile_fail
/// #[sprout::test] // needs an `async fn`
/// fn t() {}
/// ```
pub use sprout_macros::test;

/// Runs `async fn main` on a sprout runtime, as [`run`] does.
///
/// ```
/// #[sprout::main]
/// async fn main() {
///     sprout::sleep(std::time::Duration::from_millis(1)).await;
/// }
/// ```
pub use sprout_macros::main;

/// Waits on several futures at once, runs the branch of the first to
/// complete, and drops the others: tokio's `select!`, with sprout's rules.
///
/// ```text
/// select! {
///     biased;                                   // optional: poll the branches in order
///     <pattern> = <future> [, if <guard>] => <handler>,
///     ...
///     else => <handler>,                        // optional: when every branch is disabled
/// }
/// ```
///
/// - **Futures by value**: each branch takes any future (an `async`
///   block, `queue.get()`, `sleep(d)`, a `JoinHandle`), evaluated once, in
///   order, and pinned inside the macro: no `pin!`, no `fuse()`, no
///   `FusedFuture` bound.
/// - **Unbiased**: each poll starts at a pseudo-random branch, so a branch
///   that is always ready cannot starve the others. The pick comes from
///   the runtime's generator: under `Builder::seed` (or
///   `#[sprout::test(seed = N)]`) the same seed makes the same picks, and a
///   seeded schedule replays. `biased;` polls the branches in the order
///   written instead (and costs no pick).
/// - **Patterns**: when a future completes with a value its pattern does
///   not match, the branch is disabled and the wait goes on.
///   `, if <guard>` disables a branch before anything is polled (the
///   guards run first, then the futures are made). When every branch is
///   disabled, the `else` handler runs; without one, `select!` panics.
/// - **Cancellation: the losers are dropped**, before the winning handler
///   runs, so the handler may use what they borrowed. A loser that was
///   waiting on a sprout primitive leaves its line as any dropped wait
///   does: a queue item it was handed goes to the next getter, a lock to
///   the next waiter (`sync` module docs, "Fairness and cancellation").
///   Work a loser had done is lost with it, as with any dropped future:
///   select on waits, not on half-done transactions.
/// - Handlers run outside the wait: `.await`, `?`, `return`, `break` and
///   `continue` in them act on the enclosing function or loop. The value
///   of `select!` is the handler's value.
///
/// ```
/// use std::time::Duration;
/// use sprout::queue::Queue;
///
/// sprout::run(async {
///     let jobs: Queue<u32> = Queue::new(0);
///     let stop = sprout::CancelToken::new();
///     jobs.put_nowait(7).unwrap();
///     let mut done = Vec::new();
///     loop {
///         sprout::select! {
///             Ok(job) = jobs.get() => done.push(job),
///             _ = stop.cancelled() => break,
///             _ = sprout::sleep(Duration::from_millis(5)) => stop.cancel(), // idle: stop
///         }
///     }
///     assert_eq!(done, [7]);
/// });
/// ```
///
/// `tokio::select!` code ports as is (`biased;`, guards, `else`); for
/// `futures::select!`, drop the `.fuse()` calls and the `pin_mut!`s.
pub use sprout_macros::select;

/// Networking: `std::net`, only async (sprout-net).
///
/// Change `use std::net::…` to `use sprout::net::…` and add `.await`:
/// the types and methods are the same, and whatever would block switches
/// to another green task instead. Also here: gevent's servers
/// ([`StreamServer`](net::StreamServer), [`DatagramServer`](net::DatagramServer)),
/// Unix sockets and [`lookup_host`](net::lookup_host).
///
/// ```
/// use sprout::net::{TcpListener, TcpStream};
///
/// sprout::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
///     let (server, _) = listener.accept().await.unwrap();
///     client.write_all(b"hi").await.unwrap();
///     let mut buf = [0; 2];
///     server.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"hi");
/// });
/// ```
///
/// One stream can serve two tasks: its methods take `&self`, so share it in
/// an `Rc`. The futures-io traits (`AsyncRead`, `AsyncWrite`) are
/// implemented for `TcpStream` and `&TcpStream`, so a helper such as
/// `BufReader` takes `&*rc`:
///
/// ```
/// use std::rc::Rc;
/// use futures::io::{AsyncBufRead, BufReader};
/// use sprout::net::TcpStream;
///
/// fn lines_of(stream: &Rc<TcpStream>) -> impl AsyncBufRead + '_ {
///     BufReader::new(&**stream)
/// }
/// # let _ = lines_of;
/// ```
///
/// The `Rc` itself is not `AsyncRead`; for an owned reader or writer, use
/// [`TcpStream::split`](net::TcpStream::split) (docs/net.md, "Sharing a
/// stream between tasks"):
///
/// ```compile_fail
/// use std::rc::Rc;
/// use futures::io::{AsyncBufRead, BufReader};
/// use sprout::net::TcpStream;
///
/// fn lines_of(stream: &Rc<TcpStream>) -> impl AsyncBufRead + '_ {
///     BufReader::new(stream.clone()) // error: `Rc<TcpStream>` is not `AsyncRead`
/// }
/// ```
pub mod net {
    pub use sprout_net::{
        AddrParseError, DatagramServer, IpAddr, Ipv4Addr, Ipv6Addr, ServerHandle, Shutdown, SocketAddr, SocketAddrV4,
        SocketAddrV6, StreamServer, TcpListener, TcpListenerBuilder, TcpStream, ToSocketAddrs, UdpSocket, UnixDatagram,
        UnixListener, UnixStream, is_peer_error, lookup_host, raise_fd_limit, server, tcp, udp, unix,
    };
}
pub use sprout_net::io;
/// Child processes: `std::process`, only async (`gevent.subprocess`,
/// `tokio::process`).
///
/// - [`Command`](process::Command): what to run (program, arguments, environment, working
///   directory, stdio), then [`spawn`](process::Command::spawn),
///   [`status`](process::Command::status) or [`output`](process::Command::output).
/// - [`Child`](process::Child): a running child: [`wait`](process::Child::wait),
///   [`try_wait`](process::Child::try_wait), [`kill`](process::Child::kill),
///   [`terminate`](process::Child::terminate), [`stop`](process::Child::stop),
///   [`wait_with_output`](process::Child::wait_with_output), [`id`](process::Child::id).
/// - [`ChildStdin`](process::ChildStdin), [`ChildStdout`](process::ChildStdout), [`ChildStderr`](process::ChildStderr): its pipes as async
///   streams (std-shaped `read` / `write_all` methods and the `futures-io`
///   traits), registered with the reactor.
/// - [`Stdio`](process::Stdio), [`ExitStatus`](process::ExitStatus), [`Output`](process::Output): std's, re-exported.
///
/// ```
/// use futures_util::io::{AsyncBufReadExt, BufReader};
/// use futures_util::StreamExt;
/// use sprout::process::{Command, Stdio};
///
/// sprout::run(async {
///     let mut child = Command::new("sh").arg("-c").arg("for i in 1 2 3; do echo line $i; done")
///         .stdout(Stdio::piped())
///         .spawn()
///         .unwrap();
///     // Each line as the child writes it; other green tasks run meanwhile.
///     let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
///     let mut n = 0;
///     while let Some(line) = lines.next().await {
///         n += 1;
///         assert_eq!(line.unwrap(), format!("line {n}"));
///     }
///     assert!(child.wait().await.unwrap().success());
/// });
/// ```
///
/// # The contract
/// - Spawning is a plain call, as in std: it returns once the system has
///   started the program (or failed to), which takes tens to hundreds of
///   microseconds during which the loop does not turn. Everything after
///   that waits cooperatively: while a child runs, reads or writes its
///   pipes, other green tasks run.
/// - Create and use children inside a sprout runtime. Outside one, `spawn`
///   fails with an error; a `Child` used in another runtime than its own
///   fails its waits with an error (it never panics).
/// - Every wait ([`Child::wait`](process::Child::wait), a pipe's `read`, `write`) is
///   cancellation-safe but `read_exact`, `write_all` and the `_to_end`
///   reads: dropping it (on a [`timeout`], say)
///   leaves the child and its pipes as they were, and a later wait works.
/// - Errors name their cause: a program that does not exist, a working
///   directory that does not exist (`NotFound`, with the name in the
///   message), a pipe whose child end is closed (`BrokenPipe` on write).
///
/// # Waiting without a thread: an exit descriptor, then `SIGCHLD`
/// Each child gets an *exit descriptor*, a file descriptor that turns
/// readable when the child exits: a pidfd (`pidfd_open(2)`) on Linux 5.3
/// and later, a kqueue watching the pid (`EVFILT_PROC`, `NOTE_EXIT`) on
/// macOS and FreeBSD. It is registered with the reactor like a socket, so
/// a wait costs no thread, no signal handler and no polling: one event,
/// then one `waitpid` on that pid.
///
/// Where there is none (older Linux kernels: `ENOSYS`; other Unixes) or it
/// is forbidden (a seccomp filter, some container runtimes: `EPERM`),
/// sprout falls back to `SIGCHLD`, through [`sprout::signal`](crate::signal):
/// every waiting child wakes on every `SIGCHLD` and asks `waitpid` about its
/// own pid. It is correct, and costs each waiting child one `waitpid` per
/// child exit in the process. The decision is made once per process;
/// setting `SPROUT_PROCESS_WAIT=sigchld` in the environment forces the
/// fallback.
///
/// # Zombies and dropped children
/// A process that exits stays a zombie until its parent waits for it.
/// Dropping a [`Child`](process::Child) does not wait (as in std), but the runtime reaps the
/// process for you when it exits: a small green task waits on its exit
/// descriptor (or `SIGCHLD`), on the loop turn after the child exits.
///
/// - That task counts as pending I/O: [`sprout::wait()`](crate::wait)
///   waits for dropped children to exit. Use [`Command::kill_on_drop`](process::Command::kill_on_drop) (or
///   kill them) if they should not run on.
/// - If the runtime is gone (the `Child` is dropped after it, or the runtime
///   shuts down while the child still runs), the child is put on a
///   process-wide list, reaped by the next [`Command::spawn`](process::Command::spawn) from any
///   runtime on any thread (a child still running then is handed to that
///   runtime's reaper). A process that never spawns again keeps such
///   zombies until it exits; then init reaps them.
/// - [`Command::kill_on_drop`](process::Command::kill_on_drop)`(true)` sends `SIGKILL` on drop (and on
///   cancelling `status` / `output`). It kills the child only, not the
///   processes the child started; to kill a whole tree, start the child in
///   its own process group (`CommandExt::process_group(0)` through
///   [`Command::as_std_mut`](process::Command::as_std_mut)) and signal the group with `libc::killpg`.
///
/// # OS caveats
/// - Linux: the pidfd path needs Linux 5.3; the `SIGCHLD` fallback works
///   on any kernel. Both are tested on every CI run.
/// - macOS and FreeBSD: the kqueue path and the `SIGCHLD` fallback compile
///   (CI type-checks them with clippy for those targets), but sprout's
///   tests run on Linux only. The kqueue path is two system calls
///   (`process/sys/kqueue.rs`); the fallback is the code tested on Linux.
///   Other Unixes take the `SIGCHLD` path.
/// - sprout reaps only its own children, each with `waitpid(pid)`. Code
///   elsewhere in the process that reaps *any* child (`waitpid(-1)`, or
///   `SIGCHLD` set to `SIG_IGN`, which makes the kernel reap them) steals
///   the exit status: `wait` then fails with `ECHILD`.
/// - `SIGPIPE`: a Rust program ignores it from `main` on (std sets
///   `SIG_IGN` before `main`), so a write to a pipe the child has closed
///   returns `io::ErrorKind::BrokenPipe` instead of killing the parent. A
///   program whose `main` is not Rust's (a library called from C), or
///   built with `-Zon-broken-pipe=kill`, must ignore `SIGPIPE` itself.
///   Children start with the default disposition restored, as with std.
/// - Signals go to the pid; once a child has been reaped sprout sends it
///   nothing more, so a recycled pid never receives a stray `kill`.
pub mod process {
    pub use sprout_process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Output, Stdio};
}
pub use sprout_runtime::signal;

/// tokio-bound crates on sprout (feature `tokio`): a future wrapped in
/// `compat::Tokio` (or `.compat()`) runs inside a shared side tokio
/// runtime's context, so reqwest, redis, sqlx or tower-http work on a green
/// task (sprout-compat). See `docs/ecosystem.md`.
#[cfg(feature = "tokio")]
pub use sprout_compat as compat;
/// HTTP on hyper 1.x (feature `http`): a server in the role of
/// `gevent.pywsgi`, a client in the role of `requests`, and hyper's runtime
/// traits on sprout. See `docs/http.md`.
///
/// - [`Server`](http::Server), [`serve`](http::serve): an HTTP/1.1 server
///   (HTTP/2 with the `http2` feature): a green task per connection,
///   keep-alive, a connection limit, graceful stop, header-read and
///   keep-alive timeouts, 500 for a handler that panics;
///   `serve_tls` with `tls`.
/// - [`Client`](http::Client) ([`client`](http::client)): per-host
///   keep-alive pools, DNS off the loop, redirects, total and read
///   timeouts, streamed bodies, `https://` with `tls`, JSON (`json`),
///   decompression (`compression`), cookies, proxies, multipart uploads.
/// - [`Body`](http::Body): the body type of both, whole or streamed.
/// - [`limits`](http::limits): the default caps on every buffer a peer can grow.
/// - [`rt`](http::rt): hyper's runtime traits on sprout, for driving hyper
///   (or any crate built on hyper's traits) by hand.
/// - `connector` (feature `hyper-util`): a connector for hyper-util's
///   pooled `Client`, the engine under reqwest.
/// - `tower` (feature `tower`): tower services on the server, an axum
///   `Router` among them (`serve_tower`, `Server::bind_tower`), with no
///   tokio runtime; `TimeoutLayer` on sprout's timer.
/// - TLS and WebSockets are `sprout::tls` and
///   `sprout::ws` (features `tls`, `ws`).
///
/// ```
/// use sprout::http::{Body, Client, Incoming, Request, Response, Server};
///
/// sprout::run(async {
///     let server = Server::bind("127.0.0.1:0", |req: Request<Incoming>| async move {
///         Response::new(Body::from(format!("you asked for {}", req.uri().path())))
///     })
///     .await
///     .unwrap();
///     let url = format!("http://{}/hello", server.local_addr().unwrap());
///     let handle = server.start();
///
///     let client = Client::new();
///     let resp = client.get(&url).await.unwrap();
///     assert_eq!(resp.status(), 200);
///     assert_eq!(resp.text().await.unwrap(), "you asked for /hello");
///     handle.stop();
/// });
/// ```
///
/// Everything runs on the runtime's thread: handlers, bodies and the
/// client need not be `Send`.
#[cfg(feature = "http")]
pub mod http {
    #[cfg(feature = "hyper-util")]
    pub use sprout_http::connector;
    #[cfg(feature = "tls")]
    pub use sprout_http::serve_tls;
    pub use sprout_http::{
        Body, BodyTooLarge, BoxError, BoxHandler, Bytes, Client, ErrorKind, Handler, Incoming, IntoResponse, Method,
        Request, Response, ServeError, Server, StatusCode, Uri, client, header, hyper, limits, remote_addr, rt, serve,
        to_bytes, to_bytes_limited,
    };
    #[cfg(feature = "tower")]
    pub use sprout_http::{MakeTower, RemoteAddr, TimeoutLayer, Tower, serve_tower, tower};
}
/// TLS through rustls (feature `tls`): configurations, `connect`, `accept`.
#[cfg(feature = "tls")]
pub use sprout_http::tls;
/// WebSockets through async-tungstenite (feature `ws`).
#[cfg(feature = "ws")]
pub use sprout_http::ws;

/// `std::thread`'s `sleep` and `yield_now`
/// for green tasks: they pause only the calling task.
///
/// ```
/// use std::time::Duration;
///
/// sprout::run(async {
///     sprout::thread::sleep(Duration::from_millis(1)).await; // was std::thread::sleep
/// });
/// ```
pub mod thread {
    pub use sprout_runtime::{sleep, yield_now};
}

/// The README's example, compiled with the doctests so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExample;

/// The structured-concurrency guide's examples, run with the doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/structured.md")]
pub struct StructuredGuide;
