//! Configuring the side runtime, and its end with the process. Each
//! scenario must meet a side runtime nobody started, so each runs in a
//! child process (this binary again, one test, `SPROUT_COMPAT_CHILD` set).

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sprout::compat::{Builder, CompatExt, ConfigError, THREAD_NAME, Tokio, handle, set_handle};
use support::{child_passes, is_child, run};

fn user_runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name(name).enable_all().build().unwrap()
}

/// The name of the thread a `tokio::spawn` inside `.compat()` runs on.
fn spawned_on() -> Option<String> {
    let mut name = None;
    run(async {
        name = async { tokio::spawn(async { std::thread::current().name().map(str::to_owned) }).await.unwrap() }
            .compat()
            .await;
    });
    name
}

#[test]
fn configuring_after_the_first_use_is_refused_clearly() {
    if !is_child() {
        return child_passes("configuring_after_the_first_use_is_refused_clearly");
    }
    drop(Tokio::new(async {})); // the first use starts the side runtime
    let mine = user_runtime("too-late");
    let refused = set_handle(mine.handle().clone()).unwrap_err();
    assert_eq!(refused, ConfigError::AlreadyStarted);
    assert!(refused.to_string().contains("configure it before its first use"), "{refused}");
    assert_eq!(Builder::new().worker_threads(4).install(), Err(ConfigError::AlreadyStarted));
    assert_eq!(spawned_on().as_deref(), Some(THREAD_NAME), "the defaults stay");
}

#[test]
fn worker_threads_sizes_the_side_runtime_and_the_first_configuration_stays() {
    if !is_child() {
        return child_passes("worker_threads_sizes_the_side_runtime_and_the_first_configuration_stays");
    }
    assert_eq!(Builder::new().worker_threads(0).install(), Err(ConfigError::NoWorkers));
    Builder::new().worker_threads(3).install().unwrap();
    assert_eq!(Builder::new().worker_threads(2).install(), Err(ConfigError::AlreadyConfigured));
    let mine = user_runtime("second");
    assert_eq!(set_handle(mine.handle().clone()), Err(ConfigError::AlreadyConfigured));
    assert_eq!(handle().metrics().num_workers(), 3);
    assert_eq!(spawned_on().as_deref(), Some(THREAD_NAME));
}

#[test]
fn set_handle_before_the_first_use_puts_everything_on_the_users_runtime() {
    if !is_child() {
        return child_passes("set_handle_before_the_first_use_puts_everything_on_the_users_runtime");
    }
    let mine = user_runtime("my-tokio");
    set_handle(mine.handle().clone()).unwrap();
    assert_eq!(spawned_on().as_deref(), Some("my-tokio"));
    assert_eq!(Tokio::new(()).handle().metrics().num_workers(), 1);
}

/// What the child of the exit test runs: it leaves tokio work in flight
/// on the side runtime (a task asleep for an hour, a blocking call as
/// long) and returns.
#[test]
#[ignore = "the child of the_side_runtime_never_keeps_the_process_alive"]
fn leaves_tokio_work_in_flight() {
    run(async {
        async {
            tokio::spawn(tokio::time::sleep(Duration::from_secs(3600)));
            tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_secs(3600)));
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        .compat()
        .await;
    });
}

#[test]
fn the_side_runtime_never_keeps_the_process_alive() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "leaves_tokio_work_in_flight", "--ignored", "--test-threads=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A generous bound: a process kept alive by the side runtime would
    // take an hour.
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the child did not exit: the side runtime kept it alive");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(status.success() && out.contains("1 passed"), "{status}: {out}");
}
