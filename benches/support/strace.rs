//! The summary `strace -c -f -o FILE` writes, as calls per request: how
//! the echo benches count the system calls a server makes.

/// One system call's count, per request.
pub struct Calls {
    pub name: String,
    pub calls: f64,
    pub errors: f64,
}

/// Reads the summary table of `strace -c` (`% time, seconds, usecs/call,
/// calls, [errors,] syscall`), divides by `requests`, and sorts by calls.
pub fn per_request(summary: &str, requests: f64) -> Vec<Calls> {
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
pub fn describe(rows: &[Calls]) -> String {
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
