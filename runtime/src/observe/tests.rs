//! Unit tests of the observation part (run under Miri too: the monitor
//! thread reads the watch while the runtime thread writes it).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::Runtime;

/// A runtime left alone between two `block_on`s runs no poll: the
/// monitor must not blame the last one for the pause.
#[test]
fn a_runtime_idle_outside_block_on_is_not_reported_as_blocked() {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let rt = Runtime::builder()
        .warn_blocking(Duration::from_millis(5))
        .on_blocking({
            let reports = reports.clone();
            move |report| reports.lock().unwrap().push(report.to_string())
        })
        .build()
        .unwrap();
    rt.block_on(async {});
    std::thread::sleep(Duration::from_millis(60));
    rt.block_on(async {});
    drop(rt);
    let reports = reports.lock().unwrap();
    assert!(reports.is_empty(), "{reports:?}");
}
