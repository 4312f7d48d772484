//! sprout's network layer: std-shaped async sockets, servers and DNS.
//!
//! Built on `sprout_runtime::io`. (Being filled in by the network issue.)
