//! The line chat's framing: bytes as they arrive, cut into lines, with a
//! cap on a line's length so that a client cannot make the server hold
//! what it likes (a gigabyte with no newline). Pure logic, tested with
//! random input in `tests/chat_lines.rs`.
// `chat_server` uses all of it, the test some.
#![allow(dead_code)]

use std::fmt;

/// The longest line a client may send, in bytes, its `\n` not counted.
pub(crate) const MAX_LINE: usize = 64 * 1024;

/// Cuts bytes into lines. Between lines it holds nothing; a line cut by a
/// read waits in `partial`, which never holds more than `max` bytes.
#[derive(Debug)]
pub(crate) struct Lines {
    partial: Vec<u8>,
    max: usize,
}

/// A line longer than the cap: the client is to be told and dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LineTooLong {
    pub max: usize,
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a line longer than {} bytes", self.max)
    }
}

impl std::error::Error for LineTooLong {}

impl Lines {
    /// Lines of at most `max` bytes.
    pub(crate) fn new(max: usize) -> Lines {
        Lines { partial: Vec::new(), max }
    }

    /// Feeds `data`, the next bytes read: calls `said` with each line it
    /// completes (without its `\n`, nor a `\r` before it). An unfinished
    /// line is kept for the next call. Fails, keeping nothing more, as soon
    /// as a line passes `max` bytes, finished or not.
    pub(crate) fn feed(&mut self, data: &[u8], mut said: impl FnMut(&[u8])) -> Result<(), LineTooLong> {
        let mut rest = data;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let piece = &rest[..end];
            self.check(piece.len())?;
            if self.partial.is_empty() {
                said(without_cr(piece));
            } else {
                self.partial.extend_from_slice(piece);
                said(without_cr(&self.partial));
                self.partial = Vec::new(); // frees what the line held
            }
            rest = &rest[end + 1..];
        }
        self.check(rest.len())?;
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    /// The bytes of an unfinished line held (at most `max`).
    pub(crate) fn pending(&self) -> usize {
        self.partial.len()
    }

    /// Whether `more` bytes may join the current line.
    fn check(&self, more: usize) -> Result<(), LineTooLong> {
        if more > self.max - self.partial.len() {
            return Err(LineTooLong { max: self.max });
        }
        Ok(())
    }
}

fn without_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}
