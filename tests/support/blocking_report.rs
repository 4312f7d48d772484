//! The blocking detector's report as a program prints it on stderr, for
//! the tests of a server whose handler blocks (`tests/server_blocking.rs`,
//! and sprout-http's `http/tests/http_blocking.rs`, which includes this
//! file by path): the test re-runs its own binary with `CHILD` set, the
//! child serves one request to a handler that calls `std::thread::sleep`,
//! and the parent checks that the report names the connection and points
//! at the test file, not at sprout.

use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Set in the child's environment.
pub(crate) const CHILD: &str = "SPROUT_BLOCKING_REPORT_CHILD";

/// Whether the first report of the incident has been printed.
static REPORTED: AtomicBool = AtomicBool::new(false);

/// A runtime whose blocking detector prints its reports on stderr (as
/// the default does) and notes the first.
fn runtime() -> sprout_runtime::Runtime {
    sprout_runtime::Runtime::builder()
        .warn_blocking(Duration::from_millis(50))
        .on_blocking(|report| {
            eprintln!("{report}");
            if !report.is_finished() {
                REPORTED.store(true, Ordering::Release);
            }
        })
        .build()
        .unwrap()
}

/// Whether a handler that blocks may stop: once the report is out (so
/// its stack was taken while the handler blocked, however slow the
/// machine), or after 10 s (when no report comes, the test fails on its
/// stderr instead of hanging).
pub(crate) fn reported() -> bool {
    static SINCE: OnceLock<Instant> = OnceLock::new();
    let since = *SINCE.get_or_init(Instant::now);
    REPORTED.load(Ordering::Acquire) || since.elapsed() > Duration::from_secs(10)
}

/// The whole test: in the child, runs `child` on a runtime from
/// [`runtime`]; in the parent, runs the child and checks its report
/// ([`check_child`]).
pub(crate) fn run<F: std::future::Future<Output = ()>>(
    test: &str,
    file: &str,
    source: &str,
    handler: &str,
    child: impl FnOnce() -> F,
) {
    if std::env::var_os(CHILD).is_some() {
        let rt = runtime();
        rt.block_on(child());
        // Dropping the runtime joins the monitor, which prints what is queued.
        drop(rt);
    } else {
        check_child(test, file, source, handler);
    }
}

/// The parent's side: runs test `test` of this binary in a child, and
/// checks the report on its stderr against the test file `file` (as
/// `file!()` names it, with its text `source`): the spawn site is the
/// line marked `// BIND`, the blocking call the one marked `// BLOCKS`,
/// in the function `handler`; the peer is the address the child printed
/// with [`client_at`].
fn check_child(test: &str, file: &str, source: &str, handler: &str) {
    let stderr = stderr_of_child(test);
    let peer = stderr.lines().find_map(|l| l.strip_prefix(CLIENT_AT)).expect("the child's client address");
    let bind_line = line_of(source, "// BIND");
    let sleep_line = line_of(source, "// BLOCKS");
    check(&stderr, &Expected { file, bind_line, sleep_line, handler, peer });
}

/// What the child prints before its client's address.
const CLIENT_AT: &str = "child: client at ";

/// The child's side: tells the parent the client's address, which the
/// connection task's name must show.
pub(crate) fn client_at(addr: std::net::SocketAddr) {
    eprintln!("{CLIENT_AT}{addr}");
}

/// Runs test `test` of this binary in a child and returns its stderr,
/// failing if the child failed.
fn stderr_of_child(test: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "the child failed:\n{}\n{stderr}", String::from_utf8_lossy(&out.stdout));
    stderr
}

/// The line of `source` that ends with `marker` (a comment).
pub(crate) fn line_of(source: &str, marker: &str) -> u32 {
    let index = source.lines().position(|line| line.trim_end().ends_with(marker)).expect("the marker is in the file");
    index as u32 + 1
}

/// What the report must show: where the server was made and where the
/// handler blocks, in the test file `file` (as `file!()` names it), and
/// the connection by its peer's address.
pub(crate) struct Expected<'a> {
    pub file: &'a str,
    pub bind_line: u32,
    pub sleep_line: u32,
    pub handler: &'a str,
    pub peer: &'a str,
}

/// Checks the first report in `stderr` against `expected`.
pub(crate) fn check(stderr: &str, expected: &Expected<'_>) {
    let start = stderr.find("has blocked the runtime thread").unwrap_or_else(|| panic!("no report:\n{stderr}"));
    let report_start = stderr[..start].rfind("sprout: ").unwrap_or(0);
    // The report: its first line and the indented lines under it.
    let report: Vec<&str> = stderr[report_start..]
        .lines()
        .enumerate()
        .take_while(|(i, line)| *i == 0 || line.starts_with("  "))
        .map(|(_, line)| line)
        .collect();
    let report = report.join("\n");
    assert!(report.contains(&format!("'conn {}'", expected.peer)), "the connection's name:\n{report}");
    assert!(
        report.contains(&format!("(spawned at {}:{})", expected.file, expected.bind_line)),
        "the spawn site is the line that made the server:\n{report}"
    );
    let first_line = report.lines().next().unwrap_or_default();
    assert!(!first_line.contains("net/src/server"), "sprout's own files are no spawn site:\n{report}");
    if cfg!(target_os = "linux") {
        // The stack's paths are relative to the current directory, which
        // for sprout-http's tests is `http/`: match from `tests/` on.
        let tail = &expected.file[expected.file.find("tests/").unwrap_or(0)..];
        let at_sleep = format!("{tail}:{}", expected.sleep_line);
        let in_handler = report.lines().any(|line| line.contains(expected.handler) && line.contains(tail));
        assert!(report.contains(&at_sleep), "the stack shows the sleep call at {at_sleep}:\n{report}");
        assert!(in_handler, "the stack names the handler {}:\n{report}", expected.handler);
        assert!(report.contains("std::thread"), "the stack shows the blocking call:\n{report}");
    }
}
