//! `read_to_end` and `read_to_string`, written once for every stream type
//! (sockets, child pipes).
//!
//! Each read goes into a zeroed window past the data: 4 KiB at first (most
//! streams are short, and zeroing costs), doubled while reads fill it, up to
//! 1 MiB. Zeroing all the spare capacity before every read instead costs
//! O(n²) on a long stream that arrives in small reads (a pipe delivers at
//! most 64 KiB at a time): that made a 64 MiB child output take 84 s.

use std::io;

const FIRST_WINDOW: usize = 4 << 10;
const MAX_WINDOW: usize = 1 << 20;

/// Appends everything `read` yields until it returns 0 (EOF). On an error
/// the bytes read so far stay in `buf`, as with std's `read_to_end`.
pub async fn read_to_end(
    buf: &mut Vec<u8>,
    mut read: impl AsyncFnMut(&mut [u8]) -> io::Result<usize>,
) -> io::Result<usize> {
    let start = buf.len();
    let mut window = FIRST_WINDOW;
    loop {
        let len = buf.len();
        buf.resize(len + window, 0);
        let result = read(&mut buf[len..]).await;
        match result {
            Ok(0) => {
                buf.truncate(len);
                return Ok(len - start);
            }
            Ok(n) => {
                buf.truncate(len + n);
                if n == window {
                    window = (window * 2).min(MAX_WINDOW);
                }
            }
            Err(e) => {
                buf.truncate(len);
                return Err(e);
            }
        }
    }
}

/// `read_to_end`, then appends the bytes to `buf` if they are UTF-8
/// (`InvalidData` naming `what` otherwise, and `buf` is left as it was).
pub async fn read_to_string(
    buf: &mut String,
    what: &str,
    read: impl AsyncFnMut(&mut [u8]) -> io::Result<usize>,
) -> io::Result<usize> {
    let mut bytes = Vec::new();
    read_to_end(&mut bytes, read).await?;
    let text = String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("{what} is not valid UTF-8")))?;
    buf.push_str(&text);
    Ok(text.len())
}
