//! Where the kernel time goes, for `benches/uring_echo.rs`: system calls
//! per request (`strace -c -f`), kernel events per request (`perf stat`),
//! and a profile of the server's CPU time by kind of work (`perf record`).
//! Each server runs alone on core 0 under the same load client as the
//! table's.

use std::process::Command;

use crate::echo_load::run_in_child as run_client;
use crate::{start_server, strace};

/// Runs each server under `strace -c -f` for a short load per point and
/// prints its system calls per request (strace slows the server several
/// times over: counts only, no timing).
pub(crate) fn syscalls(servers: &[String], points: &[(usize, usize)]) {
    println!("syscalls per request under strace -c -f (about 1 s of load per server and point: counts only)");
    for &(conns, size) in points {
        println!("{conns} x {size} B");
        for server in servers {
            let (requests, rows) = strace::count(
                server,
                |prefix| start_server(prefix, server),
                |addr, pid| run_client(addr, conns, size, 0.2, 1.0, pid).total_requests,
            );
            println!("  {server:<14} {requests:>7.0} requests: {}", strace::describe(&rows));
        }
    }
}

/// Kernel events per request, counted by `perf stat` on the running
/// server (no slow-down, unlike strace): system calls, context switches
/// (sleeps), and io_uring's: waits for completions, runs of deferred
/// (`local_run`) and ordinary (`tw_run`, `tw_add`) task work, poll arming
/// (an operation that found its socket not ready), punts to the io-wq
/// worker threads, submissions and completions.
pub(crate) fn perf_events(servers: &[String], points: &[(usize, usize)]) {
    const EVENTS: [(&str, &str); 10] = [
        ("raw_syscalls:sys_enter", "syscalls"),
        ("context-switches", "switches"),
        ("io_uring:io_uring_cqring_wait", "cq_waits"),
        ("io_uring:io_uring_local_work_run", "local_run"),
        ("io_uring:io_uring_task_work_run", "tw_run"),
        ("io_uring:io_uring_task_add", "tw_add"),
        ("io_uring:io_uring_poll_arm", "poll_arm"),
        ("io_uring:io_uring_queue_async_work", "io_wq"),
        ("io_uring:io_uring_submit_req", "sqes"),
        ("io_uring:io_uring_complete", "cqes"),
    ];
    println!("kernel events per request, perf stat on the server's process (all its threads)");
    println!("{}", EVENTS.iter().map(|(_, short)| format!("{short:>10}")).collect::<String>());
    for &(conns, size) in points {
        println!("{conns} x {size} B");
        for server in servers {
            let (mut child, addr) = start_server(&["taskset", "-c", "0"], server);
            let out = std::env::temp_dir().join(format!("sprout-uring-perf-{server}-{}", std::process::id()));
            let events: Vec<&str> = EVENTS.iter().map(|(e, _)| *e).collect();
            let mut perf = Command::new("perf")
                .args(["stat", "-x", ",", "-o"])
                .arg(&out)
                .args(["-e", &events.join(","), "-p", &child.id().to_string()])
                .spawn()
                .expect("perf (apt-get install linux-perf)");
            let figures = run_client(addr, conns, size, 0.2, 1.5, child.id());
            // SAFETY: kill(2) with SIGINT on the perf process this function
            // started: perf prints its counts and exits.
            unsafe { libc::kill(perf.id() as i32, libc::SIGINT) };
            perf.wait().ok();
            child.kill().ok();
            child.wait().ok();
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            let _ = std::fs::remove_file(&out);
            let count = |event: &str| -> String {
                text.lines()
                    .find(|l| l.split(',').nth(2) == Some(event))
                    .and_then(|l| l.split(',').next()?.parse::<f64>().ok())
                    .map_or("-".into(), |c| format!("{:.3}", c / figures.total_requests))
            };
            let row: String = EVENTS.iter().map(|(e, _)| format!("{:>10}", count(e))).collect();
            println!("{row}  {server} ({:.0} requests)", figures.total_requests);
        }
    }
}

/// Samples the server's CPU for 3 s of load at each point (`perf record`
/// at 4,999 Hz, on-CPU only) and prints the share of each kind of work:
/// the TCP/IP stack (and the rest of the kernel), the scheduler and
/// timers, the readiness machinery (epoll, or io_uring's own code), the
/// system-call entry and file lookup, user space. A share times the CPU per
/// request of the table gives microseconds.
pub(crate) fn profile(servers: &[String], points: &[(usize, usize)]) {
    println!("share of the server's CPU samples by kind of work (perf record -e cpu-clock, 3 s of load)");
    println!("{:<16}{}", "", KINDS.iter().map(|(k, _)| format!("{k:>10}")).collect::<String>());
    for &(conns, size) in points {
        println!("{conns} x {size} B");
        for server in servers {
            let (mut child, addr) = start_server(&["taskset", "-c", "0"], server);
            let pid = child.id();
            let data = std::env::temp_dir().join(format!("sprout-uring-profile-{server}-{}", std::process::id()));
            // The client connects and warms up for 1.5 s; perf samples 3 s
            // of the 4 s measured window after it.
            let record = std::thread::spawn({
                let data = data.clone();
                move || {
                    std::thread::sleep(std::time::Duration::from_secs(2));
                    Command::new("perf")
                        .args(["record", "-q", "-e", "cpu-clock", "-F", "4999", "-o"])
                        .arg(&data)
                        .args(["-p", &pid.to_string(), "--", "sleep", "3"])
                        .output()
                        .expect("perf (apt-get install linux-perf)")
                }
            });
            run_client(addr, conns, size, 1.5, 4.0, pid);
            record.join().expect("perf record");
            child.kill().ok();
            child.wait().ok();
            let report = Command::new("perf")
                .args(["report", "--no-children", "--sort", "dso,sym", "--stdio", "-g", "none", "-i"])
                .arg(&data)
                .output()
                .expect("perf report");
            let _ = std::fs::remove_file(&data);
            let shares = shares(&String::from_utf8_lossy(&report.stdout));
            let row: String = shares.iter().map(|s| format!("{:>9.1}%", s)).collect();
            println!("  {server:<14}{row}");
        }
    }
}

/// The kinds of work, by the names of the functions sampled (a function
/// name containing one of the words), checked in order; the kernel's
/// functions that match none are counted as the TCP/IP stack, which is
/// most of them. `_raw_spin_unlock_irqrestore` and friends are where a
/// VM's timer samples land once interrupts are enabled again, mostly in
/// the socket wake-up paths, so they go with the stack.
const KINDS: [(&str, &[&str]); 5] = [
    ("tcp/ip", &[]),
    (
        "sched",
        &[
            "schedule",
            "sched",
            "switch_",
            "hrtimer",
            "timer",
            "tick",
            "read_tsc",
            "ktime",
            "write_msr",
            "psi_",
            "pick_",
            "enqueue",
            "dequeue",
            "update_curr",
            "idle",
        ],
    ),
    ("readiness", &["io_", "llist", "task_work", "ep_", "epoll", "tcp_poll", "sock_poll", "poll_"]),
    (
        "syscall",
        &["syscall", "SYSCALL", "fdget", "fget", "fput", "sockfd_lookup", "__x64_sys", "__sys_", "exit_to_user"],
    ),
    ("user", &[]),
];

/// Sums `perf report --sort dso,sym`'s percentages into `KINDS`' order.
fn shares(report: &str) -> Vec<f64> {
    let mut shares = vec![0.0; KINDS.len()];
    for line in report.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // "12.34%  dso  [k]  symbol"
        let Some(pct) = cols.first().and_then(|c| c.strip_suffix('%')).and_then(|c| c.parse::<f64>().ok()) else {
            continue;
        };
        let (Some(&marker), Some(&symbol)) = (cols.get(2), cols.get(3)) else { continue };
        let kind = if marker != "[k]" {
            KINDS.len() - 1
        } else {
            (1..KINDS.len() - 1).find(|&k| KINDS[k].1.iter().any(|w| symbol.contains(w))).unwrap_or(0)
        };
        shares[kind] += pct;
    }
    shares
}
