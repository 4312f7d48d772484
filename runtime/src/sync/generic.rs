//! The primitives as they are written, generic over a `Flavor` (`Local`
//! or `ThreadSafe`), for the runtime's own code that serves both flavours
//! (`waitable.rs`). Not API: the public names are the aliases in
//! [`sync`](super) (`sync::Event` is `Event<Local>`) and in
//! [`threadsafe`](super::threadsafe) (`Event<ThreadSafe>`); rustdoc shows
//! each alias with the methods of the type it names.

pub(crate) use super::async_result::AsyncResult;
pub(crate) use super::cancel::{CancelToken, TreeFlavor};
pub(crate) use super::event::Event;
pub(crate) use super::flavor::Flavor;
