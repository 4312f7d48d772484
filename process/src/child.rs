//! `Child`: a running (or finished, not yet dropped) child process.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::process::{ExitStatus, Output};
use std::task::Poll;
use std::time::Duration;

use sprout_runtime::timeout;

use super::reaper;
use super::stdio::{ChildStderr, ChildStdin, ChildStdout};
use super::wait::Waiter;
use sprout_net::__private::with_timeout;
use sprout_runtime::signal::Signal;

/// A child process: `std::process::Child`, only async.
///
/// Made by [`Command::spawn`](super::Command::spawn). Its pipes are the
/// public fields `stdin`, `stdout` and `stderr` (set for the streams that
/// were configured with `Stdio::piped()`); take them out with
/// `Option::take` to use them from other tasks.
///
/// Dropping a `Child` does not wait for the process, as in std, but it does
/// not leave a zombie either: the runtime reaps the process when it exits
/// (see the [module docs](super#zombies-and-dropped-children)). With
/// [`kill_on_drop(true)`](super::Command::kill_on_drop) the drop also kills it.
///
/// ```
/// use std::time::Duration;
/// use sprout::process::Command;
///
/// sprout::run(async {
///     let mut child = Command::new("sleep").arg("10").spawn().unwrap();
///     // Give it 50 ms, then kill it.
///     if sprout::timeout(Duration::from_millis(50), child.wait()).await.is_err() {
///         child.kill().await.unwrap();
///     }
///     assert!(!child.wait().await.unwrap().success());
/// });
/// ```
pub struct Child {
    /// The child's stdin, if it was `Stdio::piped()`.
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if it was `Stdio::piped()`.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if it was `Stdio::piped()`.
    pub stderr: Option<ChildStderr>,
    /// `Some` until drop hands it to the reaper.
    waiter: Option<Waiter>,
    kill_on_drop: bool,
}

impl Child {
    /// Wraps a freshly spawned std child: its watch (with the `SIGCHLD`
    /// listener made before the spawn, if any) and its pipes. On failure
    /// the child is killed and left to the reaper.
    pub(crate) fn spawned(
        mut child: std::process::Child,
        early: Option<Signal>,
        kill_on_drop: bool,
    ) -> io::Result<Child> {
        let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let waiter = match Waiter::new(child, early) {
            Ok(waiter) => waiter,
            Err((mut child, e)) => {
                let _ = child.kill();
                reaper::park_std(child);
                return Err(e);
            }
        };
        // From here on, dropping `child` on an error kills it and reaps it.
        let mut child = Child { stdin: None, stdout: None, stderr: None, waiter: Some(waiter), kill_on_drop: true };
        child.stdin = stdin.map(ChildStdin::from_std).transpose()?;
        child.stdout = stdout.map(ChildStdout::from_std).transpose()?;
        child.stderr = stderr.map(ChildStderr::from_std).transpose()?;
        child.kill_on_drop = kill_on_drop;
        Ok(child)
    }

    /// Takes charge of a child spawned with `std::process::Command`: its
    /// pipes become async streams and it is waited for like any other.
    /// Use this when the spawn needs something [`Command`](super::Command)
    /// cannot express; `kill_on_drop` is off.
    ///
    /// ```
    /// use sprout::process::Child;
    ///
    /// sprout::run(async {
    ///     let std_child = std::process::Command::new("true").spawn().unwrap();
    ///     let mut child = Child::from_std(std_child).unwrap();
    ///     assert!(child.wait().await.unwrap().success());
    /// });
    /// ```
    ///
    /// # Errors
    /// Outside a sprout runtime, or if no descriptor is left for the watch
    /// or the pipes (then the child is killed).
    pub fn from_std(child: std::process::Child) -> io::Result<Child> {
        super::command::in_runtime()?;
        // Made after the spawn: the waiter checks waitpid before waiting.
        Child::spawned(child, None, false)
    }

    fn waiter(&mut self) -> &mut Waiter {
        self.waiter.as_mut().expect("present until drop")
    }

    /// The child's process id. Once the child has been reaped (a `wait`
    /// returned), the system may give the number to another process.
    pub fn id(&self) -> u32 {
        self.waiter.as_ref().expect("present until drop").id()
    }

    /// Waits for the child to exit and returns its status. Closes the
    /// child's stdin first (if still in `self.stdin`), as std does, so a
    /// child reading it to the end is not left waiting for the parent.
    ///
    /// Under a [`sprout::deadline`](sprout_runtime::deadline) it fails with
    /// `io::ErrorKind::TimedOut` at the deadline, leaving the child running
    /// and unreaped, as a dropped wait does.
    ///
    /// Cancellation-safe: dropping the future (say, on a
    /// [`sprout::timeout`](sprout_runtime::timeout)) leaves the child running
    /// and `self` intact; a later `wait` works. Once the child has been
    /// reaped, every call returns the same status at once.
    ///
    /// ```
    /// use sprout::process::Command;
    ///
    /// sprout::run(async {
    ///     let status = Command::new("sh").arg("-c").arg("exit 3").spawn().unwrap().wait().await.unwrap();
    ///     assert_eq!(status.code(), Some(3));
    /// });
    /// ```
    ///
    /// # Errors
    /// If `waitpid` fails: most likely, code elsewhere in the process reaps
    /// children itself (`waitpid(-1)`, or `SIGCHLD` set to `SIG_IGN`).
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        let waiter = self.waiter();
        let mut timer = None;
        poll_fn(|cx| {
            let exited = waiter.poll_wait(cx);
            with_timeout(cx, exited, None, &mut timer)
        })
        .await
    }

    /// Returns the exit status if the child has exited (reaping it), or
    /// `None` if it is still running. Never waits.
    ///
    /// # Errors
    /// As [`wait`](Child::wait).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.waiter().try_wait()
    }

    /// Sends `SIGKILL` and returns without waiting: `std::process::Child::kill`.
    /// Does nothing if the child has already been reaped.
    pub fn start_kill(&mut self) -> io::Result<()> {
        self.send_signal(libc::SIGKILL)
    }

    /// Kills the child (`SIGKILL`) and waits until it is gone, as tokio's
    /// `kill`. Does nothing if it has already been reaped.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Asks the child to stop (`SIGTERM`) and returns without waiting: the
    /// child may clean up first, or ignore it. `Popen.terminate` in Python.
    /// See [`stop`](Child::stop) for "terminate, then kill if it lingers".
    pub fn terminate(&mut self) -> io::Result<()> {
        self.send_signal(libc::SIGTERM)
    }

    /// Sends the signal `signum` (`libc::SIGINT`, `SIGHUP`, `SIGUSR1`...).
    /// Does nothing if the child has already been reaped, so a recycled
    /// pid never receives it.
    ///
    /// # Errors
    /// `kill(2)`'s: `EINVAL` for an unknown signal, `EPERM` if the child
    /// changed its credentials.
    pub fn send_signal(&mut self, signum: libc::c_int) -> io::Result<()> {
        self.waiter().send_signal(signum)
    }

    /// Sends `SIGTERM`, waits up to `grace` for the child to exit, then
    /// kills it (`SIGKILL`); returns its status either way.
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use std::time::Duration;
    /// use sprout::process::Command;
    ///
    /// sprout::run(async {
    ///     let mut child = Command::new("sleep").arg("10").spawn().unwrap();
    ///     let status = child.stop(Duration::from_secs(1)).await.unwrap();
    ///     assert_eq!(status.signal(), Some(libc::SIGTERM));
    /// });
    /// ```
    pub async fn stop(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        self.terminate()?;
        if let Ok(status) = timeout(grace, self.wait()).await {
            return status;
        }
        self.start_kill()?;
        self.wait().await
    }

    /// Waits for the child to exit, collecting all of its stdout and
    /// stderr (those that are piped) at the same time, so that neither
    /// pipe can fill up and stall it. Closes stdin first.
    ///
    /// ```
    /// use sprout::process::{Command, Stdio};
    ///
    /// sprout::run(async {
    ///     let child = Command::new("sh").arg("-c").arg("echo out; echo err >&2")
    ///         .stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    ///     let output = child.wait_with_output().await.unwrap();
    ///     assert_eq!((&output.stdout[..], &output.stderr[..]), (&b"out\n"[..], &b"err\n"[..]));
    /// });
    /// ```
    ///
    /// # Errors
    /// A read error on either pipe, or a `wait` error. The child is then
    /// dropped (and reaped when it exits).
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (stdout, stderr) = (self.stdout.take(), self.stderr.take());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let (read_out, read_err) = join(
            async {
                match &stdout {
                    Some(pipe) => pipe.read_to_end(&mut out).await.map(drop),
                    None => Ok(()),
                }
            },
            async {
                match &stderr {
                    Some(pipe) => pipe.read_to_end(&mut err).await.map(drop),
                    None => Ok(()),
                }
            },
        )
        .await;
        read_out?;
        read_err?;
        let status = self.wait().await?;
        Ok(Output { status, stdout: out, stderr: err })
    }
}

/// Runs two futures at once and returns both outputs.
async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut out_a, mut out_b) = (None, None);
    poll_fn(|cx| {
        if out_a.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            out_a = Some(v);
        }
        if out_b.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            out_b = Some(v);
        }
        if out_a.is_some() && out_b.is_some() { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    (out_a.expect("ready"), out_b.expect("ready"))
}

impl Drop for Child {
    fn drop(&mut self) {
        let Some(mut waiter) = self.waiter.take() else { return };
        if waiter.status().is_some() {
            return;
        }
        if self.kill_on_drop {
            let _ = waiter.send_signal(libc::SIGKILL);
        }
        reaper::adopt(waiter);
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("waiter", &self.waiter)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}
