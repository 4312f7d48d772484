//! sprout::process with the SIGCHLD fallback forced, as on a kernel
//! without pidfds: the shared scenarios again.

mod process_support;

use process_support as s;
use sprout::process::Command;

fn run_with_sigchld<F: std::future::Future>(scenario: F) -> F::Output {
    sprout_process::probe::force_sigchld(true);
    sprout::run(scenario)
}

#[test]
fn children_are_waited_through_sigchld() {
    run_with_sigchld(async {
        let mut child = Command::new("true").spawn().unwrap();
        assert_eq!(s::watch_of(&child), "sigchld");
        child.wait().await.unwrap();
    });
}

#[test]
fn output_capture() {
    run_with_sigchld(s::output_capture());
}

#[test]
fn exit_codes_and_signals() {
    run_with_sigchld(s::exit_codes_and_signals());
}

#[test]
fn large_output_without_deadlock() {
    run_with_sigchld(s::large_output());
}

#[test]
fn stdin_streaming() {
    run_with_sigchld(s::stdin_streaming());
}

#[test]
fn write_to_exited_child_is_broken_pipe() {
    run_with_sigchld(s::write_to_exited_child());
}

#[test]
fn kill_and_terminate() {
    run_with_sigchld(s::kill_and_terminate());
}

#[test]
fn wait_timeout_is_cancellation_safe() {
    run_with_sigchld(s::wait_timeout_is_cancellation_safe());
}

#[test]
fn kill_on_drop() {
    run_with_sigchld(s::kill_on_drop());
}

#[test]
fn many_children_none_left_behind() {
    run_with_sigchld(s::many_children(300));
}
