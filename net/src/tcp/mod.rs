//! TCP: [`TcpListener`], [`TcpStream`] and its owned halves.
//!
//! The types mirror `std::net` method for method; whatever would block
//! there is an `async fn` here.

mod listener;
mod split;
mod stream;

pub use listener::{DEFAULT_BACKLOG, Incoming, TcpListener, TcpListenerBuilder};
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use stream::TcpStream;
