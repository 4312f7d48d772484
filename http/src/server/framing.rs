//! Where one HTTP/1 request ends and the next begins, in the bytes a
//! connection reads.
//!
//! hyper buffers what it reads and does not say what is left over once a
//! request is done. A client that sends a whole request and half of the
//! next head in one write leaves that half in hyper's buffer, where the
//! connection's clock cannot see it: the connection looks idle and gets
//! the keep-alive timeout instead of the header-read one. So the stream
//! under hyper (`Watched`) hands hyper one part of a message at a time: a
//! head up to its blank line, then (once hyper has parsed it and said how
//! its body is framed) the body up to its end. Whatever a read brought
//! beyond the part is kept back and handed out by the next read, where
//! the clock sees it arrive.
//!
//! [`Framing`] is the bookkeeping: it follows heads (to the first empty
//! line, skipping empty lines before the request line, as hyper's parser
//! does; found with memchr's SIMD search) and bodies (a `Content-Length`
//! counted; chunked: size lines, data, trailers), with no buffer of its
//! own, across reads cut anywhere.
//!
//! hyper stays the parser: it parses what it is handed, and says how a
//! body is framed (`BodyLen`) when it calls the service. This
//! bookkeeping only decides where a hand-out stops. If it were ever wrong
//! about a message's end (a request hyper reads differently), the cost is
//! a timeout taken from the wrong phase, never a stall: every hand-out
//! has at least one byte, so hyper always gets what it waits for.

/// How a request's body is framed, as hyper parsed it from the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyLen {
    /// `Content-Length: n` (0: no body).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Which part of a message a hand-out belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// A request head (or the empty lines before one).
    Head,
    /// A request body, chunked framing included.
    Body,
}

/// One hand-out: how many bytes, of which part, and whether they end it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Taken {
    pub(crate) len: usize,
    pub(crate) part: Part,
    /// The part ends with the last of these bytes.
    pub(crate) ends: bool,
}

/// Where the reader is in the stream of messages. See the module docs.
#[derive(Debug)]
pub(crate) struct Framing {
    state: State,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// In a head. `text`: a non-empty line has been seen (empty lines
    /// before the request line are skipped, not the head's end).
    Head { line: Line, text: bool },
    /// In a body of known length: the bytes left (never 0).
    Length(u64),
    /// In a chunked body.
    Chunked(Chunk),
}

/// Where the reader is in a chunked body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// In a chunk-size line: the size read so far, and whether its hex
    /// digits are over (an extension or spaces follow, up to the LF).
    Size { size: u64, digits_over: bool },
    /// In a chunk's data: the bytes left (never 0).
    Data(u64),
    /// After a chunk's data, up to the LF that ends it.
    DataEnd,
    /// In the trailer section, after the last (zero-size) chunk, up to an
    /// empty line.
    Trailer(Line),
}

/// How much of the current line has been seen: whether it is still empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    /// Nothing yet.
    Empty,
    /// A lone `\r` (an empty line if `\n` follows).
    Cr,
    /// Something else: not an empty line.
    Text,
}

impl Line {
    /// The line after `bytes`, none of which is `\n`.
    fn after(self, bytes: &[u8]) -> Line {
        match (self, bytes) {
            (line, []) => line,
            (Line::Empty, [b'\r']) => Line::Cr,
            _ => Line::Text,
        }
    }
}

impl Default for Framing {
    fn default() -> Framing {
        Framing::new()
    }
}

impl Framing {
    /// At the start of a connection: a head comes first.
    pub(crate) fn new() -> Framing {
        Framing { state: FRESH_HEAD }
    }

    /// hyper parsed a head and says how its body is framed. hyper is the
    /// authority: whatever state the bookkeeping was in, the next bytes
    /// are that body.
    pub(crate) fn body(&mut self, body: BodyLen) {
        self.state = match body {
            BodyLen::Length(0) => FRESH_HEAD,
            BodyLen::Length(n) => State::Length(n),
            BodyLen::Chunked => State::Chunked(Chunk::Size { size: 0, digits_over: false }),
        };
    }

    /// How many of `bytes` (from the first) belong to the current part,
    /// stopping right after its end, and which part that is. At least one
    /// byte when `bytes` is not empty. After a head's end the next part is
    /// a new head until [`body`](Self::body) says otherwise.
    pub(crate) fn take(&mut self, bytes: &[u8]) -> Taken {
        match self.state {
            State::Head { line, text } => self.head(bytes, line, text),
            State::Length(left) => {
                let len = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
                let left = left - len as u64;
                self.state = if left == 0 { FRESH_HEAD } else { State::Length(left) };
                Taken { len, part: Part::Body, ends: left == 0 }
            }
            State::Chunked(chunk) => self.chunked(bytes, chunk),
        }
    }

    /// A head: up to and including the `\n` of its first empty line.
    /// Empty lines before the request line are skipped (as hyper's parser
    /// does); after it, the first `\n\n` or `\n\r\n` ends the head. The
    /// search for those is memchr's SIMD `memmem`: a head is scanned on
    /// every request, and a browser's is about 500 bytes (a line-by-line
    /// scan, eight bytes at a time, cost 2.6 times the instructions).
    fn head(&mut self, bytes: &[u8], mut line: Line, mut text: bool) -> Taken {
        let mut at = 0;
        while !text {
            match (line, bytes.get(at)) {
                (_, None) => {
                    self.state = State::Head { line, text };
                    return Taken { len: bytes.len(), part: Part::Head, ends: false };
                }
                (_, Some(b'\n')) => line = Line::Empty,
                (Line::Empty, Some(b'\r')) => line = Line::Cr,
                _ => {
                    // The request line starts (with the `\r` before `at`, if any).
                    text = true;
                    line = Line::Text;
                    continue;
                }
            }
            at += 1;
        }
        let rest = &bytes[at..];
        // A terminator cut by the end of the last read: its first bytes
        // are in `line`.
        let cut = match (line, rest) {
            (Line::Empty, [b'\n', ..]) | (Line::Cr, [b'\n', ..]) => Some(1),
            (Line::Empty, [b'\r', b'\n', ..]) => Some(2),
            _ => None,
        };
        let end = cut.or_else(|| first_empty_line(rest)).map(|end| at + end);
        if let Some(len) = end {
            self.state = FRESH_HEAD;
            return Taken { len, part: Part::Head, ends: true };
        }
        let line = match rest {
            [] => line,
            [.., b'\n'] => Line::Empty,
            [.., b'\n', b'\r'] => Line::Cr,
            [b'\r'] if line == Line::Empty => Line::Cr,
            _ => Line::Text,
        };
        self.state = State::Head { line, text };
        Taken { len: bytes.len(), part: Part::Head, ends: false }
    }

    /// A chunked body: up to and including the `\n` of the empty line that
    /// ends its trailers.
    fn chunked(&mut self, bytes: &[u8], mut chunk: Chunk) -> Taken {
        let mut at = 0;
        while at < bytes.len() {
            match chunk {
                Chunk::Size { size, digits_over } => {
                    let b = bytes[at];
                    at += 1;
                    chunk = match (b, hex(b)) {
                        (b'\n', _) if size == 0 => Chunk::Trailer(Line::Empty),
                        (b'\n', _) => Chunk::Data(size),
                        (_, Some(digit)) if !digits_over => {
                            Chunk::Size { size: size.saturating_mul(16).saturating_add(digit), digits_over }
                        }
                        _ => Chunk::Size { size, digits_over: true },
                    };
                }
                Chunk::Data(left) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len() - at);
                    at += n;
                    let left = left - n as u64;
                    chunk = if left == 0 { Chunk::DataEnd } else { Chunk::Data(left) };
                }
                Chunk::DataEnd => match find_lf(&bytes[at..]) {
                    Some(lf) => {
                        at += lf + 1;
                        chunk = Chunk::Size { size: 0, digits_over: false };
                    }
                    None => at = bytes.len(),
                },
                Chunk::Trailer(line) => match find_lf(&bytes[at..]) {
                    Some(lf) => {
                        let ended_empty = line.after(&bytes[at..at + lf]) != Line::Text;
                        at += lf + 1;
                        if ended_empty {
                            self.state = FRESH_HEAD;
                            return Taken { len: at, part: Part::Body, ends: true };
                        }
                        chunk = Chunk::Trailer(Line::Empty);
                    }
                    None => {
                        chunk = Chunk::Trailer(line.after(&bytes[at..]));
                        at = bytes.len();
                    }
                },
            }
        }
        self.state = State::Chunked(chunk);
        Taken { len: at, part: Part::Body, ends: false }
    }
}

/// The start of a head, before its request line.
const FRESH_HEAD: State = State::Head { line: Line::Empty, text: false };

/// The index of the first `\n` in `bytes`.
#[inline]
fn find_lf(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

/// Where the first empty line in `bytes` ends (just past its `\n`), given
/// that `bytes` starts inside a line that is not empty.
#[inline]
fn first_empty_line(bytes: &[u8]) -> Option<usize> {
    use memchr::memmem::Finder;
    use std::sync::OnceLock;
    static CRLF: OnceLock<Finder<'static>> = OnceLock::new();
    static LF: OnceLock<Finder<'static>> = OnceLock::new();
    let crlf = CRLF.get_or_init(|| Finder::new(b"\n\r\n")).find(bytes).map(|i| i + 3);
    // A bare `\n\n` counts only before the first `\n\r\n`.
    let before = crlf.map_or(bytes.len(), |end| end - 1);
    let lf = LF.get_or_init(|| Finder::new(b"\n\n")).find(&bytes[..before]).map(|i| i + 2);
    match (crlf, lf) {
        (Some(crlf), Some(lf)) => Some(crlf.min(lf)),
        (crlf, lf) => crlf.or(lf),
    }
}

fn hex(b: u8) -> Option<u64> {
    (b as char).to_digit(16).map(u64::from)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Splits `stream` into hand-outs, in reads of the sizes `reads` gives
    /// in turn (each at least 1), telling the bookkeeping each head's body
    /// framing, from `bodies`, once the head has ended (as hyper's call of
    /// the service does). Returns the parts: each hand-out joins the last
    /// part unless that one ended.
    pub(crate) fn hand_out(stream: &[u8], reads: &[usize], bodies: &[BodyLen]) -> Vec<(Part, Vec<u8>)> {
        let mut framing = Framing::new();
        let mut bodies = bodies.iter();
        let mut reads = reads.iter().cycle();
        let mut parts: Vec<(Part, Vec<u8>)> = Vec::new();
        let mut open = false;
        let mut rest = stream;
        while !rest.is_empty() {
            let read = (*reads.next().expect("read sizes")).max(1);
            let chunk = &rest[..read.min(rest.len())];
            let taken = framing.take(chunk);
            assert!(taken.len >= 1 && taken.len <= chunk.len(), "{taken:?} of {chunk:?}");
            match parts.last_mut() {
                Some((part, bytes)) if open && *part == taken.part => bytes.extend_from_slice(&chunk[..taken.len]),
                _ => parts.push((taken.part, chunk[..taken.len].to_vec())),
            }
            open = !taken.ends;
            if taken.ends && taken.part == Part::Head {
                framing.body(bodies.next().copied().unwrap_or(BodyLen::Length(0)));
            }
            rest = &rest[taken.len..];
        }
        parts
    }

    fn take(framing: &mut Framing, bytes: &[u8]) -> (usize, Part, bool) {
        let taken = framing.take(bytes);
        (taken.len, taken.part, taken.ends)
    }

    #[test]
    fn a_head_ends_at_its_first_empty_line() {
        let mut framing = Framing::new();
        let stream = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next";
        assert_eq!(take(&mut framing, stream), (27, Part::Head, true));
        assert_eq!(take(&mut framing, &stream[27..]), (9, Part::Head, false), "the next head starts");
    }

    #[test]
    fn bare_line_feeds_end_a_head_too() {
        let mut framing = Framing::new();
        assert_eq!(take(&mut framing, b"GET / HTTP/1.1\nHost: x\n\nrest"), (24, Part::Head, true));
        let mut framing = Framing::new();
        assert_eq!(take(&mut framing, b"GET / HTTP/1.1\r\n\nrest"), (17, Part::Head, true));
    }

    #[test]
    fn empty_lines_before_the_request_line_are_skipped() {
        let mut framing = Framing::new();
        assert_eq!(take(&mut framing, b"\r\n\nGET / HTTP/1.1\r\n\r\nX"), (21, Part::Head, true));
        let mut framing = Framing::new();
        assert_eq!(take(&mut framing, b"\r\n"), (2, Part::Head, false));
    }

    #[test]
    fn a_head_split_at_every_byte_ends_at_the_same_place() {
        let stream = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\n\r\n";
        for read in 1..stream.len() {
            let parts = hand_out(stream, &[read], &[]);
            let heads: Vec<&[u8]> = parts.iter().map(|(_, b)| &b[..]).collect();
            assert_eq!(
                heads,
                [&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], b"GET /2 HTTP/1.1\r\n\r\n"],
                "reads of {read}"
            );
        }
    }

    #[test]
    fn a_length_body_ends_after_its_bytes() {
        let mut framing = Framing::new();
        framing.body(BodyLen::Length(5));
        assert_eq!(take(&mut framing, b"hel"), (3, Part::Body, false));
        assert_eq!(take(&mut framing, b"loGET"), (2, Part::Body, true));
        assert_eq!(take(&mut framing, b"GET"), (3, Part::Head, false));
    }

    #[test]
    fn a_chunked_body_ends_after_its_trailers() {
        let head = &b"POST / HTTP/1.1\r\n\r\n"[..];
        let body = &b"5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n"[..];
        let stream = [head, body, b"GET"].concat();
        for read in 1..stream.len() {
            let parts = hand_out(&stream, &[read], &[BodyLen::Chunked]);
            let parts: Vec<(Part, &[u8])> = parts.iter().map(|(p, b)| (*p, &b[..])).collect();
            assert_eq!(parts, [(Part::Head, head), (Part::Body, body), (Part::Head, &b"GET"[..])], "reads of {read}");
        }
    }

    #[test]
    fn a_chunked_body_without_trailers() {
        let mut framing = Framing::new();
        framing.body(BodyLen::Chunked);
        assert_eq!(take(&mut framing, b"A\r\n0123456789\r\n0\r\n\r\nX"), (20, Part::Body, true));
    }

    #[test]
    fn a_huge_chunk_size_saturates() {
        let mut framing = Framing::new();
        framing.body(BodyLen::Chunked);
        assert_eq!(take(&mut framing, b"fffffffffffffffffffffff\r\nabc"), (28, Part::Body, false));
        assert_eq!(framing.state, State::Chunked(Chunk::Data(u64::MAX - 3)));
    }

    #[test]
    fn an_empty_length_body_goes_straight_to_the_next_head() {
        let mut framing = Framing::new();
        framing.body(BodyLen::Length(0));
        assert_eq!(take(&mut framing, b"GET"), (3, Part::Head, false));
    }

    mod props {
        use proptest::prelude::*;

        use super::super::{BodyLen, Part};
        use super::hand_out;

        /// One request as it goes on the wire, and the parts it should be handed out as.
        #[derive(Debug, Clone)]
        struct Message {
            head: Vec<u8>,
            body: Vec<u8>,
            framing: BodyLen,
        }

        fn eol() -> impl Strategy<Value = &'static [u8]> {
            prop_oneof![Just(&b"\r\n"[..]), Just(&b"\n"[..])]
        }

        /// A header line: not empty, no line break inside.
        fn header_line() -> impl Strategy<Value = Vec<u8>> {
            ("[A-Za-z-]{1,12}", "[ -~]{0,20}", eol())
                .prop_map(|(name, value, eol)| [name.as_bytes(), b": ", value.as_bytes(), eol].concat())
        }

        fn head() -> impl Strategy<Value = Vec<u8>> {
            (
                prop::collection::vec(eol(), 0..3),
                "[A-Z]{1,7} /[!-~]{0,20} HTTP/1.1",
                eol(),
                prop::collection::vec(header_line(), 0..6),
                eol(),
            )
                .prop_map(|(leading, line, eol, headers, end)| {
                    [leading.concat(), line.into_bytes(), eol.to_vec(), headers.concat(), end.to_vec()].concat()
                })
        }

        fn chunked() -> impl Strategy<Value = Vec<u8>> {
            let chunk = (
                prop::collection::vec(any::<u8>(), 1..40),
                prop::option::of("[a-z]{1,5}=[a-z0-9]{0,5}"),
                any::<bool>(),
            );
            let trailers = prop::collection::vec(header_line(), 0..3);
            (prop::collection::vec(chunk, 0..4), trailers, eol()).prop_map(|(chunks, trailers, end)| {
                let mut wire = Vec::new();
                for (data, ext, upper) in chunks {
                    let size = if upper { format!("{:X}", data.len()) } else { format!("{:x}", data.len()) };
                    wire.extend_from_slice(size.as_bytes());
                    if let Some(ext) = ext {
                        wire.extend_from_slice(format!(";{ext}").as_bytes());
                    }
                    wire.extend_from_slice(b"\r\n");
                    wire.extend_from_slice(&data);
                    wire.extend_from_slice(b"\r\n");
                }
                wire.extend_from_slice(b"0\r\n");
                wire.extend_from_slice(&trailers.concat());
                wire.extend_from_slice(end);
                wire
            })
        }

        fn message() -> impl Strategy<Value = Message> {
            let body = prop_oneof![
                Just((Vec::new(), BodyLen::Length(0))),
                prop::collection::vec(any::<u8>(), 1..100).prop_map(|b| {
                    let n = b.len() as u64;
                    (b, BodyLen::Length(n))
                }),
                chunked().prop_map(|b| (b, BodyLen::Chunked)),
            ];
            (head(), body).prop_map(|(head, (body, framing))| Message { head, body, framing })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            /// Pipelined requests, read in pieces of any size: every head and
            /// every body is handed out whole and alone, whatever the bytes
            /// of the bodies are.
            #[test]
            fn pipelined_requests_split_into_their_parts(
                messages in prop::collection::vec(message(), 1..5),
                reads in prop::collection::vec(1usize..64, 1..8),
            ) {
                let stream: Vec<u8> = messages.iter().flat_map(|m| [m.head.clone(), m.body.clone()].concat()).collect();
                let bodies: Vec<BodyLen> = messages.iter().map(|m| m.framing).collect();
                let mut expected = Vec::new();
                for m in &messages {
                    expected.push((Part::Head, m.head.clone()));
                    if !m.body.is_empty() {
                        expected.push((Part::Body, m.body.clone()));
                    }
                }
                prop_assert_eq!(hand_out(&stream, &reads, &bodies), expected);
            }

            /// Any bytes at all, with any framing news: every hand-out has at
            /// least one byte and none is lost or invented (`hand_out` checks
            /// the first; the parts add up to the stream).
            #[test]
            fn any_bytes_are_handed_out_in_full(
                stream in prop::collection::vec(any::<u8>(), 0..400),
                reads in prop::collection::vec(1usize..64, 1..8),
                bodies in prop::collection::vec(prop_oneof![any::<u64>().prop_map(BodyLen::Length), Just(BodyLen::Chunked)], 0..4),
            ) {
                let parts = hand_out(&stream, &reads, &bodies);
                let joined: Vec<u8> = parts.into_iter().flat_map(|(_, b)| b).collect();
                prop_assert_eq!(joined, stream);
            }
        }
    }
}
