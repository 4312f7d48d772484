//! Seeded schedules: the pseudo-random order in which a runtime built with
//! `Builder::seed` takes its ready tasks.
//!
//! Ground rules:
//! - Without a seed the run queue is FIFO and nothing here runs: the
//!   executor tests one `Option` per batch (`Executor::run_batch`).
//! - With one, each pick is uniform among the ready tasks, plus the
//!   `block_on` future if it was woken (picking it ends the batch, so that
//!   the loop polls it next). Every pick comes from [`SeededOrder::pick`],
//!   a SplitMix64 generator seeded once, so the same seed and the same
//!   sequence of queue lengths give the same picks: a program whose
//!   wake-ups come only from its own tasks and a paused clock replays
//!   exactly. Wake-ups from outside (I/O readiness, other threads, a
//!   running clock) change which tasks are ready when, and so the picks.
//! - The order in which tasks were queued (spawn order, the order the
//!   wheel fires a tick's timers, epoll's event order) does not bias a
//!   pick: every ready task is equally likely.
//!
//! SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
//! generators", 2014): one add and three xor-shift-multiplies per number,
//! every seed valid, no dependency. Not for anything but schedules.

use std::cell::Cell;

/// The generator behind one runtime's seeded schedule.
#[derive(Debug)]
pub(crate) struct SeededOrder {
    state: Cell<u64>,
}

impl SeededOrder {
    pub(crate) fn new(seed: u64) -> SeededOrder {
        SeededOrder { state: Cell::new(seed) }
    }

    /// The next number of the sequence (SplitMix64).
    fn next_u64(&self) -> u64 {
        let state = self.state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.state.set(state);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A pseudo-random index below `n` (`n > 0`), by multiply-and-shift:
    /// unbiased enough for schedules, and no division.
    pub(crate) fn pick(&self, n: usize) -> usize {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// The generator of an unseeded runtime's other random choices
/// (`select!`'s first branch): wyrand (Wang Yi, the generator of `wyhash`
/// and of fastrand, which smol's `future::race` uses): one add and one
/// 64x64 multiply per number, so that an unbiased `select!` costs about
/// what tokio's does. Not for anything but fairness.
#[derive(Debug)]
pub(crate) struct Picks {
    state: Cell<u64>,
}

impl Picks {
    /// A generator seeded from std's per-process random hash keys.
    pub(crate) fn new() -> Picks {
        use std::hash::{BuildHasher, Hasher};
        Picks { state: Cell::new(std::collections::hash_map::RandomState::new().build_hasher().finish()) }
    }

    /// A pseudo-random index below `n` (`n > 0`).
    #[inline]
    pub(crate) fn pick(&self, n: usize) -> usize {
        let state = self.state.get().wrapping_add(0xA076_1D64_78BD_642F);
        self.state.set(state);
        let t = u128::from(state) * u128::from(state ^ 0xE703_7ED1_A0B4_28DB);
        let x = (t >> 64) as u64 ^ t as u64;
        ((u128::from(x) * n as u128) >> 64) as usize
    }
}

thread_local! {
    /// Picks made with no runtime on the thread (a `select!` polled by another executor).
    static OUTSIDE: Picks = Picks::new();
}

/// A pseudo-random index below `n` (`n > 0`) with no runtime at hand.
pub(crate) fn pick_outside(n: usize) -> usize {
    OUTSIDE.with(|picks| picks.pick(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_picks() {
        let a = SeededOrder::new(42);
        let b = SeededOrder::new(42);
        let c = SeededOrder::new(43);
        let picks = |o: &SeededOrder| (1..200).map(|n| o.pick(n)).collect::<Vec<_>>();
        let (pa, pb, pc) = (picks(&a), picks(&b), picks(&c));
        assert_eq!(pa, pb);
        assert_ne!(pa, pc);
        assert!(pa.iter().zip(1..).all(|(&i, n)| i < n));
    }

    #[test]
    fn picks_cover_every_index() {
        let order = SeededOrder::new(0);
        let mut seen = [0u32; 5];
        for _ in 0..5000 {
            seen[order.pick(5)] += 1;
        }
        assert!(seen.iter().all(|&k| (800..1200).contains(&k)), "{seen:?}");
    }

    #[test]
    fn unseeded_picks_cover_every_index() {
        let picks = Picks::new();
        let mut seen = [0u32; 3];
        for _ in 0..3000 {
            seen[picks.pick(3)] += 1;
        }
        assert!(seen.iter().all(|&k| (800..1200).contains(&k)), "{seen:?}");
    }

    /// SplitMix64's published first outputs for seed 0.
    #[test]
    fn it_is_splitmix64() {
        let order = SeededOrder::new(0);
        assert_eq!(order.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(order.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }
}
