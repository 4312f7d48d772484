//! A benchmark's server runs in a child process: the bench re-executes
//! itself with `--server NAME`, the child prints its address, and the
//! parent reads the child's CPU time from `/proc` around each measurement.

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// The child's side: prints the address it listens on, for `read_address`.
pub(crate) fn announce(addr: SocketAddr) {
    println!("{addr}");
    io::stdout().flush().unwrap();
}

/// The parent's side: reads the address the server `name` printed on its
/// piped stdout.
pub(crate) fn read_address(child: &mut Child, name: &str) -> SocketAddr {
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("the server's stdout is piped"))
        .read_line(&mut line)
        .expect("the server's address");
    line.trim().parse().unwrap_or_else(|_| panic!("{name} printed {line:?}, not an address"))
}

/// Starts this benchmark again as `--server NAME`, pinned to `core`
/// (`taskset`), and reads the address it prints.
pub(crate) fn start_pinned(core: usize, name: &str) -> (Child, SocketAddr) {
    let mut child = Command::new("taskset")
        .args(["-c", &core.to_string()])
        .arg(std::env::current_exe().expect("own path"))
        .args(["--server", name])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server (is taskset installed?)");
    let addr = read_address(&mut child, name);
    (child, addr)
}

/// Runs this benchmark again with `args`, pinned to `core`, and returns
/// what it printed; `what` names it if it fails.
pub(crate) fn run_pinned(core: usize, args: &[&str], what: &str) -> String {
    let out = Command::new("taskset")
        .args(["-c", &core.to_string()])
        .arg(std::env::current_exe().expect("own path"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    assert!(out.status.success(), "{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// utime and stime of `pid`, in seconds.
pub(crate) fn cpu_times(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the server's /proc/PID/stat");
    // Fields after the command name (which may hold spaces) start at state (3).
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields[11].parse().unwrap();
    let stime: f64 = fields[12].parse().unwrap();
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (utime / ticks, stime / ticks)
}

/// utime + stime of `pid`, in seconds.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let (user, system) = cpu_times(pid);
    user + system
}
