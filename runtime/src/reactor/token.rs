//! Packing a slab key and a generation into a mio `Token`.
//!
//! A socket's slab slot is reused after the socket is dropped. An event
//! already queued in the kernel for the old socket would then land on the
//! new one; the generation in the token's upper half lets the reactor
//! recognise and drop such a stale event.

use mio::Token;

/// The token of the runtime's cross-thread `mio::Waker`.
pub(crate) const WAKER: Token = Token(usize::MAX);

#[cfg(target_pointer_width = "64")]
const KEY_BITS: u32 = 32;
#[cfg(not(target_pointer_width = "64"))]
const KEY_BITS: u32 = 20;

const KEY_MASK: usize = (1 << KEY_BITS) - 1;
/// Generations wrap within this mask (and never reach `WAKER`'s bits).
pub(crate) const GENERATION_MASK: u32 = ((usize::MAX >> KEY_BITS) as u32) >> 1;

/// Packs a slab key and a generation.
pub(crate) fn pack(key: usize, generation: u32) -> Token {
    assert!(key <= KEY_MASK, "too many I/O sources registered");
    Token(((generation & GENERATION_MASK) as usize) << KEY_BITS | key)
}

/// Splits a token into slab key and generation.
pub(crate) fn unpack(token: Token) -> (usize, u32) {
    (token.0 & KEY_MASK, (token.0 >> KEY_BITS) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for &(key, generation) in &[(0, 0), (1, 7), (12345, GENERATION_MASK), (KEY_MASK, 1)] {
            let token = pack(key, generation);
            assert_ne!(token, WAKER);
            assert_eq!(unpack(token), (key, generation));
        }
        // Generations wrap instead of colliding with the waker token.
        assert_eq!(unpack(pack(3, GENERATION_MASK + 1)), (3, 0));
    }
}
