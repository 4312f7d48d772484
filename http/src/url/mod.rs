//! URLs on the client side: every URL and address a client is given is
//! checked before anything connects.
//!
//! - [`target`]: the scheme, host and port a URL names, or a [`UrlError`]
//!   saying why it names none (a port above 65535, an empty host,
//!   credentials, another scheme). The [`Client`](crate::Client),
//!   `ws::connect` and the hyper-util connector all go through it.
//! - [`reference`]: RFC 3986 §5 reference resolution, for redirects.

pub(crate) mod reference;
pub(crate) mod target;

pub use target::{UrlError, UrlErrorKind};
