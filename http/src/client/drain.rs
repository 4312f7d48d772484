//! Draining a response dropped unread, so its connection survives.
//!
//! An HTTP/1 connection can carry the next request only once the last
//! response's body has been read off it. A response dropped before that
//! (an error page nobody reads, a `HEAD`-like check done with `GET`)
//! would otherwise close its connection, and the next request to the
//! origin would pay a new TCP (and TLS) handshake.
//!
//! The rule, as documented in docs/http.md ("Keep-alive"):
//!
//! | the unread rest of the body | what happens |
//! | --- | --- |
//! | nothing (the end already arrived) | the connection goes back to the pool at once |
//! | a `Content-Length` above [`MAX_BYTES`] | the connection is closed at once |
//! | at most [`MAX_BYTES`], or of unknown length (chunked) | a background task reads and discards it; if it ends within [`MAX_BYTES`] and [`MAX_TIME`], the connection goes back to the pool, otherwise it is closed |
//!
//! A request to the same origin that finds no idle connection while such
//! a drain is under way waits for it (at most [`MAX_TIME`]) rather than
//! dialling: sequential requests whose responses are dropped unread keep
//! using one connection. HTTP/2 needs none of this (a dropped stream is
//! reset; the connection carries on).

use std::rc::Rc;
use std::time::Duration;

use hyper::body::{Body as _, Incoming};
use sprout_runtime::sync::Event;

use super::pool::Loan;

/// The most a dropped body may still have to read for its connection to
/// be kept: 64 KiB is a TCP receive window's worth, what has usually
/// already arrived when a small response is dropped, and reading it
/// costs far less than a new connection.
pub(crate) const MAX_BYTES: u64 = 64 * 1024;

/// How long a drain may take: the rest is meant to be on its way
/// already. It is also the most a request waits for a drain instead of
/// dialling, and about what dialling anew costs (TCP and TLS handshakes
/// on a 30 ms round trip).
pub(crate) const MAX_TIME: Duration = Duration::from_millis(100);

/// Starts draining `incoming`, or gives the connection back / closes it
/// at once, as the table above says.
pub(crate) fn start(incoming: Incoming, loan: Loan) {
    if incoming.is_end_stream() {
        return loan.give_back();
    }
    if incoming.size_hint().lower() > MAX_BYTES {
        return; // dropping the loan closes the connection
    }
    // Dropped outside a runtime (after it ended): no task to run it on.
    if sprout_runtime::Handle::try_current().is_none() {
        return;
    }
    let Some(ticket) = Ticket::new(&loan) else { return };
    drop(sprout_runtime::spawn(async move {
        let drained = sprout_runtime::time::timeout(MAX_TIME, discard(incoming)).await;
        if matches!(drained, Ok(true)) {
            loan.give_back();
        }
        drop(ticket); // after the give-back: a waiter then finds the connection
    }));
}

/// Reads `incoming` to its end; `false` past [`MAX_BYTES`] or on an error.
async fn discard(mut incoming: Incoming) -> bool {
    use http_body_util::BodyExt;
    let mut read = 0u64;
    while let Some(frame) = incoming.frame().await {
        let Ok(frame) = frame else { return false };
        if let Some(data) = frame.data_ref() {
            read += data.len() as u64;
            if read > MAX_BYTES {
                return false;
            }
        }
    }
    true
}

/// A drain in progress, as the pool lists it: dropped (the drain ended,
/// or its task was dropped with the runtime) it leaves the list and wakes
/// the requests waiting for it.
pub(crate) struct Ticket {
    pool: std::rc::Weak<super::pool::Pool>,
    key: super::pool::Key,
    done: Rc<Event>,
}

impl Ticket {
    fn new(loan: &Loan) -> Option<Ticket> {
        let pool = loan.pool.upgrade()?;
        let done = Rc::new(Event::new());
        pool.drain_started(&loan.key, &done);
        Some(Ticket { pool: loan.pool.clone(), key: loan.key.clone(), done })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            pool.drain_ended(&self.key, &self.done);
        }
        self.done.set();
    }
}
