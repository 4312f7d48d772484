//! Scenarios shared by the process tests, run once with exit descriptors
//! (pidfds on Linux: `process_io.rs`, `process_kill.rs`) and once with the
//! `SIGCHLD` fallback forced (`process_sigchld.rs`); plus helpers that look
//! at children through `/proc` (Linux: elsewhere they compile, but the
//! tests that use them would need another way to see a zombie).
#![allow(dead_code)]

use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::io::{AsyncBufReadExt, BufReader};
use sprout::process::{Child, Command, Stdio};

/// The name of this platform's exit descriptor in a child's `Debug`: a
/// pidfd on Linux, a kqueue on macOS and FreeBSD.
pub(crate) const EXIT_FD: &str = if cfg!(target_os = "linux") { "pidfd" } else { "kqueue" };

/// Which wait mechanism a child's `Debug` names.
pub(crate) fn watch_of(child: &Child) -> &'static str {
    let text = format!("{child:?}");
    ["pidfd", "kqueue", "sigchld"].into_iter().find(|name| text.contains(&format!("\"{name}\""))).unwrap_or("unknown")
}

/// `sh -c script`.
pub(crate) fn sh(script: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script);
    cmd
}

/// The state letter and parent pid of `pid` from `/proc`, if it exists.
pub(crate) fn proc_state(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid ...": comm may hold spaces and parens.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether `pid` is still our child (running or zombie).
pub(crate) fn is_our_child(pid: u32) -> bool {
    proc_state(pid).is_some_and(|(_, ppid)| ppid == std::process::id())
}

/// Our children that are zombies right now.
pub(crate) fn our_zombies() -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| proc_state(pid) == Some(('Z', me)))
        .collect()
}

/// Sleeps in small steps until `done` holds; panics after `limit` (a hang
/// guard, generous: no speed is asserted).
pub(crate) async fn eventually(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting until {what}");
        sprout::sleep(Duration::from_millis(5)).await;
    }
}

pub(crate) async fn output_capture() {
    let out = sh("echo out; echo err >&2; exit 3").output().await.unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");

    // Configured streams are respected: stderr inherited is not captured.
    let out = sh("echo visible").stderr(Stdio::null()).output().await.unwrap();
    assert_eq!(out.stdout, b"visible\n");
    assert!(out.stderr.is_empty());

    // output() pipes only for its own call: spawn() after it inherits.
    let mut cmd = Command::new("true");
    cmd.output().await.unwrap();
    let child = cmd.spawn().unwrap();
    assert!(child.stdout.is_none() && child.stdin.is_none() && child.stderr.is_none());
}

pub(crate) async fn exit_codes_and_signals() {
    assert!(Command::new("true").status().await.unwrap().success());
    assert_eq!(Command::new("false").status().await.unwrap().code(), Some(1));
    assert_eq!(sh("exit 42").status().await.unwrap().code(), Some(42));
    let status = sh("kill -TERM $$").status().await.unwrap();
    assert_eq!((status.code(), status.signal()), (None, Some(libc::SIGTERM)));
    let status = sh("kill -KILL $$").status().await.unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}

/// 64 MiB on stdout while stderr gets 1 MiB at the same time: collected
/// together, neither pipe can stall the child.
pub(crate) async fn large_output() {
    const OUT: usize = 64 << 20;
    const ERR: usize = 1 << 20;
    let script = format!("head -c {ERR} /dev/zero | tr '\\0' e >&2 & head -c {OUT} /dev/zero | tr '\\0' o; wait");
    let out = sh(&script).output().await.unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), OUT);
    assert_eq!(out.stderr.len(), ERR);
    assert!(out.stdout.iter().all(|&b| b == b'o'));
    assert!(out.stderr.iter().all(|&b| b == b'e'));
}

/// The same through the streams, stdout and stderr read by two tasks.
pub(crate) async fn large_output_streams() {
    let mut child = sh("head -c 8388608 /dev/zero >&2 & head -c 33554432 /dev/zero; wait")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let err_task = sprout::spawn(async move {
        let mut n = 0;
        let mut buf = vec![0; 4096];
        loop {
            match stderr.read(&mut buf).await.unwrap() {
                0 => return n,
                k => n += k,
            }
        }
    });
    let mut all = Vec::new();
    stdout.read_to_end(&mut all).await.unwrap();
    assert_eq!(all.len(), 32 << 20);
    assert_eq!(err_task.await.unwrap(), 8 << 20);
    assert!(child.wait().await.unwrap().success());
}

/// Lines written to `cat` come back while later ones are still being
/// written: stdin and stdout streamed from two tasks.
pub(crate) async fn stdin_streaming() {
    let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    let writer = sprout::spawn(async move {
        for i in 0..20_000 {
            stdin.write_all(format!("line {i}\n").as_bytes()).await.unwrap();
        }
        // Dropping stdin closes it: cat sees EOF.
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut n = 0;
    while let Some(line) = lines.next().await {
        assert_eq!(line.unwrap(), format!("line {n}"));
        n += 1;
    }
    assert_eq!(n, 20_000);
    writer.await.unwrap();
    assert!(child.wait().await.unwrap().success());

    // futures-io: copy into stdin, close() sends EOF.
    let mut child = Command::new("wc").arg("-c").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = vec![7u8; 3 << 20];
    futures::io::copy(&data[..], &mut stdin).await.unwrap();
    futures::io::AsyncWriteExt::close(&mut stdin).await.unwrap();
    let err = stdin.write(b"more").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), (3 << 20).to_string());
}

/// A child that stops reading (it exits) while the parent still writes:
/// the write fails with BrokenPipe, and this process is not killed by
/// SIGPIPE.
pub(crate) async fn write_to_exited_child() {
    let mut child =
        Command::new("head").args(["-c", "10"]).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    let big = vec![b'x'; 16 << 20];
    let err = stdin.write_all(&big).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
    assert!(child.wait().await.unwrap().success());

    // And after the child is gone and reaped.
    let mut child = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    child.wait().await.unwrap();
    assert_eq!(stdin.write_all(b"anyone?").await.unwrap_err().kind(), ErrorKind::BrokenPipe);
}

pub(crate) async fn kill_and_terminate() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    assert!(child.try_wait().unwrap().is_none());
    child.kill().await.unwrap();
    assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
    // Killing a reaped child does nothing.
    child.kill().await.unwrap();
    child.start_kill().unwrap();

    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    child.terminate().unwrap();
    assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGTERM));

    // stop(): SIGTERM, and SIGKILL for a child that ignores it.
    let mut child = sh("trap '' TERM; echo ready; exec sleep 30").stdout(Stdio::piped()).spawn().unwrap();
    // The trap is in place once the shell says so.
    let mut ready = [0; 6];
    child.stdout.as_ref().unwrap().read_exact(&mut ready).await.unwrap();
    assert_eq!(&ready, b"ready\n");
    let status = child.stop(Duration::from_millis(100)).await.unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));

    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let status = child.stop(Duration::from_secs(30)).await.unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM));
}

/// A wait dropped by a timeout leaves the child as it was; a later wait
/// gets the status.
pub(crate) async fn wait_timeout_is_cancellation_safe() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    for _ in 0..3 {
        let timed_out = sprout::timeout(Duration::from_millis(10), child.wait()).await;
        assert!(timed_out.is_err());
    }
    assert!(child.try_wait().unwrap().is_none());
    child.start_kill().unwrap();
    assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
    // Waiting again returns the same status at once.
    assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
    assert_eq!(child.try_wait().unwrap().unwrap().signal(), Some(libc::SIGKILL));

    let mut child = Command::new("true").spawn().unwrap();
    let status = sprout::timeout(Duration::from_secs(30), child.wait()).await.unwrap().unwrap();
    assert!(status.success());
}

/// kill_on_drop(true) kills a dropped child; without it the child runs on
/// and is still reaped when it exits.
pub(crate) async fn kill_on_drop() {
    let child = Command::new("sleep").arg("30").kill_on_drop(true).spawn().unwrap();
    let pid = child.id();
    drop(child);
    eventually("the dropped child is killed and reaped", Duration::from_secs(10), || !is_our_child(pid)).await;

    // Off (the default): it keeps running.
    let child = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = child.id();
    drop(child);
    sprout::sleep(Duration::from_millis(50)).await;
    assert!(matches!(proc_state(pid), Some((s, _)) if s != 'Z'), "the child runs on");
    // SAFETY: kill(2) on our own child, which is not reaped (it is running).
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
    eventually("the orphan is reaped", Duration::from_secs(10), || !is_our_child(pid)).await;

    // Killing the task that awaits the child kills the child with it.
    let pid = Rc::new(std::cell::Cell::new(0));
    let started = pid.clone();
    let task = sprout::spawn(async move {
        let mut child = Command::new("sleep").arg("30").kill_on_drop(true).spawn().unwrap();
        started.set(child.id());
        child.wait().await
    });
    eventually("the task starts its child", Duration::from_secs(10), || pid.get() != 0).await;
    task.kill();
    eventually("the child dies with its task", Duration::from_secs(10), || !is_our_child(pid.get())).await;

    // Cancelling output() with kill_on_drop kills the child.
    let mut cmd = Command::new("sleep");
    cmd.arg("30").kill_on_drop(true);
    assert!(sprout::timeout(Duration::from_millis(20), cmd.output()).await.is_err());
}

/// Many short children, 50 at a time, every one waited; then as many
/// dropped unwaited. None is left behind.
pub(crate) async fn many_children(n: usize) {
    let pool = sprout::pool::Pool::new(50);
    let statuses = pool.map(|_| async { Command::new("true").status().await.unwrap() }, 0..n).await;
    assert!(statuses.into_iter().all(|s| s.unwrap().success()));

    let pids = Rc::new(std::cell::RefCell::new(Vec::new()));
    let pool = sprout::pool::Pool::new(50);
    let recorded = pids.clone();
    pool.map(
        move |_| {
            let pids = recorded.clone();
            async move {
                let child = Command::new("true").spawn().unwrap();
                pids.borrow_mut().push(child.id());
                // Dropped unwaited: the reaper's job.
            }
        },
        0..n,
    )
    .await;
    let pids = pids.borrow().clone();
    assert_eq!(pids.len(), n);
    eventually("every dropped child is reaped", Duration::from_secs(30), || pids.iter().all(|&pid| !is_our_child(pid)))
        .await;
}

pub(crate) async fn missing_program_and_dir() {
    let err = Command::new("sprout-no-such-program").spawn().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("sprout-no-such-program"), "{err}");

    let err = Command::new("/no/such/dir/prog").output().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("/no/such/dir/prog"), "{err}");

    let err = Command::new("true").current_dir("/sprout/no/such/dir").status().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("/sprout/no/such/dir"), "{err}");

    let err = Command::new("/etc/passwd").spawn().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains("/etc/passwd"), "{err}");
}
