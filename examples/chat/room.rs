//! The chat room both chat examples share (`chat_server.rs` over TCP lines,
//! `ws_chat.rs` over WebSockets): one broadcast channel carries every
//! message to every client, and a slow client is dropped, not waited for.
//!
//! The room keeps the last 1,024 messages, once, for everyone
//! (`sprout::sync::broadcast`); each client's writer reads them through its
//! own cursor. A client more than 1,024 messages behind is told so by the
//! channel (`Lagged`), and the room drops it: its writer ends and closes
//! the connection. A slow client costs the room no memory of its own.
// Each example uses part of it: `chat_server` never asks `contains`.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::future::{Either, select};
use slab::Slab;
use sprout::sync::Event;
use sprout::sync::broadcast::{self, RecvError};

/// How many messages the room keeps: a client further behind is dropped.
pub(crate) const OUTBOX: usize = 1024;

/// The clients in the room, by key, and the channel every message goes through.
pub(crate) struct Room<M> {
    /// Each message with the key of the client who said it.
    tx: broadcast::Sender<(usize, M)>,
    clients: Rc<Clients>,
}

/// Who is in the room (shared with the outboxes, which drop their client).
#[derive(Default)]
struct Clients {
    names: RefCell<Slab<String>>,
    dropped: Cell<usize>,
    /// Numbers the guests.
    arrivals: Cell<usize>,
}

/// A client's view of the room: the messages of the others, in order; its
/// writer takes them out.
pub(crate) struct Outbox<M> {
    me: usize,
    rx: broadcast::Receiver<(usize, M)>,
    clients: Rc<Clients>,
    farewell: Rc<Farewell<M>>,
}

/// A client's last word from the server (why it is being disconnected):
/// its writer sends it, then ends. The read loop keeps this handle after
/// the outbox moved into the writer.
pub(crate) struct Farewell<M> {
    word: RefCell<Option<M>>,
    said: Event,
}

impl<M> Farewell<M> {
    /// Hands `word` to the client's writer, which sends it next and then
    /// closes the connection.
    pub(crate) fn say(&self, word: M) {
        *self.word.borrow_mut() = Some(word);
        self.said.set();
    }
}

/// The client's outbox ends: it was dropped, or the room is gone.
#[derive(Debug)]
pub(crate) struct Gone;

impl<M: Clone> Default for Room<M> {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(OUTBOX);
        Room { tx, clients: Rc::default() }
    }
}

impl<M: Clone> Room<M> {
    /// A new guest: its key, its name, and the outbox its writer empties.
    pub(crate) fn enter(&self) -> (usize, String, Outbox<M>) {
        self.clients.arrivals.set(self.clients.arrivals.get() + 1);
        let name = format!("guest{}", self.clients.arrivals.get());
        let me = self.clients.names.borrow_mut().insert(name.clone());
        let farewell = Rc::new(Farewell { word: RefCell::new(None), said: Event::new() });
        (me, name, Outbox { me, rx: self.tx.subscribe(), clients: self.clients.clone(), farewell })
    }

    /// Sends `msg` to everyone but `from` (each outbox skips its own).
    pub(crate) fn broadcast(&self, from: usize, msg: &M) {
        // No receiver: nobody is in the room to hear it.
        let _ = self.tx.send((from, msg.clone()));
    }

    /// Disconnects a client (its writer saw the socket take nothing).
    pub(crate) fn drop_client(&self, key: usize, why: &str) {
        self.clients.drop_client(key, why);
    }

    /// Whether `key` is still in the room (it may have been dropped).
    pub(crate) fn contains(&self, key: usize) -> bool {
        self.clients.names.borrow().contains(key)
    }

    /// A client left on its own.
    pub(crate) fn leave(&self, key: usize) {
        if let Some(name) = self.clients.names.borrow_mut().try_remove(key) {
            println!("server: {name} left");
        }
    }

    /// How many clients were dropped for being slow.
    pub(crate) fn dropped(&self) -> usize {
        self.clients.dropped.get()
    }
}

impl Clients {
    fn drop_client(&self, key: usize, why: &str) {
        let removed = self.names.borrow_mut().try_remove(key);
        if let Some(name) = removed {
            self.dropped.set(self.dropped.get() + 1);
            println!("server: dropped {name}: {why}");
        }
    }
}

impl<M: Clone> Outbox<M> {
    /// The handle that gives this client its last word.
    pub(crate) fn farewell(&self) -> Rc<Farewell<M>> {
        self.farewell.clone()
    }

    /// The next message from another client, or the client's last word.
    /// `Err(Gone)` after the last word, once this client fell more than
    /// [`OUTBOX`] messages behind (it is dropped from the room then), or
    /// when the room is gone.
    pub(crate) async fn get(&mut self) -> Result<M, Gone> {
        loop {
            if self.farewell.said.is_set() {
                return self.farewell.word.borrow_mut().take().ok_or(Gone);
            }
            let next = match select(std::pin::pin!(self.rx.recv()), std::pin::pin!(self.farewell.said.wait())).await {
                Either::Left((next, _)) => next,
                Either::Right(_) => continue, // the last word, above
            };
            match next {
                Ok((from, msg)) if from != self.me => return Ok(msg),
                Ok(_) => {} // its own
                Err(RecvError::Lagged(missed)) => {
                    let why = format!("fell {OUTBOX} messages behind ({missed} lost)");
                    self.clients.drop_client(self.me, &why);
                    return Err(Gone);
                }
                Err(RecvError::Closed) => return Err(Gone),
            }
        }
    }
}
