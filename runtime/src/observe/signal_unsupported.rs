//! `Builder::dump_on_signal` where there is no `SIGUSR1` (Windows): one
//! line on stderr, no listener. `Handle::dump` still works.

use std::sync::Arc;

use super::Shared;

/// Never made: there is nothing to listen to.
pub(crate) enum Listening {}

/// Says on stderr that the dump cannot be asked for by a signal here.
pub(crate) fn listen(_serial: u32, _shared: &Arc<Shared>) -> Option<Listening> {
    crate::__report!(
        event: WARN(target: "sprout::dump", "dump_on_signal: no SIGUSR1 on this platform; use Handle::dump"),
        stderr: "sprout: dump_on_signal: no SIGUSR1 on this platform; use Handle::dump",
    );
    None
}
