//! `Command`: what to run and how, then `spawn`, `status` or `output`.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::Path;
use std::process::{CommandArgs, CommandEnvs, ExitStatus, Output, Stdio};

use sprout_runtime::Handle;

use super::child::Child;
use super::{reaper, wait};

/// A process builder: `std::process::Command`, only async.
///
/// The builder methods are std's, with the same defaults: `spawn` and
/// `status` let the child inherit stdin, stdout and stderr; `output`
/// captures stdout and stderr and gives the child an empty stdin. One
/// addition, [`kill_on_drop`](Command::kill_on_drop), as in tokio.
///
/// ```
/// use sprout::process::Command;
///
/// sprout::run(async {
///     let output = Command::new("echo").arg("hello").output().await.unwrap();
///     assert!(output.status.success());
///     assert_eq!(output.stdout, b"hello\n");
/// });
/// ```
///
/// Everything else std's `Command` offers on Unix (`uid`, `gid`,
/// `process_group`, `arg0`, `pre_exec` from
/// `std::os::unix::process::CommandExt`) is reachable through
/// [`as_std_mut`](Command::as_std_mut), and a configured std `Command`
/// converts with `Command::from`.
pub struct Command {
    std: std::process::Command,
    /// Whether stdin was configured here; `output` makes an unset one null.
    stdin_set: bool,
    /// Whether stdout was configured here; `output` pipes an unset one.
    stdout_set: bool,
    /// As `stdout_set`, for stderr.
    stderr_set: bool,
    kill_on_drop: bool,
}

impl Command {
    /// A command to run `program`, with no arguments, this process's
    /// environment and working directory, and inherited stdio. A bare name
    /// is looked up in `PATH`.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds several arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, val);
        self
    }

    /// Sets several environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory. A directory that does not exist
    /// makes `spawn` fail with `NotFound` and a message naming it.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Configures the child's stdin: `Stdio::piped()` gives the parent a
    /// [`ChildStdin`](super::ChildStdin), `null()` an empty input,
    /// `inherit()` this process's stdin.
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// Configures the child's stdout (see [`stdin`](Command::stdin)).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// Configures the child's stderr (see [`stdin`](Command::stdin)).
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self.stderr_set = true;
        self
    }

    /// Whether dropping the [`Child`] (or a `status` / `output` future
    /// before it completes) kills the process with `SIGKILL`. Off by
    /// default, as in std and tokio: a dropped child runs on (and is still
    /// reaped when it exits). Turn it on when the child must not outlive
    /// the task that started it, say under a timeout.
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// The program to run.
    pub fn get_program(&self) -> &OsStr {
        self.std.get_program()
    }

    /// The arguments.
    pub fn get_args(&self) -> CommandArgs<'_> {
        self.std.get_args()
    }

    /// The environment changes (`None`: removed).
    pub fn get_envs(&self) -> CommandEnvs<'_> {
        self.std.get_envs()
    }

    /// The working directory, if set.
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.std.get_current_dir()
    }

    /// Whether [`kill_on_drop`](Command::kill_on_drop) is on.
    pub fn get_kill_on_drop(&self) -> bool {
        self.kill_on_drop
    }

    /// The std command inside.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The std command inside, for its Unix extensions (`CommandExt`).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Starts the child and returns at once. Its piped streams are in the
    /// [`Child`]'s `stdin` / `stdout` / `stderr` fields.
    ///
    /// `spawn` does not wait for the child to run, only for the system to
    /// start it (`posix_spawn` or `fork` + `exec`, as std does): it is a
    /// plain call, not an `async fn`, like tokio's.
    ///
    /// ```
    /// use sprout::process::{Command, Stdio};
    ///
    /// sprout::run(async {
    ///     let mut child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn().unwrap();
    ///     let mut line = String::new();
    ///     child.stdout.take().unwrap().read_to_string(&mut line).await.unwrap();
    ///     assert_eq!(line, "hi\n");
    ///     child.wait().await.unwrap();
    /// });
    /// ```
    ///
    /// # Errors
    /// Outside a sprout runtime. `NotFound` for a program or a working
    /// directory that does not exist, `PermissionDenied` for a file that
    /// cannot be executed, each with a message naming it. Running out of
    /// processes or descriptors.
    pub fn spawn(&mut self) -> io::Result<Child> {
        in_runtime()?;
        reaper::reap_parked();
        let early = wait::prepare()?;
        let child = self.std.spawn().map_err(|e| spawn_error(&self.std, e))?;
        Child::spawned(child, early, self.kill_on_drop)
    }

    /// Runs the child to completion and returns its exit status; stdio is
    /// inherited unless configured.
    ///
    /// ```
    /// use sprout::process::Command;
    ///
    /// sprout::run(async {
    ///     assert!(Command::new("true").status().await.unwrap().success());
    ///     assert_eq!(Command::new("false").status().await.unwrap().code(), Some(1));
    /// });
    /// ```
    ///
    /// # Errors
    /// As [`spawn`](Command::spawn) and [`Child::wait`].
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait().await
    }

    /// Runs the child to completion, capturing its stdout and stderr (as
    /// they come, so neither pipe fills up). Unless configured otherwise,
    /// stdin is null and stdout and stderr are piped, as in std.
    ///
    /// ```
    /// use sprout::process::Command;
    ///
    /// sprout::run(async {
    ///     let out = Command::new("sh").arg("-c").arg("echo to-out; echo to-err >&2; exit 2")
    ///         .output().await.unwrap();
    ///     assert_eq!(out.status.code(), Some(2));
    ///     assert_eq!(out.stdout, b"to-out\n");
    ///     assert_eq!(out.stderr, b"to-err\n");
    /// });
    /// ```
    ///
    /// # Errors
    /// As [`spawn`](Command::spawn) and [`Child::wait_with_output`].
    pub async fn output(&mut self) -> io::Result<Output> {
        // Defaults for this call only: what was not set goes back to
        // inherit (std's spawn default) afterwards.
        let unset = (!self.stdin_set, !self.stdout_set, !self.stderr_set);
        if unset.0 {
            self.std.stdin(Stdio::null());
        }
        if unset.1 {
            self.std.stdout(Stdio::piped());
        }
        if unset.2 {
            self.std.stderr(Stdio::piped());
        }
        let child = self.spawn();
        if unset.0 {
            self.std.stdin(Stdio::inherit());
        }
        if unset.1 {
            self.std.stdout(Stdio::inherit());
        }
        if unset.2 {
            self.std.stderr(Stdio::inherit());
        }
        child?.wait_with_output().await
    }
}

/// Wraps a configured std command. Its program, arguments, environment,
/// directory, Unix extensions and stdio are kept, except that `output`
/// treats stdio as unset: it pipes stdout and stderr and nulls stdin for
/// its call, then leaves them inherited.
impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command { std, stdin_set: false, stdout_set: false, stderr_set: false, kill_on_drop: false }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}

/// `Ok` inside a sprout runtime, else the error every spawn gives there.
pub(crate) fn in_runtime() -> io::Result<()> {
    match Handle::try_current() {
        Some(_) => Ok(()),
        None => {
            Err(io::Error::other("sprout::process needs a running sprout runtime (sprout::run or Runtime::block_on)"))
        }
    }
}

/// Names the program (or the directory) in a spawn error; keeps its kind.
fn spawn_error(cmd: &std::process::Command, e: io::Error) -> io::Error {
    let program = cmd.get_program().to_string_lossy();
    if let Some(dir) = cmd.get_current_dir()
        && matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR))
        && !dir.is_dir()
    {
        return io::Error::new(
            e.kind(),
            format!("cannot run `{program}`: the working directory `{}` does not exist ({e})", dir.display()),
        );
    }
    let message = match e.kind() {
        io::ErrorKind::NotFound if program.contains('/') => format!("cannot run `{program}`: no such file ({e})"),
        io::ErrorKind::NotFound => format!("cannot run `{program}`: program not found in PATH ({e})"),
        io::ErrorKind::PermissionDenied => format!("cannot run `{program}`: not executable ({e})"),
        _ => format!("cannot run `{program}`: {e}"),
    };
    io::Error::new(e.kind(), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enoent() -> io::Error {
        io::Error::from_raw_os_error(libc::ENOENT)
    }

    #[test]
    fn spawn_errors_name_the_program_or_the_directory() {
        let cmd = std::process::Command::new("no-such-tool");
        let e = spawn_error(&cmd, enoent());
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().starts_with("cannot run `no-such-tool`: program not found in PATH"), "{e}");

        let cmd = std::process::Command::new("./build/tool");
        assert!(spawn_error(&cmd, enoent()).to_string().contains("`./build/tool`: no such file"));

        let mut cmd = std::process::Command::new("true");
        cmd.current_dir("/sprout/missing/dir");
        let e = spawn_error(&cmd, enoent());
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("the working directory `/sprout/missing/dir` does not exist"), "{e}");

        // The directory exists: the program is what is missing.
        let mut cmd = std::process::Command::new("no-such-tool");
        cmd.current_dir("/");
        assert!(spawn_error(&cmd, enoent()).to_string().contains("program not found"));

        let cmd = std::process::Command::new("/etc/passwd");
        let e = spawn_error(&cmd, io::Error::from_raw_os_error(libc::EACCES));
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert!(e.to_string().contains("`/etc/passwd`: not executable"), "{e}");
    }
}
