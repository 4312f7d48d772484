//! sprout::process: kill, terminate, timeouts and dropped children (pidfd path).

mod process_support;

use process_support as s;

#[test]
fn kill_and_terminate() {
    sprout::run(s::kill_and_terminate());
}

#[test]
fn wait_timeout_is_cancellation_safe() {
    sprout::run(s::wait_timeout_is_cancellation_safe());
}

#[test]
fn kill_on_drop() {
    sprout::run(s::kill_on_drop());
}
