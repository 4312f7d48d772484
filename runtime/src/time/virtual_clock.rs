//! One virtual clock shared by every runtime of a paused test, and the rule
//! for jumping it: time jumps only when every runtime sharing it is idle.
//!
//! # Why shared
//! A paused test that starts more runtimes (`StreamServer::workers(n)`,
//! `http::Server::workers(n)`, `cores::Builder::spawn`) must run them on
//! its clock: a worker on the real clock does not see 35 virtual seconds
//! pass, and its idle timeouts never fire in the test.
//! So a virtual clock is this one `Arc`, and each runtime that reads it is
//! a *member* (`clock.rs`'s `Clock` holds the membership). Pausing,
//! resuming and advancing move it for every member.
//!
//! # When it may jump
//! One runtime jumps its paused clock when nothing is ready and a poll with
//! a zero timeout woke nothing (`EventLoop::turn`). With several members, one
//! member's idleness says nothing about the others: a jump while another
//! runs tasks would fire timers under it (its reply not yet written, its
//! connection not yet accepted). So each member *votes*:
//!
//! - **Busy**: it runs tasks, or is about to (woken by I/O, a message, a
//!   timer); also from its creation until its first wait. It withdraws any
//!   vote *before* running what woke it (`EventLoop::turn`, `drain_remote`).
//! - **Idle { seen }**: no ready task, and a poll that began when the
//!   sequence number (`seq`) was `seen` found nothing to wake.
//! - **Away**: outside `block_on`. It runs nothing, so it holds nothing up;
//!   its timers fire when it next turns. (A thread that goes on working for
//!   the others outside its runtime's `block_on`, as a core does until its
//!   exit is posted, keeps the clock with a [`Hold`]: a member with no
//!   runtime, busy except while that runtime runs its future.)
//!
//! The clock jumps, to the earliest deadline among the idle members, only
//! when every member is idle *and* has seen the current `seq`. `seq` moves
//! whenever idleness must be checked again: a busy member turning idle (it
//! may have written to another member's socket or queue before it went
//! idle; that member's vote predates it), a member leaving `block_on`, a
//! jump, `pause`, `resume`, `advance`. The members whose votes went stale
//! are roused (their loop's eventfd: the rouse carries no message), poll
//! again with a zero timeout, and confirm. So a jump needs a poll by every
//! member that began after the last member went idle: what one member
//! wrote to another before it went idle (on loopback the data is in the
//! peer's socket when `write` returns) is seen before time moves.
//!
//! A jump moves `seq` too, so no member confirms again before it has
//! fired the timers the jump made due; a member whose timers fire is busy
//! until they have run. Timers across members thus fire in deadline order,
//! and one member's work at a deadline ends before the clock moves past it.
//!
//! What the rule cannot see, as for one runtime: data that another thread
//! or process (not a member) has not sent yet, or that the kernel has not
//! delivered yet, can lose against a jump.
//!
//! Costs: members lock the mutex only on the paused path (a vote, a
//! withdrawal after one, a clock reading while virtual). A runtime that
//! never pauses never gets here.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::{Duration, Instant};

use super::driver::instant_after;
use crate::loom::lock;

/// A virtual clock and its members. See the module docs.
pub(crate) struct VirtualClock {
    // One lock for the reading and the votes: a clock reading is the
    // test's path, never the hot one. Poison-tolerant (`lock`): nothing
    // under it calls user code or can panic midway (rousers are woken
    // after the unlock), so the state is whole whatever happened.
    state: Mutex<State>,
}

struct State {
    /// Whether the clock stands still.
    paused: bool,
    /// Paused: the time. Running: the time at `since`.
    base: Instant,
    /// The real instant at which a running clock read `base`.
    since: Instant,
    /// Whether an idle vote may jump it (`Builder::auto_advance`).
    auto_advance: bool,
    /// Moves whenever every member must look again before a jump (see
    /// the module docs).
    seq: u64,
    /// By member id; `None` is a free slot.
    members: Vec<Option<Member>>,
}

struct Member {
    vote: Vote,
    /// The member's next timer deadline, given with its idle vote.
    next: Option<Instant>,
    /// Rouses its loop from `epoll_wait`.
    rouse: Waker,
}

/// A member's say in a jump. See the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Vote {
    Busy,
    Idle { seen: u64 },
    Away,
}

impl VirtualClock {
    /// A clock reading `start`, paused or running, with no member yet.
    pub(crate) fn new(start: Instant, paused: bool, auto_advance: bool) -> Arc<VirtualClock> {
        Arc::new(VirtualClock {
            state: Mutex::new(State {
                paused,
                base: start,
                since: Instant::now(),
                auto_advance,
                seq: 0,
                members: Vec::new(),
            }),
        })
    }

    /// The time.
    pub(crate) fn now(&self) -> Instant {
        lock(&self.state).now()
    }

    /// Whether the clock stands still.
    pub(crate) fn is_paused(&self) -> bool {
        lock(&self.state).paused
    }

    /// Whether idle votes may jump it.
    pub(crate) fn auto_advance(&self) -> bool {
        lock(&self.state).auto_advance
    }

    /// Whether another member reads this clock besides `id`: then a task
    /// there may move it (`advance`), even if none here can.
    pub(crate) fn shared_beyond(&self, id: usize) -> bool {
        lock(&self.state).members.iter().enumerate().any(|(other, m)| other != id && m.is_some())
    }

    /// Adds a runtime, busy (it has not waited yet), and returns its id.
    pub(crate) fn join(&self, rouse: Waker) -> usize {
        let mut s = lock(&self.state);
        let member = Member { vote: Vote::Busy, next: None, rouse };
        match s.members.iter().position(Option::is_none) {
            Some(id) => {
                s.members[id] = Some(member);
                id
            }
            None => {
                s.members.push(Some(member));
                s.members.len() - 1
            }
        }
    }

    /// A member that is busy until dropped, except while it steps aside
    /// ([`Hold::aside`]), for a thread that works for the runtimes sharing
    /// this clock outside its own runtime's `block_on`: a core's thread,
    /// from its start until it has reported its exit (`cores/`). A core's
    /// runtime is dropped before its exit is posted, and a test awaiting
    /// that exit must not see its timeout jump meanwhile.
    pub(crate) fn hold(self: &Arc<Self>) -> Hold {
        Hold { clock: self.clone(), id: self.join(Waker::noop().clone()) }
    }

    /// Removes a runtime (its drop). The others look again: it may have
    /// been the one holding a jump off.
    pub(crate) fn leave(&self, id: usize) {
        let rouse = {
            let mut s = lock(&self.state);
            let gone = s.members[id].take();
            s.look_again();
            (s.others_idle(id), gone)
        };
        rouse_all(rouse.0);
    }

    /// The runtime entered `block_on` (busy) or left it (away; the others
    /// look again, as after any busy stretch).
    pub(crate) fn set_running(&self, id: usize, running: bool) {
        let rouse = {
            let mut s = lock(&self.state);
            if running {
                s.member(id).vote = Vote::Busy;
                return;
            }
            s.member(id).vote = Vote::Away;
            s.look_again();
            s.others_idle(id)
        };
        rouse_all(rouse);
    }

    /// Stops the clock where it stands; a no-op if it stands.
    pub(crate) fn pause(&self, id: usize) {
        self.change(id, |s| {
            if !s.paused {
                s.base = s.now();
                s.paused = true;
            }
        });
    }

    /// Lets a paused clock run again from where it stands; a no-op if it runs.
    pub(crate) fn resume(&self, id: usize) {
        self.change(id, |s| {
            if s.paused {
                s.since = Instant::now();
                s.paused = false;
            }
        });
    }

    /// Moves the clock forward by `by` (saturating at "never"). `advance`
    /// asks for a paused clock, but another member may resume it in
    /// between: a running clock then simply runs `by` ahead.
    pub(crate) fn advance(&self, id: usize, by: Duration) {
        self.change(id, |s| s.base = instant_after(s.base, by));
    }

    /// Applies a change made by member `id`'s task, then has every other
    /// member look again: their timers may be due, or their waits wrong.
    fn change(&self, id: usize, f: impl FnOnce(&mut State)) {
        let rouse = {
            let mut s = lock(&self.state);
            f(&mut s);
            s.look_again();
            s.others_idle(id)
        };
        rouse_all(rouse);
    }

    /// What member `id`, about to wait with nothing ready, must do: `None`
    /// if its idle vote already saw the current `seq` (wait: for I/O, a
    /// message, or a rouse); else the `seq` to vote with after a poll with
    /// a zero timeout that starts now.
    pub(crate) fn plan(&self, id: usize) -> Option<u64> {
        let mut s = lock(&self.state);
        let seq = s.seq;
        match s.member(id).vote {
            Vote::Idle { seen } if seen == seq => None,
            _ => Some(seq),
        }
    }

    /// Member `id` is idle: the zero-timeout poll planned at `seen` woke
    /// nothing, no task is ready, and its next timer is at `next`. Jumps
    /// the clock if that made every member idle and current; returns
    /// whether it jumped (the caller then fires its due timers).
    pub(crate) fn vote(&self, id: usize, seen: u64, next: Option<Instant>) -> bool {
        let (jumped, rouse) = {
            let mut s = lock(&self.state);
            let seq = s.seq;
            let member = s.member(id);
            member.next = next;
            let was_busy = !matches!(member.vote, Vote::Idle { .. });
            if was_busy {
                // Whatever it did while busy may have woken a member that
                // voted before: they all look again. Its own poll counts
                // for the new `seq` unless another member moved it since
                // the poll began.
                member.vote = Vote::Idle { seen: if seen == seq { seq + 1 } else { seen } };
                s.seq += 1;
            } else {
                // Idle all along: a confirmation (stale if `seq` moved).
                member.vote = Vote::Idle { seen };
            }
            let jumped = s.jump();
            // A plain confirmation changes nothing for the others.
            let rouse = if jumped || was_busy { s.others_idle(id) } else { Vec::new() };
            (jumped, rouse)
        };
        rouse_all(rouse);
        jumped
    }

    /// Member `id` has work again: its vote no longer holds.
    pub(crate) fn withdraw(&self, id: usize) {
        lock(&self.state).member(id).vote = Vote::Busy;
    }
}

/// A busy member with no runtime ([`VirtualClock::hold`]).
#[derive(Debug)]
pub(crate) struct Hold {
    clock: Arc<VirtualClock>,
    id: usize,
}

impl Hold {
    /// Stops holding the clock until the guard drops: while the thread's
    /// runtime runs its `block_on` future, and votes for itself. Taken and
    /// dropped inside that future, where the runtime is busy, so the clock
    /// is held all along.
    pub(crate) fn aside(&self) -> Aside<'_> {
        self.clock.set_running(self.id, false);
        Aside(self)
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.clock.leave(self.id);
    }
}

/// A [`Hold`] stepped aside; dropping it holds the clock again.
pub(crate) struct Aside<'a>(&'a Hold);

impl Drop for Aside<'_> {
    fn drop(&mut self) {
        self.0.clock.set_running(self.0.id, true);
    }
}

impl State {
    fn now(&self) -> Instant {
        if self.paused {
            return self.base;
        }
        instant_after(self.base, Instant::now().saturating_duration_since(self.since))
    }

    fn member(&mut self, id: usize) -> &mut Member {
        self.members[id].as_mut().expect("a member of the clock asks for its own slot")
    }

    /// Moves `seq`: every vote cast so far is stale.
    fn look_again(&mut self) {
        self.seq += 1;
    }

    /// The rousers of the idle members other than `id`.
    fn others_idle(&self, id: usize) -> Vec<Waker> {
        self.members
            .iter()
            .enumerate()
            .filter(|&(other, _)| other != id)
            .filter_map(|(_, m)| m.as_ref())
            .filter(|m| matches!(m.vote, Vote::Idle { .. }))
            .map(|m| m.rouse.clone())
            .collect()
    }

    /// Jumps to the earliest deadline of the idle members if every member
    /// is idle and current, or away (see the module docs).
    fn jump(&mut self) -> bool {
        if !self.paused || !self.auto_advance {
            return false;
        }
        let mut next: Option<Instant> = None;
        for member in self.members.iter().flatten() {
            match member.vote {
                Vote::Away => {}
                Vote::Idle { seen } if seen == self.seq => {
                    next = match (next, member.next) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                Vote::Busy | Vote::Idle { .. } => return false,
            }
        }
        let Some(to) = next else { return false };
        if to > self.base {
            self.base = to;
        }
        // Every member fires what is due before anyone may jump again.
        self.look_again();
        true
    }
}

fn rouse_all(wakers: Vec<Waker>) {
    for waker in wakers {
        waker.wake();
    }
}

impl fmt::Debug for VirtualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("VirtualClock")
            .field("paused", &s.paused)
            .field("members", &s.members.iter().flatten().count())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    /// Counts how often a member was roused.
    #[derive(Default)]
    struct Rouses(AtomicUsize);

    impl Wake for Rouses {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn member(clock: &VirtualClock) -> (usize, Arc<Rouses>) {
        let rouses = Arc::new(Rouses::default());
        (clock.join(Waker::from(rouses.clone())), rouses)
    }

    /// A paused clock with auto-advance and two members, both busy.
    fn two_members() -> (Instant, Arc<VirtualClock>, usize, usize) {
        let start = Instant::now();
        let clock = VirtualClock::new(start, true, true);
        let (a, b) = (member(&clock).0, member(&clock).0);
        (start, clock, a, b)
    }

    /// A member's whole idle step: plan, (poll), vote.
    fn idle(clock: &VirtualClock, id: usize, next: Option<Instant>) -> bool {
        let seen = clock.plan(id).expect("a fresh poll is needed");
        clock.vote(id, seen, next)
    }

    fn secs(start: Instant, s: u64) -> Option<Instant> {
        Some(start + Duration::from_secs(s))
    }

    #[test]
    fn one_member_jumps_as_soon_as_it_is_idle() {
        let start = Instant::now();
        let clock = VirtualClock::new(start, true, true);
        let (a, _) = member(&clock);
        assert!(idle(&clock, a, secs(start, 5)));
        assert_eq!(clock.now(), start + Duration::from_secs(5));
        // With nothing armed it stays idle, and its vote stays current after a plain confirmation.
        assert!(!idle(&clock, a, None));
        assert_eq!(clock.plan(a), None, "idle and current: wait");
    }

    #[test]
    fn time_jumps_only_when_every_member_is_idle_and_current() {
        let start = Instant::now();
        let clock = VirtualClock::new(start, true, true);
        let (a, a_rouses) = member(&clock);
        let (b, _) = member(&clock);
        // b has not waited yet: busy; a's idleness alone does not move time.
        assert!(!idle(&clock, a, secs(start, 30)));
        assert_eq!(clock.now(), start);
        assert_eq!(clock.plan(a), None, "a waits for b");
        // b turns idle: a's vote predates whatever b did, so a looks again.
        let before = a_rouses.0.load(Ordering::SeqCst);
        assert!(!idle(&clock, b, secs(start, 35)));
        assert_eq!(a_rouses.0.load(Ordering::SeqCst), before + 1, "a is roused");
        assert_eq!(clock.now(), start);
        // a's fresh poll finds nothing: everyone idle and current, jump to
        // the earliest deadline.
        assert!(idle(&clock, a, secs(start, 30)));
        assert_eq!(clock.now(), start + Duration::from_secs(30));
        // The jump made every vote stale: nobody jumps again before looking.
        assert!(clock.plan(a).is_some() && clock.plan(b).is_some());
    }

    #[test]
    fn a_member_that_withdraws_holds_the_clock() {
        let (start, clock, a, b) = two_members();
        assert!(!idle(&clock, a, secs(start, 1)));
        assert!(!idle(&clock, b, secs(start, 2)));
        // b is woken (a socket, a message) before a confirms.
        clock.withdraw(b);
        assert!(!idle(&clock, a, secs(start, 1)));
        assert_eq!(clock.now(), start, "no jump under a busy member");
    }

    #[test]
    fn a_stale_confirmation_does_not_count() {
        let (start, clock, a, b) = two_members();
        assert!(!idle(&clock, a, secs(start, 1)));
        assert!(!idle(&clock, b, secs(start, 2)));
        // a starts its poll; meanwhile b runs something and turns idle again.
        let seen = clock.plan(a).unwrap();
        clock.withdraw(b);
        assert!(!idle(&clock, b, secs(start, 2)));
        // a's poll began before b's busy stretch ended: it may have missed
        // what b did, so it does not count.
        assert!(!clock.vote(a, seen, secs(start, 1)));
        assert_eq!(clock.now(), start);
        assert!(idle(&clock, a, secs(start, 1)), "a fresh poll does");
        assert_eq!(clock.now(), start + Duration::from_secs(1));
    }

    #[test]
    fn members_outside_block_on_hold_nothing_and_their_deadlines_are_skipped() {
        let (start, clock, a, b) = two_members();
        assert!(!idle(&clock, b, secs(start, 1)));
        clock.set_running(b, false);
        assert!(idle(&clock, a, secs(start, 10)));
        assert_eq!(clock.now(), start + Duration::from_secs(10));
        // Back inside `block_on`, busy until it has waited.
        clock.set_running(b, true);
        assert!(!idle(&clock, a, secs(start, 20)));
    }

    #[test]
    fn a_member_leaving_lets_the_others_jump() {
        let start = Instant::now();
        let clock = VirtualClock::new(start, true, true);
        let (a, a_rouses) = member(&clock);
        let (b, _) = member(&clock);
        assert!(!idle(&clock, a, secs(start, 3)));
        clock.leave(b);
        assert_eq!(a_rouses.0.load(Ordering::SeqCst), 1);
        assert!(idle(&clock, a, secs(start, 3)));
        // The slot is reused.
        assert_eq!(member(&clock).0, b);
    }

    #[test]
    fn a_hold_keeps_the_clock_unless_it_stepped_aside() {
        let start = Instant::now();
        let clock = VirtualClock::new(start, true, true);
        let (a, _) = member(&clock);
        let hold = clock.hold();
        assert!(!idle(&clock, a, secs(start, 1)), "a core's thread outside its runtime holds the clock");
        let aside = hold.aside();
        assert!(idle(&clock, a, secs(start, 1)));
        drop(aside);
        assert!(!idle(&clock, a, secs(start, 2)));
        drop(hold);
        assert!(idle(&clock, a, secs(start, 2)), "gone, it holds nothing");
    }

    #[test]
    fn advance_moves_every_member_and_rouses_the_idle_ones() {
        let start = Instant::now();
        let clock = VirtualClock::new(start, true, false);
        let (a, _) = member(&clock);
        let (b, b_rouses) = member(&clock);
        assert!(!idle(&clock, b, secs(start, 1)), "no auto-advance: no jump");
        clock.advance(a, Duration::from_secs(90));
        assert_eq!(clock.now(), start + Duration::from_secs(90));
        assert_eq!(b_rouses.0.load(Ordering::SeqCst), 1);
        clock.advance(a, Duration::MAX);
        assert!(clock.now() > start + Duration::from_secs(86_400 * 365 * 29), "saturates at never");
    }

    #[test]
    fn a_resumed_clock_runs_on_from_where_it_stood() {
        let start = Instant::now();
        let clock = VirtualClock::new(start, true, true);
        let (a, _) = member(&clock);
        clock.advance(a, Duration::from_secs(3600));
        clock.resume(a);
        let ahead = clock.now().saturating_duration_since(Instant::now());
        assert!(ahead > Duration::from_secs(3599) && ahead <= Duration::from_secs(3600));
        let t = clock.now();
        assert!(clock.now() >= t);
        clock.pause(a);
        let stood = clock.now();
        assert!(stood >= t);
        assert_eq!(clock.now(), stood);
        // Paused again: a jump never goes backwards.
        assert!(idle(&clock, a, Some(start)));
        assert_eq!(clock.now(), stood);
    }
}
