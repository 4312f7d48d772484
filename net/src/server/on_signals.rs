//! `ServerHandle::stop_on_signals`: the shutdown most servers have. The
//! first Ctrl-C (or `SIGTERM`) drains, a second one stops at once, and one
//! after the server has stopped ends the process, as if sprout had never
//! taken the signal over.
//!
//! One task listens for both signals for the rest of the program: taking
//! a signal over replaces its default action for good (see
//! [`sprout_runtime::signal`]), so a listener that went away after the drain would
//! leave a program whose shutdown hangs deaf to Ctrl-C.

use std::future::{Future, poll_fn};
use std::io;
use std::os::raw::c_int;
use std::panic::Location;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use sprout_runtime::task;

use super::ServerHandle;
use sprout_runtime::signal::{SIGINT, SIGTERM, Signal, on_signal};

impl ServerHandle {
    /// Stops the server on Ctrl-C (`SIGINT`) or `SIGTERM`, as most servers
    /// do:
    ///
    /// 1. the first signal starts a graceful stop: stop accepting, give the
    ///    open connections up to `grace` to finish, then kill the rest
    ///    ([`stop_graceful`](Self::stop_graceful));
    /// 2. another one while connections are still open stops at once: the
    ///    drain ends now and the connections left are killed, so
    ///    `serve_forever` (and any `stop_graceful`) returns;
    /// 3. any signal after that, once the server has stopped, ends the
    ///    process at once with status 128 + the signal's number (130 for
    ///    Ctrl-C), as the signal's default action would have, for a
    ///    program whose own shutdown hangs.
    ///
    /// A line on stderr says which step each signal took. Signals that
    /// arrive together (before the listening task runs) count as one.
    /// Listening starts with this call: a signal before it acts as usual
    /// (Ctrl-C terminates the process). The listening task is spawned at
    /// the caller's line, and lives as long as the runtime.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use sprout::net::{StreamServer, TcpStream};
    ///
    /// # async fn handler(_: TcpStream, _: std::net::SocketAddr) {}
    /// sprout::run(async {
    ///     let server = StreamServer::bind("127.0.0.1:8080", handler).await?;
    ///     // Ctrl-C: finish the requests in flight (up to 5 s); Ctrl-C again: stop now.
    ///     server.handle().stop_on_signals(Duration::from_secs(5))?;
    ///     server.serve_forever().await; // returns once the drain is over
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    ///
    /// # Errors
    /// If the signal handlers cannot be installed, or outside a sprout
    /// runtime.
    #[track_caller]
    pub fn stop_on_signals(&self, grace: Duration) -> io::Result<()> {
        self.stop_on_signals_with(grace, || async {})
    }

    /// [`stop_on_signals`](Self::stop_on_signals), running `first()` when
    /// the first signal arrives, before the server stops: print
    /// statistics, tell a load balancer to send no more traffic. The server
    /// goes on serving while it runs; a second signal meanwhile cuts it
    /// short and stops the server at once.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use sprout::net::{StreamServer, TcpStream};
    ///
    /// # async fn handler(_: TcpStream, _: std::net::SocketAddr) {}
    /// sprout::run(async {
    ///     let server = StreamServer::bind("127.0.0.1:8080", handler).await?;
    ///     server.handle().stop_on_signals_with(Duration::from_secs(5), || async {
    ///         println!("{}", sprout::observe::metrics());
    ///     })?;
    ///     server.serve_forever().await;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    ///
    /// # Errors
    /// As [`stop_on_signals`](Self::stop_on_signals).
    #[track_caller]
    pub fn stop_on_signals_with<F, Fut>(&self, grace: Duration, first: F) -> io::Result<()>
    where
        F: FnOnce() -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let at = Location::caller();
        let signals = [on_signal(SIGINT)?, on_signal(SIGTERM)?];
        let handle = self.clone();
        task::Builder::new().name("stop on signals").spawned_at(at).spawn(async move {
            // A listener's socket cannot fail in practice; if it does,
            // the signals stay taken over, and the server runs on.
            let _ = obey(&handle, grace, first, &signals).await;
        });
        Ok(())
    }
}

/// The three steps of `stop_on_signals`.
async fn obey<Fut: Future<Output = ()>>(
    handle: &ServerHandle,
    grace: Duration,
    first: impl FnOnce() -> Fut,
    signals: &[Signal],
) -> io::Result<()> {
    let name = handle.shared.name();
    let signum = next(signals).await?;
    sprout_runtime::__report!(
        event: INFO(
            target: "sprout::server",
            server = %name,
            signal = signal_name(signum),
            grace = %Seconds(grace),
            "stopping; open connections have the grace period to finish (send the signal again to stop at once)"
        ),
        stderr: "sprout: {name}: {}: stopping; open connections have {} to finish (send it again to stop at once)",
        signal_name(signum),
        Seconds(grace)
    );
    let cut_short = {
        let mut drain = pin!(async {
            first().await;
            handle.stop_graceful(grace).await
        });
        let mut again = pin!(next(signals));
        poll_fn(|cx| {
            // The drain first: once `first` is done, the drain's first
            // poll stops the server at once.
            if drain.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            again.as_mut().poll(cx).map(Some)
        })
        .await
    };
    if let Some(again) = cut_short {
        let again = again?;
        sprout_runtime::__report!(
            event: WARN(
                target: "sprout::server",
                server = %name,
                signal = signal_name(again),
                connections = handle.connections(),
                "the signal again: stopping now, closing the open connections"
            ),
            stderr: "sprout: {name}: {} again: stopping now, closing {} open connections",
            signal_name(again),
            handle.connections()
        );
        handle.stop_graceful(Duration::ZERO).await;
    }
    let late = next(signals).await?;
    sprout_runtime::__report!(
        event: WARN(target: "sprout::server", server = %name, signal = signal_name(late), "the server has stopped; exiting"),
        stderr: "sprout: {name}: {}: the server has stopped; exiting",
        signal_name(late),
    );
    std::process::exit(128 + late);
}

/// The next of `signals` to arrive: its number.
async fn next(signals: &[Signal]) -> io::Result<c_int> {
    poll_fn(|cx| {
        for signal in signals {
            if let Poll::Ready(got) = signal.poll_recv(cx) {
                return Poll::Ready(got.map(|()| signal.signum()));
            }
        }
        Poll::Pending
    })
    .await
}

fn signal_name(signum: c_int) -> String {
    match signum {
        SIGINT => "SIGINT (Ctrl-C)".to_owned(),
        SIGTERM => "SIGTERM".to_owned(),
        other => format!("signal {other}"),
    }
}

/// A grace period for people: "5 s", "250 ms", "no limit".
struct Seconds(Duration);

impl std::fmt::Display for Seconds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.0;
        if d.as_secs() >= 365 * 86_400 {
            f.write_str("no time limit")
        } else if d.subsec_millis() == 0 {
            write!(f, "up to {} s", d.as_secs())
        } else {
            write!(f, "up to {} ms", d.as_millis())
        }
    }
}
