//! The line chat's framing (`examples/chat/lines.rs`, used by
//! `examples/chat_server.rs`) under random input: lines come out whole
//! however the bytes are cut into reads, and no input makes it hold more
//! than its cap (issue 18: every buffer a peer can grow has a cap). The
//! example's own test checks the whole path: an overlong line ends its
//! client with a message.

#[path = "../examples/chat/lines.rs"]
mod lines;

use lines::{LineTooLong, Lines};
use proptest::prelude::*;

/// Feeds `stream` to a `Lines` of cap `max` in reads of the sizes `reads`
/// gives in turn; returns the lines and whether it refused, checking after
/// every read that it holds no more than `max` bytes.
fn feed(stream: &[u8], reads: &[usize], max: usize) -> (Vec<Vec<u8>>, Result<(), LineTooLong>) {
    let mut lines = Lines::new(max);
    let mut said = Vec::new();
    let mut reads = reads.iter().cycle();
    let mut rest = stream;
    while !rest.is_empty() {
        let n = (*reads.next().unwrap()).clamp(1, rest.len());
        let result = lines.feed(&rest[..n], |line| said.push(line.to_vec()));
        assert!(lines.pending() <= max, "holds {} bytes, over the cap of {max}", lines.pending());
        if result.is_err() {
            return (said, result);
        }
        rest = &rest[n..];
    }
    (said, Ok(()))
}

/// What `feed` should give: the lines before the first one over `max`
/// (an unfinished last line counts too), and a refusal if there is one.
fn model(stream: &[u8], max: usize) -> (Vec<Vec<u8>>, Result<(), LineTooLong>) {
    let mut said = Vec::new();
    let mut pieces: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
    let unfinished = pieces.pop().unwrap_or_default();
    for piece in pieces {
        if piece.len() > max {
            return (said, Err(LineTooLong { max }));
        }
        said.push(piece.strip_suffix(b"\r").unwrap_or(piece).to_vec());
    }
    let result = if unfinished.len() > max { Err(LineTooLong { max }) } else { Ok(()) };
    (said, result)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Lines under the cap, ended by `\n` or `\r\n`, come out as they went
    /// in, whatever the reads.
    #[test]
    fn lines_come_out_whole_whatever_the_reads(
        sent in prop::collection::vec(("[^\r\n]{0,40}", any::<bool>()), 0..20),
        reads in prop::collection::vec(1usize..50, 1..6),
    ) {
        let stream: Vec<u8> = sent
            .iter()
            .flat_map(|(line, crlf)| [line.as_bytes(), if *crlf { b"\r\n" } else { b"\n" }].concat())
            .collect();
        let (said, result) = feed(&stream, &reads, 160);
        prop_assert!(result.is_ok());
        let expected: Vec<Vec<u8>> = sent.iter().map(|(line, _)| line.as_bytes().to_vec()).collect();
        prop_assert_eq!(said, expected);
    }

    /// Any bytes at all, any cap: the lines and the refusal the model
    /// predicts, and never more than the cap held.
    #[test]
    fn any_bytes_never_make_it_hold_more_than_the_cap(
        stream in prop::collection::vec(prop_oneof![3 => any::<u8>(), 1 => Just(b'\n'), 1 => Just(b'\r')], 0..600),
        reads in prop::collection::vec(1usize..200, 1..6),
        max in 0usize..64,
    ) {
        prop_assert_eq!(feed(&stream, &reads, max), model(&stream, max));
    }
}

#[test]
fn a_gigabyte_without_a_newline_is_refused_at_the_cap() {
    let mut lines = Lines::new(lines::MAX_LINE);
    let chunk = vec![b'x'; 16 * 1024];
    let mut fed = 0;
    let refused = loop {
        match lines.feed(&chunk, |_| panic!("no line ends")) {
            Ok(()) => fed += chunk.len(),
            Err(e) => break e,
        }
        assert!(fed < 1 << 30, "never refused");
    };
    assert_eq!(refused, LineTooLong { max: lines::MAX_LINE });
    assert_eq!(fed, lines::MAX_LINE, "refused with the read that crossed the cap");
    assert!(lines.pending() <= lines::MAX_LINE);
}
