//! Unit tests of the observation part (run under Miri too: the monitor
//! thread reads the watch while the runtime thread writes it).
