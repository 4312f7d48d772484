//! A hierarchical timing wheel: 6 levels of 64 slots at 1 ms per tick.
//!
//! Level `L` slots each span `64^L` ticks, so the wheel covers `64^6` ms
//! (about 2.2 years) ahead of `elapsed`; a later deadline is filed at the
//! end of that span and re-armed by its owner when it comes up. An entry sits at the
//! level of the highest 6-bit digit in which its deadline differs from
//! `elapsed`, which makes the earliest deadline always sit in the lowest
//! occupied level. Each level keeps a 64-bit occupancy bitmap, so finding
//! the next deadline is a rotate and a `trailing_zeros` per level.
//!
//! Entries live in a slab (`Vec<Entry>` with a free list threaded through
//! `next`), and each slot is a doubly linked FIFO list of slab indices, so
//! insert and cancel are O(1) and equal deadlines fire in insertion order.
//!
//! An entry belongs to the `Sleep` that inserted it until that `Sleep`
//! removes it: firing only unlinks the entry and takes its waker, so the key
//! a `Sleep` holds can never point at somebody else's entry. (A `Sleep`
//! dropped where its runtime is not running sends its key back in a
//! message, and the runtime removes the entry: still only its owner's act.)

use crate::task::compact::CompactWaker;

const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// Deadlines further than this many ticks ahead are parked in the last level.
pub(crate) const MAX_SPAN: u64 = 1 << (SLOT_BITS as u64 * LEVELS as u64);
const NIL: u32 = u32::MAX;

/// `Entry::deadline` of an entry on the free list.
const VACANT: u64 = u64::MAX;
/// `Entry::deadline` of an entry that fired and awaits removal by its Sleep.
const FIRED: u64 = u64::MAX - 1;

/// One timer. 24 bytes: the per-timer memory goal counts every one of them.
struct Entry {
    /// The waker to wake at the deadline; `None` once fired or vacant.
    waker: Option<CompactWaker>,
    /// The deadline tick, or `VACANT` / `FIRED`.
    deadline: u64,
    prev: u32,
    /// The next entry in the slot's list, or the next free entry.
    next: u32,
}

#[derive(Clone, Copy)]
struct Slot {
    head: u32,
    tail: u32,
}

struct Level {
    /// Bit `i` is set when slot `i` holds entries.
    occupied: u64,
    slots: [Slot; SLOTS],
}

/// What `poll` found out about a timer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TimerState {
    /// Still waiting; the waker was updated.
    Pending,
    /// The deadline passed and the entry was removed.
    Fired,
}

/// The timing wheel. See the module docs.
pub(crate) struct Wheel {
    entries: Vec<Entry>,
    free: u32,
    levels: Box<[Level; LEVELS]>,
    /// The current tick: every deadline at or before it has fired.
    elapsed: u64,
    /// Entries linked into slots (armed, not fired).
    armed: usize,
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        let level = || Level { occupied: 0, slots: [Slot { head: NIL, tail: NIL }; SLOTS] };
        Wheel {
            entries: Vec::new(),
            free: NIL,
            levels: Box::new([level(), level(), level(), level(), level(), level()]),
            elapsed: 0,
            armed: 0,
        }
    }

    /// The current tick.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// The number of armed timers.
    pub(crate) fn len(&self) -> usize {
        self.armed
    }

    /// Whether every armed timer's waker passes `test`, looking at no more
    /// than `limit` timers: false if more are armed. O(limit + occupied
    /// slots), so cheap for a small limit however large the slab has grown.
    pub(crate) fn all_armed(&self, limit: usize, test: impl Fn(&CompactWaker) -> bool) -> bool {
        if self.armed > limit {
            return false;
        }
        for lvl in self.levels.iter() {
            let mut occupied = lvl.occupied;
            while occupied != 0 {
                let slot = occupied.trailing_zeros() as usize;
                occupied &= occupied - 1;
                let mut key = lvl.slots[slot].head;
                while key != NIL {
                    let entry = &self.entries[key as usize];
                    if !entry.waker.as_ref().is_some_and(&test) {
                        return false;
                    }
                    key = entry.next;
                }
            }
        }
        true
    }

    /// Calls `f` with the deadline tick and waker of every armed timer
    /// (the task dump). O(slab).
    pub(crate) fn for_each_armed(&self, mut f: impl FnMut(u64, &CompactWaker)) {
        for entry in &self.entries {
            if let (Some(waker), true) = (&entry.waker, entry.deadline < FIRED) {
                f(entry.deadline, waker);
            }
        }
    }

    /// Arms a timer for `deadline`, which must be after `elapsed()`.
    /// Returns the key that `poll` and `remove` take.
    ///
    /// A deadline beyond the wheel's span (about 2.2 years) is filed at the
    /// end of the span; when it fires early the owner sees that its own
    /// deadline is still ahead and inserts it again.
    #[inline]
    pub(crate) fn insert(&mut self, deadline: u64, waker: CompactWaker) -> u32 {
        debug_assert!(deadline > self.elapsed);
        let deadline = deadline.min(self.elapsed + MAX_SPAN - 1);
        let entry = Entry { waker: Some(waker), deadline, prev: NIL, next: NIL };
        let key = if self.free != NIL {
            let key = self.free;
            self.free = self.entries[key as usize].next;
            self.entries[key as usize] = entry;
            key
        } else {
            assert!(self.entries.len() < NIL as usize, "more than 4 billion timers");
            self.entries.push(entry);
            (self.entries.len() - 1) as u32
        };
        self.link(key);
        self.armed += 1;
        key
    }

    /// Checks a timer; if it is still armed, makes sure it will wake `waker`.
    #[inline]
    pub(crate) fn poll(&mut self, key: u32, waker: &std::task::Waker) -> TimerState {
        let entry = &mut self.entries[key as usize];
        if entry.deadline == FIRED {
            self.release(key);
            return TimerState::Fired;
        }
        debug_assert_ne!(entry.deadline, VACANT, "timer polled after removal");
        match &mut entry.waker {
            Some(w) => w.update(waker, false),
            None => entry.waker = Some(CompactWaker::new(waker)),
        }
        TimerState::Pending
    }

    /// Cancels (or, if it fired, forgets) a timer, handing back its waker so
    /// the caller can drop it after releasing the wheel. A key this wheel
    /// never handed out is ignored: at shutdown `TimeDriver::clear` swaps in
    /// an empty wheel, and a `Sleep` held by a foreign waker may be dropped
    /// after that.
    pub(crate) fn remove(&mut self, key: u32) -> Option<CompactWaker> {
        let entry = self.entries.get_mut(key as usize)?;
        debug_assert_ne!(entry.deadline, VACANT, "timer removed twice");
        let waker = entry.waker.take();
        if entry.deadline != FIRED {
            self.unlink(key);
            self.armed -= 1;
        }
        self.release(key);
        waker
    }

    /// When the wheel next needs attention: the start of the earliest
    /// occupied slot. That is the earliest deadline when it sits in level 0;
    /// for a higher level it is earlier, and advancing to it re-files the
    /// slot's timers lower down (at most one early wake-up per level).
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.next_expiration().map(|(_, _, deadline)| deadline)
    }

    /// Fires every timer with a deadline at or before `now`, pushing their
    /// wakers onto `fired`, and moves `elapsed` to `now`.
    #[inline]
    pub(crate) fn advance(&mut self, now: u64, fired: &mut Vec<CompactWaker>) {
        while let Some((level, slot, deadline)) = self.next_expiration() {
            if deadline > now {
                break;
            }
            // Every slot before this one is empty, so time may jump here.
            self.elapsed = self.elapsed.max(deadline);
            let mut key = self.take_slot(level, slot);
            while key != NIL {
                let next = self.entries[key as usize].next;
                let entry = &mut self.entries[key as usize];
                if entry.deadline <= self.elapsed {
                    entry.deadline = FIRED;
                    entry.prev = NIL;
                    entry.next = NIL;
                    self.armed -= 1;
                    if let Some(w) = entry.waker.take() {
                        fired.push(w);
                    }
                } else {
                    // A higher level: file it again, lower down.
                    self.link(key);
                }
                key = next;
            }
        }
        self.elapsed = self.elapsed.max(now);
    }

    /// Puts an entry on the free list.
    fn release(&mut self, key: u32) {
        let entry = &mut self.entries[key as usize];
        entry.deadline = VACANT;
        entry.waker = None;
        entry.prev = NIL;
        entry.next = self.free;
        self.free = key;
    }

    /// Level and slot for a deadline, relative to `elapsed`.
    fn position(&self, deadline: u64) -> (usize, usize) {
        // The highest 6-bit digit in which deadline and elapsed differ.
        // `| (SLOTS - 1)` makes deadlines within this 64-tick window level 0.
        let diff = (self.elapsed ^ deadline) | (SLOTS as u64 - 1);
        let level = ((63 - diff.leading_zeros()) / SLOT_BITS) as usize;
        let level = level.min(LEVELS - 1);
        let slot = ((deadline >> (level as u32 * SLOT_BITS)) & (SLOTS as u64 - 1)) as usize;
        (level, slot)
    }

    /// Appends an entry to the tail of its slot's list.
    fn link(&mut self, key: u32) {
        let (level, slot) = self.position(self.entries[key as usize].deadline);
        let lvl = &mut self.levels[level];
        let tail = lvl.slots[slot].tail;
        {
            let entry = &mut self.entries[key as usize];
            entry.prev = tail;
            entry.next = NIL;
        }
        if tail == NIL {
            lvl.slots[slot].head = key;
            lvl.occupied |= 1 << slot;
        } else {
            self.entries[tail as usize].next = key;
        }
        lvl.slots[slot].tail = key;
    }

    /// Takes an entry out of its slot's list.
    fn unlink(&mut self, key: u32) {
        let (prev, next, deadline) = {
            let e = &self.entries[key as usize];
            (e.prev, e.next, e.deadline)
        };
        let (level, slot) = self.position(deadline);
        let lvl = &mut self.levels[level];
        if prev == NIL {
            lvl.slots[slot].head = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            lvl.slots[slot].tail = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
        if lvl.slots[slot].head == NIL {
            lvl.occupied &= !(1 << slot);
        }
    }

    /// Empties a slot, returning the head of its list.
    fn take_slot(&mut self, level: usize, slot: usize) -> u32 {
        let lvl = &mut self.levels[level];
        let head = lvl.slots[slot].head;
        lvl.slots[slot] = Slot { head: NIL, tail: NIL };
        lvl.occupied &= !(1 << slot);
        head
    }

    /// The lowest occupied level's next slot: `(level, slot, slot start tick)`.
    fn next_expiration(&self) -> Option<(usize, usize, u64)> {
        for (level, lvl) in self.levels.iter().enumerate() {
            if lvl.occupied == 0 {
                continue;
            }
            let shift = level as u32 * SLOT_BITS;
            let now_slot = ((self.elapsed >> shift) & (SLOTS as u64 - 1)) as u32;
            // Slots at or after the current one come first, then the wrap.
            let slot = (lvl.occupied.rotate_right(now_slot).trailing_zeros() + now_slot) % SLOTS as u32;
            let span = 1u64 << (shift + SLOT_BITS);
            let window = self.elapsed & !(span - 1);
            let mut start = window + ((slot as u64) << shift);
            if slot < now_slot || (level > 0 && slot == now_slot && start <= self.elapsed) {
                // Only the top level wraps: its deadlines may carry into the
                // next 64^6 window, where their slot comes up a turn later.
                start += span;
            }
            return Some((level, slot as usize, start.max(self.elapsed)));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::task::{Wake, Waker};

    /// A waker that records its id when woken.
    struct Rec(usize, Arc<Mutex<Vec<usize>>>);
    impl Wake for Rec {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    fn waker(id: usize, log: &Arc<Mutex<Vec<usize>>>) -> CompactWaker {
        CompactWaker::new(&Waker::from(Arc::new(Rec(id, log.clone()))))
    }

    fn fire(wheel: &mut Wheel, now: u64) {
        let mut fired = Vec::new();
        wheel.advance(now, &mut fired);
        fired.into_iter().for_each(CompactWaker::wake);
    }

    #[test]
    fn fires_in_deadline_order_never_early() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let deadlines = [5u64, 1, 64, 63, 65, 4096, 4095, 262_145, 3, 3];
        let keys: Vec<u32> = deadlines.iter().enumerate().map(|(i, &d)| wheel.insert(d, waker(i, &log))).collect();
        let mut now = 0;
        while wheel.len() > 0 {
            let next = wheel.next_deadline().unwrap();
            assert!(next > now, "next deadline {next} is not after {now}");
            // Step a tick short of the deadline: nothing may fire early.
            let before = log.lock().unwrap().len();
            fire(&mut wheel, next - 1);
            assert_eq!(log.lock().unwrap().len(), before);
            now = next;
            fire(&mut wheel, now);
            for &i in &log.lock().unwrap()[before..] {
                assert_eq!(deadlines[i], now, "timer {i} fired at {now}");
            }
        }
        // Equal deadlines fire in insertion order.
        assert_eq!(*log.lock().unwrap(), vec![1, 8, 9, 0, 3, 2, 4, 6, 5, 7]);
        for key in keys {
            assert!(matches!(wheel.poll(key, Waker::noop()), TimerState::Fired));
        }
        assert_eq!(wheel.entries.iter().filter(|e| e.deadline != VACANT).count(), 0);
    }

    #[test]
    fn cancel_is_o1_and_reuses_entries() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let a = wheel.insert(10, waker(0, &log));
        let b = wheel.insert(10, waker(1, &log));
        let c = wheel.insert(10, waker(2, &log));
        assert!(wheel.remove(b).is_some());
        assert_eq!(wheel.len(), 2);
        let d = wheel.insert(700, waker(3, &log));
        assert_eq!(d, b, "freed entry is reused");
        assert!(wheel.remove(d).is_some());
        fire(&mut wheel, 10);
        assert_eq!(*log.lock().unwrap(), vec![0, 2]);
        assert!(wheel.remove(a).is_none());
        assert!(wheel.remove(c).is_none());
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn big_jumps_and_far_future() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        fire(&mut wheel, 1_000_000);
        let near_top = 1_000_000 + MAX_SPAN - 5;
        wheel.insert(near_top, waker(0, &log));
        wheel.insert(1_000_001, waker(1, &log));
        // Beyond the span: clamped to the span's end.
        let far = wheel.insert(1_000_000 + MAX_SPAN * 3, waker(2, &log));
        fire(&mut wheel, 1_000_001);
        assert_eq!(*log.lock().unwrap(), vec![1]);
        // Walk forward by the wheel's own deadlines: entries are re-filed
        // as they come closer and fire exactly on time.
        while let Some(next) = wheel.next_deadline() {
            fire(&mut wheel, next);
            if next == near_top {
                assert_eq!(*log.lock().unwrap(), vec![1, 0]);
            }
        }
        assert_eq!(*log.lock().unwrap(), vec![1, 0, 2]);
        assert_eq!(wheel.elapsed(), 1_000_000 + MAX_SPAN - 1);
        assert_eq!(wheel.poll(far, Waker::noop()), TimerState::Fired);
    }

    #[test]
    fn matches_a_sorted_model() {
        // A small deterministic pseudo-random walk of inserts, cancels and
        // advances, checked against a sorted list.
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let mut model: Vec<(u64, usize, u32)> = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut now = 0;
        for id in 0..3000 {
            match rand() % 4 {
                0 | 1 => {
                    let d = now + 1 + rand() % [10, 100, 5000, 300_000][(rand() % 4) as usize];
                    let key = wheel.insert(d, waker(id, &log));
                    model.push((d, id, key));
                }
                2 if !model.is_empty() => {
                    let (_, _, key) = model.remove((rand() % model.len() as u64) as usize);
                    wheel.remove(key);
                }
                _ => {
                    now += rand() % 2000;
                    log.lock().unwrap().clear();
                    fire(&mut wheel, now);
                    let mut due: Vec<_> = model.iter().filter(|m| m.0 <= now).cloned().collect();
                    due.sort_by_key(|m| m.0);
                    let mut got = log.lock().unwrap().clone();
                    got.sort();
                    let mut want: Vec<usize> = due.iter().map(|m| m.1).collect();
                    want.sort();
                    assert_eq!(got, want);
                    for m in &due {
                        assert_eq!(wheel.poll(m.2, Waker::noop()), TimerState::Fired);
                    }
                    model.retain(|m| m.0 > now);
                    assert_eq!(wheel.len(), model.len());
                    // The next deadline is the start of the earliest occupied
                    // slot: never after the earliest timer, never in the past.
                    let earliest = model.iter().map(|m| m.0).min();
                    match (wheel.next_deadline(), earliest) {
                        (Some(next), Some(min)) => assert!(next > now && next <= min),
                        (next, min) => assert_eq!(next, min),
                    }
                }
            }
        }
    }

    #[test]
    fn entry_is_24_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 24);
    }

    #[test]
    // `Waker::will_wake` compares vtable addresses, which Miri does not keep
    // unique for the std `Wake` vtable used here (sprout's own task wakers
    // compare against one static, and behave under Miri: see tests/rt_wait.rs).
    #[cfg_attr(miri, ignore = "vtable addresses are not unique under Miri")]
    fn all_armed_looks_at_armed_timers_only() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let own = Arc::new(Rec(7, log.clone()));
        let own_waker = Waker::from(own.clone());
        let is_own = |w: &CompactWaker| w.will_wake(&own_waker);
        assert!(wheel.all_armed(4, is_own), "nothing armed");
        let a = wheel.insert(5, CompactWaker::new(&own_waker));
        let b = wheel.insert(300_000, CompactWaker::new(&own_waker));
        assert!(wheel.all_armed(4, is_own));
        assert!(!wheel.all_armed(1, is_own), "over the limit");
        let c = wheel.insert(70, waker(1, &log));
        assert!(!wheel.all_armed(4, is_own));
        fire(&mut wheel, 70);
        // `a` and `c` fired: only `b` is armed, and it is ours.
        assert!(wheel.all_armed(4, is_own));
        for key in [a, b, c] {
            wheel.remove(key);
        }
        assert!(wheel.all_armed(0, is_own));
    }
}
