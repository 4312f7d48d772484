//! One dial per origin while HTTP/2 may come of it.
//!
//! An HTTP/2 connection carries every request to its origin at once, but
//! whether a new TLS connection speaks it is known only when its handshake
//! ends (ALPN). Without coordination, fifty requests fired at once from a
//! fresh client find the pool empty and dial fifty connections. So the
//! first request that must dial to an origin that may answer `h2`
//! becomes the [`Leader`]; the others that arrive while it dials
//! [`wait`](Dial::wait) for its [`Outcome`]:
//!
//! | outcome | the waiters |
//! | --- | --- |
//! | `Http2` | take the shared connection from the pool |
//! | `Http1` | take an idle HTTP/1 connection from the pool if there is one, else dial their own (HTTP/1 carries one exchange at a time); the origin is remembered as HTTP/1, so later dials to it do not wait |
//! | `Failed` | fail with the same error, at once, instead of each waiting out its own timeout |
//! | `Abandoned` | the leader was dropped mid-dial (its request cancelled or timed out): the first waiter to run leads a new dial, the rest wait for it |
//!
//! A waiter waits at most a bound (the connect timeout, or
//! [`DEFAULT_WAIT`]), then dials its own, so a stuck handshake delays the
//! others by no more than that. Nothing here needs cleaning after a
//! dropped waiter; a dropped leader publishes `Abandoned` from its `Drop`.
//!
//! An origin that answered HTTP/1 is dialled without waiting until one of
//! its connections negotiates `h2` again (every dial still offers it).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use sprout_runtime::sync::Event;

use super::Kind;
use crate::url::target::Target;

/// How long a request waits for another's dial when no connect timeout
/// is set: a TLS handshake on a healthy network takes well under a
/// second; past this the waiter stops counting on it.
pub(crate) const DEFAULT_WAIT: Duration = Duration::from_secs(10);

/// The dials in progress, and the origins known to answer HTTP/1.
#[derive(Default)]
pub(crate) struct Dials {
    pending: RefCell<HashMap<Target, Rc<Dial>>>,
    http1: RefCell<HashSet<Target>>,
}

/// What a dial turned into, as its waiters need to know.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// An HTTP/2 connection, now in the pool.
    #[cfg_attr(not(feature = "http2"), allow(dead_code))] // only an h2 dial leads to it
    Http2,
    /// An HTTP/1 connection, kept by the leader.
    Http1,
    /// The dial failed: its error's kind and message.
    Failed(Kind, String),
    /// The leader was dropped before the dial ended.
    Abandoned,
}

/// One dial in progress, as its waiters see it.
pub(crate) struct Dial {
    done: Event,
    outcome: RefCell<Option<Outcome>>,
}

/// A request's part in the dials to its origin.
pub(crate) enum Turn {
    /// Dial, then [`Leader::finish`] with what came of it.
    Lead(Leader),
    /// Another request is dialling: [`Dial::wait`] for it.
    Wait(Rc<Dial>),
}

impl Dials {
    /// The origin answered HTTP/1 last time: dial without waiting.
    pub(crate) fn is_http1(&self, origin: &Target) -> bool {
        self.http1.borrow().contains(origin)
    }

    /// Joins the dial to `origin` in progress, or starts one.
    pub(crate) fn join(self: &Rc<Self>, origin: &Target) -> Turn {
        if let Some(dial) = self.pending.borrow().get(origin) {
            return Turn::Wait(dial.clone());
        }
        let dial = Rc::new(Dial { done: Event::new(), outcome: RefCell::new(None) });
        self.pending.borrow_mut().insert(origin.clone(), dial.clone());
        Turn::Lead(Leader { dials: self.clone(), origin: origin.clone(), dial: Some(dial) })
    }
}

impl Dial {
    /// Waits for the leader's outcome, at most `bound` (`None`: waited
    /// that long, dial your own).
    pub(crate) async fn wait(&self, bound: Duration) -> Option<Outcome> {
        if !self.done.wait_timeout(bound).await {
            return None;
        }
        let outcome = self.outcome.borrow();
        Some(match outcome.as_ref()? {
            Outcome::Http2 => Outcome::Http2,
            Outcome::Http1 => Outcome::Http1,
            Outcome::Failed(kind, message) => Outcome::Failed(*kind, message.clone()),
            Outcome::Abandoned => Outcome::Abandoned,
        })
    }
}

/// The request that dials for everyone; publishes `Abandoned` if dropped
/// before [`finish`](Leader::finish).
pub(crate) struct Leader {
    dials: Rc<Dials>,
    origin: Target,
    dial: Option<Rc<Dial>>,
}

impl Leader {
    /// Publishes what the dial turned into and wakes the waiters. Call it
    /// after an HTTP/2 connection is in the pool.
    pub(crate) fn finish(mut self, outcome: Outcome) {
        match outcome {
            Outcome::Http1 => drop(self.dials.http1.borrow_mut().insert(self.origin.clone())),
            Outcome::Http2 => drop(self.dials.http1.borrow_mut().remove(&self.origin)),
            Outcome::Failed(..) | Outcome::Abandoned => {}
        }
        self.publish(outcome);
    }

    fn publish(&mut self, outcome: Outcome) {
        let Some(dial) = self.dial.take() else { return };
        self.dials.pending.borrow_mut().remove(&self.origin);
        *dial.outcome.borrow_mut() = Some(outcome);
        // After every borrow is released: waking runs nothing now, but
        // the rule keeps it safe if that ever changes.
        dial.done.set();
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        self.publish(Outcome::Abandoned);
    }
}
