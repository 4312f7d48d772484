//! tokio-bound crates on sprout: `sprout::compat` (the facade's `tokio`
//! feature).
//!
//! reqwest, sqlx, redis, tonic, the AWS SDK and tower-http's timeouts call
//! `tokio::spawn`, open `tokio::net` sockets or sleep on `tokio::time`,
//! and each of those panics ("there is no reactor running") off a tokio
//! runtime. Wrap the future that calls them, and they work on a sprout task:
//!
//! - [`Tokio`]`::new(future)`, or `future.`[`compat()`](CompatExt::compat):
//!   the future is polled on the sprout task itself, inside the context of
//!   one shared tokio runtime that runs on threads of its own (the *side
//!   runtime*). Sockets and timers the future creates belong to that
//!   runtime; its thread drives them and wakes the sprout task (sprout's
//!   wakers may be woken from any thread). `tokio::spawn` inside lands on
//!   the side runtime. sprout's loop never blocks: it waits for the wake
//!   like for any other.
//! - [`Tokio`] on an I/O object turns tokio's `AsyncRead`/`AsyncWrite`
//!   into futures-io's, and back; on a tower service ([`TokioLayer`]) it
//!   runs the middleware in the context.
//! - [`Builder`] and [`set_handle`] configure the side runtime before its
//!   first use (worker threads, or a runtime of your own); [`handle`]
//!   reaches it (spawn on it, read its metrics).
//!
//! ```
//! use std::time::Duration;
//! use sprout::compat::CompatExt;
//!
//! sprout::run(async {
//!     let ticker = sprout::spawn(async {
//!         sprout::sleep(Duration::from_millis(1)).await;
//!         "sprout's loop kept running"
//!     });
//!     // A tokio timer and a tokio task, awaited from a sprout task.
//!     let slept = async {
//!         tokio::time::sleep(Duration::from_millis(20)).await;
//!         tokio::spawn(async { "spawned on the side runtime" }).await.unwrap()
//!     }
//!     .compat()
//!     .await;
//!     assert_eq!(slept, "spawned on the side runtime");
//!     assert_eq!(ticker.await.unwrap(), "sprout's loop kept running");
//! });
//! ```
//!
//! # The contract
//! - **Which runtime.** The side runtime starts on the first [`Tokio`] made
//!   (or [`handle`] call): tokio's multi-thread scheduler with one worker
//!   thread named `sprout-compat`, unless [`Builder::install`] or
//!   [`set_handle`] said otherwise before. Every wrapped value enters it,
//!   whatever runtime (if any) the polling thread belongs to; pass a
//!   handle to [`Tokio::with_handle`] for another.
//! - **Any executor.** Polling a wrapped future needs no sprout runtime:
//!   it works the same under `futures::executor::block_on`, smol, or a
//!   plain thread, because all it needs is a waker that works from another
//!   thread. There is nothing to refuse outside sprout.
//! - **Drops.** A wrapped future dropped mid-way (its sprout task killed,
//!   a `timeout` expired) is dropped inside the context: its sockets are
//!   deregistered and its timers cancelled at once, and a destructor that
//!   calls `tokio::spawn` works. Tokio tasks it spawned are not its
//!   resources: as under tokio, they run on unless aborted.
//! - **Panics.** A tokio task that panics fails its `JoinHandle` with a
//!   `JoinError` and the side runtime goes on, as on tokio. A wrapped
//!   future that panics fails its sprout task (`JoinError::Panicked`); the
//!   context is left on the way out. A runtime given by [`set_handle`] or
//!   [`Tokio::with_handle`] that shuts down wakes everything waiting on
//!   it: its sockets return errors, its timers panic, spawns are
//!   cancelled, so a sprout task ends with an error instead of hanging.
//!   The side runtime sprout starts never shuts down (below).
//! - **Exit.** The side runtime is never dropped and nobody joins its
//!   threads, so it never keeps the process alive or delays its exit: when
//!   `main` returns the process ends, and tokio tasks still in flight end
//!   with it, without running their destructors (as any thread's work at
//!   `exit`). Finish or await what must finish (a flush, a graceful close)
//!   before `main` returns.
//!
//! # Hazards
//! - **Wrap what creates the tokio value.** `tokio::time::sleep(d).compat()`
//!   panics: `sleep` builds its timer when called, before the wrapper
//!   exists. Wrap an `async` block (`async { tokio::time::sleep(d).await
//!   }.compat()`) or an `async fn`'s future (which does nothing until
//!   polled), and build tokio-bound values (clients, pools, listeners)
//!   inside a wrapped future when their constructor may touch tokio.
//! - **Blocking inside.** A wrapped future runs on sprout's thread:
//!   `Runtime::block_on`, `Handle::block_on`, `block_in_place` or a
//!   blocking call inside it stall every sprout task (use
//!   `tokio::task::spawn_blocking` inside, or `sprout::spawn_blocking`).
//! - **A stuck worker.** One worker drives every bridged socket and timer;
//!   a tokio task spawned from a bridged future that blocks that worker
//!   stalls every bridged future. Give CPU-heavy tokio tasks more workers
//!   ([`Builder::worker_threads`]) or `spawn_blocking`.
//! - **`spawn_local`** needs a `LocalSet`, which the side runtime does not
//!   run: use `sprout::spawn` for `!Send` work.
//! - **Cost.** Each readiness event is a cross-thread wake (the side
//!   runtime's thread writes sprout's eventfd): a few microseconds, fine for
//!   a database driver, an SDK or an HTTP client, not for a per-byte loop.
//!   docs/benchmarks.md has the measured overhead (reqwest through the
//!   bridge against reqwest on tokio).

#![warn(missing_docs)]

mod bridge;
mod io;
mod service;
mod side;

pub use bridge::{CompatExt, Tokio};
pub use service::TokioLayer;
pub use side::{Builder, ConfigError, THREAD_NAME, handle, set_handle};
