//! sprout::process: output, exit statuses, pipes and errors (exit
//! descriptor path: pidfds on Linux).

mod process_support;

use std::io::ErrorKind;

use process_support as s;
use sprout::process::{Child, Command, Stdio};

#[sprout::test]
async fn children_are_waited_through_an_exit_descriptor() {
    let mut child = Command::new("true").spawn().unwrap();
    assert_eq!(s::watch_of(&child), s::EXIT_FD);
    child.wait().await.unwrap();
}

#[test]
fn output_capture() {
    sprout::run(s::output_capture());
}

#[test]
fn exit_codes_and_signals() {
    sprout::run(s::exit_codes_and_signals());
}

#[test]
fn large_output_without_deadlock() {
    sprout::run(s::large_output());
}

#[test]
fn large_output_through_streams() {
    sprout::run(s::large_output_streams());
}

#[test]
fn stdin_streaming() {
    sprout::run(s::stdin_streaming());
}

#[test]
fn write_to_exited_child_is_broken_pipe() {
    sprout::run(s::write_to_exited_child());
}

#[test]
fn missing_program_and_directory() {
    sprout::run(s::missing_program_and_dir());
}

#[sprout::test]
async fn env_and_current_dir() {
    let dir = std::env::temp_dir().canonicalize().unwrap();
    let out = s::sh("echo \"$SPROUT_A|$SPROUT_B|$HOME\"; pwd")
        .env("SPROUT_A", "a")
        .envs([("SPROUT_B", "b"), ("HOME", "/nowhere")])
        .current_dir(&dir)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, format!("a|b|/nowhere\n{}\n", dir.display()));

    let out = Command::new("/usr/bin/env").env_clear().env("ONLY", "1").output().await.unwrap();
    assert_eq!(out.stdout, b"ONLY=1\n");

    let out = s::sh("echo \"[$HOME]\"").env_remove("HOME").output().await.unwrap();
    assert_eq!(out.stdout, b"[]\n");
}

#[sprout::test]
async fn from_std_command_and_child() {
    let mut std_cmd = std::process::Command::new("echo");
    std_cmd.arg("converted");
    let out = Command::from(std_cmd).output().await.unwrap();
    assert_eq!(out.stdout, b"converted\n");

    let std_child = std::process::Command::new("sh")
        .args(["-c", "read x; echo got $x"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let child = Child::from_std(std_child).unwrap();
    child.stdin.as_ref().unwrap().write_all(b"it\n").await.unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.stdout, b"got it\n");
}

#[sprout::test]
async fn pipe_one_child_into_another() {
    let mut first = Command::new("echo").arg("piped along").stdout(Stdio::piped()).spawn().unwrap();
    let stdio = Stdio::try_from(first.stdout.take().unwrap()).unwrap();
    let out = Command::new("tr").args(["a-z", "A-Z"]).stdin(stdio).output().await.unwrap();
    assert_eq!(out.stdout, b"PIPED ALONG\n");
    assert!(first.wait().await.unwrap().success());
}

#[sprout::test]
async fn try_wait_and_id() {
    let mut child = s::sh("read x").stdin(Stdio::piped()).spawn().unwrap();
    assert!(s::is_our_child(child.id()));
    assert!(child.try_wait().unwrap().is_none());
    drop(child.stdin.take());
    let pid = child.id();
    s::eventually("the child exits", std::time::Duration::from_secs(10), || child.try_wait().unwrap().is_some()).await;
    assert!(!s::is_our_child(pid), "try_wait reaped it");
}

#[test]
fn spawn_outside_a_runtime_is_an_error() {
    let err = Command::new("true").spawn().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
    assert!(err.to_string().contains("runtime"), "{err}");
}

/// A pipe read or write cancelled by a timeout forgets its waiter, as a
/// socket's does (tests/rt_wait.rs): nothing is left that keeps
/// `sprout::wait()` waiting.
#[sprout::test]
async fn a_cancelled_pipe_read_or_write_does_not_keep_wait_waiting() {
    use std::time::Duration;
    let mut child = Command::new("sleep").arg("10").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let (stdin, stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    let mut buf = [0; 8];
    assert!(sprout::timeout(Duration::from_millis(2), stdout.read(&mut buf)).await.is_err());
    assert!(sprout::timeout(Duration::from_millis(2), stdout.read_exact(&mut buf)).await.is_err());
    // Fill the pipe so that a write waits.
    let chunk = vec![0; 1 << 16];
    while sprout::timeout(Duration::from_millis(2), stdin.write(&chunk)).await.is_ok() {}
    assert!(sprout::timeout(Duration::from_secs(5), sprout::wait()).await.is_ok(), "wait() hung");
    child.kill().await.unwrap();
    child.wait().await.unwrap();
}

/// A child's pipes have a socket's timeouts (they share its read and write
/// family): a read from a child that writes nothing, and a write into a
/// full pipe, fail with `TimedOut` once the timeout passes, through the
/// async methods, `readable`/`writable` and the `futures-io` traits.
#[sprout::test]
async fn a_child_pipe_read_or_write_times_out() {
    use futures_util::{AsyncReadExt, AsyncWriteExt};
    use std::time::Duration;
    let mut child = Command::new("sleep").arg("10").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let (mut stdin, mut stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    let timeout = Some(Duration::from_millis(20));

    assert_eq!(stdout.read_timeout().unwrap(), None);
    assert_eq!(stdout.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(), ErrorKind::InvalidInput);
    stdout.set_read_timeout(timeout).unwrap();
    assert_eq!(stdout.read_timeout().unwrap(), timeout);
    let mut buf = [0; 8];
    assert_eq!(stdout.read(&mut buf).await.unwrap_err().kind(), ErrorKind::TimedOut);
    assert_eq!(stdout.read_exact(&mut buf).await.unwrap_err().kind(), ErrorKind::TimedOut);
    assert_eq!(stdout.readable().await.unwrap_err().kind(), ErrorKind::TimedOut);
    assert_eq!(AsyncReadExt::read(&mut stdout, &mut buf).await.unwrap_err().kind(), ErrorKind::TimedOut);

    stdin.set_write_timeout(timeout).unwrap();
    assert_eq!(stdin.write_timeout().unwrap(), timeout);
    // Nobody reads: the pipe fills, then a write waits for room in vain.
    let chunk = vec![0; 1 << 20];
    assert_eq!(stdin.write_all(&chunk).await.unwrap_err().kind(), ErrorKind::TimedOut);
    assert_eq!(stdin.writable().await.unwrap_err().kind(), ErrorKind::TimedOut);
    assert_eq!(AsyncWriteExt::write(&mut stdin, &chunk).await.unwrap_err().kind(), ErrorKind::TimedOut);

    child.kill().await.unwrap();
    child.wait().await.unwrap();
}
