//! The summary `strace -c -f -o FILE` writes, as calls per request: how
//! the echo benches count the system calls a server makes.

use std::net::SocketAddr;
use std::process::Child;

/// Runs a server under `strace -c -f` and a load against it; returns the
/// requests served and the calls per request. `start` starts the server
/// under the command prefix it is given (strace's, then the server's own
/// pinning) and returns it with its address; `load` runs the client
/// against the address and the server's process id, and returns the
/// requests made. The server is stopped with SIGTERM so strace writes its
/// summary.
pub(crate) fn count(
    tag: &str,
    start: impl FnOnce(&[&str]) -> (Child, SocketAddr),
    load: impl FnOnce(SocketAddr, u32) -> f64,
) -> (f64, Vec<Calls>) {
    let out = std::env::temp_dir().join(format!("sprout-strace-{tag}-{}", std::process::id()));
    let out_s = out.display().to_string();
    let (mut strace, addr) = start(&["strace", "-c", "-f", "-o", &out_s, "taskset", "-c", "0"]);
    // The traced server is strace's child (taskset execs into it).
    let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", strace.id())).unwrap_or_default();
    let pid: u32 = children.split_whitespace().next().and_then(|s| s.parse().ok()).expect("the traced server");
    let requests = load(addr, pid);
    // SAFETY: kill(2) on the server process `start` started.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    strace.wait().ok();
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    (requests, per_request(&text, requests))
}

/// One system call's count, per request.
pub(crate) struct Calls {
    pub name: String,
    pub calls: f64,
    pub errors: f64,
}

/// Reads the summary table of `strace -c` (`% time, seconds, usecs/call,
/// calls, [errors,] syscall`), divides by `requests`, and sorts by calls.
pub(crate) fn per_request(summary: &str, requests: f64) -> Vec<Calls> {
    let mut rows = Vec::new();
    for line in summary.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() >= 5 && cols[0].parse::<f64>().is_ok() && cols[3].parse::<u64>().is_ok() {
            let name = cols[cols.len() - 1];
            if name == "total" {
                continue;
            }
            let calls: f64 = cols[3].parse().unwrap();
            let errors: f64 = if cols.len() == 6 { cols[4].parse().unwrap_or(0.0) } else { 0.0 };
            rows.push(Calls { name: name.to_string(), calls: calls / requests, errors: errors / requests });
        }
    }
    rows.sort_by(|a, b| b.calls.partial_cmp(&a.calls).unwrap());
    rows
}

/// `recvfrom 1.004, sendto 1.002 (0.010 failed), ...`: the calls made at
/// least once per 200 requests (start-up calls such as `openat` drop out).
pub(crate) fn describe(rows: &[Calls]) -> String {
    let shown: Vec<String> = rows
        .iter()
        .filter(|r| r.calls >= 0.005)
        .map(|r| {
            if r.errors >= 0.005 {
                format!("{} {:.3} ({:.3} failed)", r.name, r.calls, r.errors)
            } else {
                format!("{} {:.3}", r.name, r.calls)
            }
        })
        .collect();
    shown.join(", ")
}
