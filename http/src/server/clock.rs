//! A connection's clock: its phase and the deadline that goes with it.
//!
//! A connection is in one of three phases, kept in [`Clock`] and moved by
//! the three parties that see the changes:
//!
//! | phase | entered when | by | deadline |
//! | --- | --- | --- | --- |
//! | `Head` | the connection is accepted; bytes of a head are handed to hyper while `Idle`; a response is done and bytes of the next head are already with hyper | `conn::serve`, `Watched`, `service::Tracked` | header-read timeout |
//! | `Busy` | hyper calls the handler | `service::Svc` | none |
//! | `Idle` | the last response in flight has been sent (its body dropped) and no byte of a next head has come | `service::Tracked` | keep-alive timeout |
//!
//! "Bytes of a head" is exact, not "any bytes": `Watched` hands hyper one
//! part of a message at a time (`framing`), so a pipelined half head that
//! came in one write with the request before it is seen when hyper gets
//! it, and times out as a head, not as an idle connection.
//!
//! The connection's task keeps one sprout timer and arms it lazily: the
//! phase changes only write a deadline; the task re-arms the timer when it
//! is about to sleep and the timer would fire *later* than the deadline. A
//! timer that fires early (the deadline moved on) is re-armed; one that
//! fires while `Busy` is ignored. On a busy keep-alive connection the
//! timing wheel is therefore touched about once per keep-alive period, not
//! once per request.
//!
//! HTTP/2 connections never enter `Head` (`Marks::unframed`): a stream of
//! pings or window updates is not a slow request head.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64};
use std::time::{Duration, Instant};

use super::framing::BodyLen;

/// Where a connection is between requests (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Phase {
    /// Waiting for (the rest of) a request head.
    Head = 0,
    /// A request is being handled or its response sent.
    Busy = 1,
    /// Waiting for the next request on a kept-alive connection.
    Idle = 2,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Head,
            1 => Phase::Busy,
            _ => Phase::Idle,
        }
    }
}

/// `Marks::deadline` for "no deadline".
const NEVER: u64 = u64::MAX;
/// `Marks::body` when hyper has parsed no head since the stream last looked.
const NO_BODY_NEWS: u64 = u64::MAX;
/// `Marks::body` for a chunked body.
const CHUNKED: u64 = u64::MAX - 1;

/// What the stream (`Watched`) and the service write and the connection's
/// task reads: the phase and its deadline, and the news between the
/// service and the stream.
///
/// Atomics, although one thread does everything, so that the watched
/// stream is `Send`: hyper hands an upgraded connection (a WebSocket) out
/// as a `Send` object. Every access is `Relaxed`, a plain load or store
/// on x86 and ARM, as cheap as a `Cell`.
pub(crate) struct Marks {
    phase: AtomicU8,
    /// When the phase times out, in nanoseconds since `base`; `NEVER` for never.
    deadline: AtomicU64,
    base: Instant,
    header_read: Option<Duration>,
    /// HTTP/2, or hyper has let go of the stream (an upgrade): no heads
    /// to find, no phases for the stream to move.
    unframed: AtomicBool,
    /// Bytes of the next head reached hyper while `Busy`: the response's
    /// end starts a `Head`, not an `Idle`.
    head_waiting: AtomicBool,
    /// How the body of the head hyper last parsed is framed, for the
    /// stream to read once (`NO_BODY_NEWS` when read, `CHUNKED`, or a length).
    body: AtomicU64,
}

impl Marks {
    #[inline]
    fn set(&self, phase: Phase, timeout: Option<Duration>) {
        self.phase.store(phase as u8, Relaxed);
        // The runtime's clock, so that paused (virtual) time drives the timeouts.
        let elapsed = sprout_runtime::time::now().saturating_duration_since(self.base);
        // A deadline past what the nanoseconds hold (584 years; `Duration::MAX`
        // among them) is no deadline.
        let nanos = timeout.and_then(|t| elapsed.checked_add(t)).map(|d| d.as_nanos());
        let deadline = nanos.and_then(|n| u64::try_from(n).ok()).unwrap_or(NEVER);
        self.deadline.store(deadline, Relaxed);
    }

    /// Bytes of a request head (or empty lines before one) were handed to
    /// hyper, by a stream that checked [`framed`](Self::framed).
    #[inline]
    pub(crate) fn head_bytes(&self) {
        match Phase::from_u8(self.phase.load(Relaxed)) {
            Phase::Idle => self.set(Phase::Head, self.header_read),
            Phase::Busy => self.head_waiting.store(true, Relaxed),
            Phase::Head => {}
        }
    }

    /// Whether the stream should follow message framing (HTTP/1 under hyper).
    #[inline]
    pub(crate) fn framed(&self) -> bool {
        !self.unframed.load(Relaxed)
    }

    /// No more phases: HTTP/2, or hyper has let go of the stream.
    pub(crate) fn unframe(&self) {
        self.unframed.store(true, Relaxed);
    }

    /// How the body of the head hyper parsed since the last call is
    /// framed, if it parsed one.
    #[inline]
    pub(crate) fn take_body(&self) -> Option<BodyLen> {
        if self.body.load(Relaxed) == NO_BODY_NEWS {
            return None;
        }
        match self.body.swap(NO_BODY_NEWS, Relaxed) {
            NO_BODY_NEWS => None,
            CHUNKED => Some(BodyLen::Chunked),
            n => Some(BodyLen::Length(n)),
        }
    }
}

/// A connection's phase and the deadline that goes with it.
pub(crate) struct Clock {
    marks: Arc<Marks>,
    /// Requests whose responses are not fully sent (HTTP/2 runs several).
    in_flight: Cell<u32>,
    keep_alive: Option<Duration>,
}

impl Clock {
    /// A new connection's clock: in `Head` (a client that connects and
    /// sends nothing is a slow head).
    pub(crate) fn new(header_read: Option<Duration>, keep_alive: Option<Duration>) -> Clock {
        let marks = Marks {
            phase: AtomicU8::new(Phase::Head as u8),
            deadline: AtomicU64::new(NEVER),
            base: sprout_runtime::time::now(),
            header_read,
            unframed: AtomicBool::new(false),
            head_waiting: AtomicBool::new(false),
            body: AtomicU64::new(NO_BODY_NEWS),
        };
        marks.set(Phase::Head, header_read);
        Clock { marks: Arc::new(marks), in_flight: Cell::new(0), keep_alive }
    }

    /// What the stream shares.
    pub(crate) fn marks(&self) -> &Arc<Marks> {
        &self.marks
    }

    /// hyper called the handler with a request whose body is framed as `body`.
    #[inline]
    pub(crate) fn request_started(&self, body: BodyLen) {
        self.in_flight.set(self.in_flight.get() + 1);
        self.marks.set(Phase::Busy, None);
        let body = match body {
            BodyLen::Chunked => CHUNKED,
            // A length this long is never reached: as good as chunked.
            BodyLen::Length(n) => n.min(CHUNKED - 1),
        };
        self.marks.body.store(body, Relaxed);
    }

    /// A response was sent (or abandoned).
    #[inline]
    pub(crate) fn response_done(&self) {
        let left = self.in_flight.get().saturating_sub(1);
        self.in_flight.set(left);
        if left == 0 {
            if self.marks.head_waiting.load(Relaxed) {
                self.marks.head_waiting.store(false, Relaxed);
                // The next head has begun already: its clock starts now.
                self.marks.set(Phase::Head, self.marks.header_read);
            } else {
                self.marks.set(Phase::Idle, self.keep_alive);
            }
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        Phase::from_u8(self.marks.phase.load(Relaxed))
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self.marks.deadline.load(Relaxed) {
            NEVER => None,
            nanos => Some(self.marks.base + Duration::from_nanos(nanos)),
        }
    }
}
