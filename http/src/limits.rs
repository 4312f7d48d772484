//! The default caps on what a peer can make this side hold, one constant
//! each. Every buffer a peer can grow has one; each can be changed where
//! it applies (named below), and `docs/http.md` has them all in a table:
//! what each bounds, how to change it, what happens past it.
//!
//! | constant | bounds | change it with | past it |
//! | --- | --- | --- | --- |
//! | [`MAX_HEADER_SIZE`] | a request head the server reads | [`Server::max_header_size`](crate::Server::max_header_size) | `431`, connection closed |
//! | [`MAX_BODY_SIZE`] | a body read whole by [`to_bytes`](crate::to_bytes) | [`to_bytes_limited`](crate::to_bytes_limited) | an error ([`BodyTooLarge`](crate::BodyTooLarge)) |
//! | [`MAX_RESPONSE_SIZE`] | a response read whole by the client's `bytes()` / `text()` | [`Response::bytes_limited`](crate::client::Response::bytes_limited) | an error (`is_body_too_large`) |
//! | [`MAX_WS_MESSAGE_SIZE`] | a WebSocket message | `ws::Config::max_message_size` | the socket's next item is an error |
//! | [`MAX_WS_FRAME_SIZE`] | a WebSocket frame | `ws::Config::max_frame_size` | refused from its header, an error |
//!
//! ```
//! assert_eq!(sprout::http::limits::MAX_HEADER_SIZE, 16 * 1024);
//! ```

/// A request head (request line and headers; HTTP/2: the header list):
/// 16 KiB, Node's default and hyper's for HTTP/2. Browsers' heads stay
/// well under it (they cap a cookie at 4 KiB). Before it, an HTTP/1 head
/// could grow to hyper's read buffer, ~400 KiB. An HTTP/2 connection
/// carries up to 200 streams (hyper's limit), so up to 200 heads: 3.2 MiB.
pub const MAX_HEADER_SIZE: usize = 16 * 1024;

/// A body read whole with [`to_bytes`](crate::to_bytes): 2 MiB, the
/// common bound of web frameworks for a request body read into memory
/// (a larger upload is better streamed, frame by frame).
pub const MAX_BODY_SIZE: usize = 2 << 20;

/// A response body read whole by the client's `bytes()` and `text()`:
/// 16 MiB. Larger than [`MAX_BODY_SIZE`]: a client reads what a server
/// it chose sends, and pages and API answers over 2 MiB are common; it
/// still bounds a hostile one. `chunk()` streams any size.
pub const MAX_RESPONSE_SIZE: usize = 16 << 20;

/// A WebSocket message (its frames' payloads together): 4 MiB, where
/// tungstenite's own default is 64 MiB (a thousand hostile clients would
/// make that 64 GiB).
pub const MAX_WS_MESSAGE_SIZE: usize = 4 << 20;

/// A WebSocket frame's payload: 4 MiB, as large as a message, since
/// browsers send each message as one frame. A frame announcing more is
/// refused from its header, before its payload is read.
pub const MAX_WS_FRAME_SIZE: usize = 4 << 20;
