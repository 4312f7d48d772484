//! Panics in tasks and the unjoined-panic policies.

use std::future::pending;
use std::process::Command;

use sprout::{JoinError, PanicPolicy, Runtime, run, spawn, yield_now};

#[sprout::test]
async fn a_panic_reaches_the_joiner_and_the_runtime_goes_on() {
    let bad = spawn(async { panic!("boom {}", 7) });
    let good = spawn(async { 1 });
    match bad.await {
        Err(JoinError::Panicked(p)) => assert_eq!(p.message(), "boom 7"),
        other => panic!("expected a panic, got {other:?}"),
    }
    assert_eq!(good.await.unwrap(), 1);
}

#[test]
fn propagate_reraises_an_unjoined_panic_from_block_on() {
    let rt = Runtime::builder().on_unjoined_panic(PanicPolicy::Propagate).build().unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            drop(spawn(async { panic!("nobody listens") }));
            pending::<()>().await;
        })
    }));
    let payload = caught.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"nobody listens"));
}

#[test]
fn propagate_ignores_joined_or_handled_panics() {
    let rt = Runtime::builder().on_unjoined_panic(PanicPolicy::Propagate).build().unwrap();
    rt.block_on(async {
        let joined = spawn(async { panic!("joined") });
        assert!(joined.await.unwrap_err().is_panic());
        let handled = spawn(async { panic!("handled") });
        handled.on_err(|e| assert!(e.is_panic()));
        drop(handled);
        for _ in 0..3 {
            yield_now().await;
        }
    });
}

#[test]
fn propagate_reports_a_handle_dropped_unjoined() {
    let rt = Runtime::builder().on_unjoined_panic(PanicPolicy::Propagate).build().unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            let h = spawn(async { panic!("dropped later") });
            yield_now().await;
            assert!(h.is_finished());
            drop(h);
            yield_now().await;
        })
    }));
    assert!(caught.is_err());
}

/// Runs this test binary again with `SPROUT_CHILD` set, to observe a
/// process-level outcome (stderr, abort).
fn child(name: &str) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("SPROUT_CHILD", "1")
        .output()
        .unwrap()
}

#[test]
fn log_policy_reports_once_with_the_task_name() {
    if std::env::var_os("SPROUT_CHILD").is_some() {
        run(async {
            drop(sprout::task::Builder::new().name("w1").spawn(async { panic!("lost greenlet") }));
            yield_now().await;
            yield_now().await;
        });
        return;
    }
    let out = child("log_policy_reports_once_with_the_task_name");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reports: Vec<&str> = stderr.lines().filter(|l| l.starts_with("sprout:")).collect();
    assert_eq!(reports.len(), 1, "{stderr}");
    assert!(reports[0].contains("'w1'") && reports[0].contains("lost greenlet"), "{stderr}");
}

#[test]
fn abort_policy_aborts() {
    if std::env::var_os("SPROUT_CHILD").is_some() {
        let rt = Runtime::builder().on_unjoined_panic(PanicPolicy::Abort).build().unwrap();
        rt.block_on(async {
            drop(spawn(async { panic!("fatal") }));
            pending::<()>().await;
        });
        return;
    }
    let out = child("abort_policy_aborts");
    assert!(!out.status.success());
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(6), "SIGABRT");
    assert!(String::from_utf8_lossy(&out.stderr).contains("fatal"));
}
