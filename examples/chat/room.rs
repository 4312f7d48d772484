//! The chat room both chat examples share (`chat_server.rs` over TCP lines,
//! `ws_chat.rs` over WebSockets): an outbox per client, and the rule that
//! a slow client is dropped, not waited for.
// Each example uses part of it: `chat_server` never asks `contains`.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use slab::Slab;
use sprout::queue::Queue;

/// How many messages may wait for one client before it is dropped.
pub const OUTBOX: usize = 1024;

/// A client's messages to send; its writer task takes them out.
pub type Outbox<M> = Rc<Queue<M>>;

/// The clients in the room, by key.
pub struct Room<M> {
    clients: RefCell<Slab<(String, Outbox<M>)>>,
    dropped: Cell<usize>,
    /// Numbers the guests.
    arrivals: Cell<usize>,
}

impl<M> Default for Room<M> {
    fn default() -> Self {
        Room { clients: RefCell::default(), dropped: Cell::new(0), arrivals: Cell::new(0) }
    }
}

impl<M: Clone> Room<M> {
    /// A new guest: its key, its name, and the outbox its writer empties.
    pub fn enter(&self) -> (usize, String, Outbox<M>) {
        let outbox = Rc::new(Queue::new(OUTBOX));
        self.arrivals.set(self.arrivals.get() + 1);
        let name = format!("guest{}", self.arrivals.get());
        let key = self.clients.borrow_mut().insert((name.clone(), outbox.clone()));
        (key, name, outbox)
    }

    /// Queues `msg` for everyone but `from`; whoever is full is dropped.
    pub fn broadcast(&self, from: usize, msg: &M) {
        let full: Vec<usize> = self
            .clients
            .borrow()
            .iter()
            .filter(|&(key, (_, outbox))| key != from && outbox.put_nowait(msg.clone()).is_err())
            .map(|(key, _)| key)
            .collect();
        for key in full {
            self.drop_client(key, "fell 1,024 messages behind");
        }
    }

    /// Disconnects a client: closing its outbox ends its writer, which
    /// closes the connection.
    pub fn drop_client(&self, key: usize, why: &str) {
        let removed = self.clients.borrow_mut().try_remove(key);
        if let Some((name, outbox)) = removed {
            outbox.close();
            self.dropped.set(self.dropped.get() + 1);
            println!("server: dropped {name}: {why}");
        }
    }

    /// Whether `key` is still in the room (it may have been dropped).
    pub fn contains(&self, key: usize) -> bool {
        self.clients.borrow().contains(key)
    }

    /// A client left on its own.
    pub fn leave(&self, key: usize) {
        if let Some((name, _)) = self.clients.borrow_mut().try_remove(key) {
            println!("server: {name} left");
        }
    }

    /// How many clients were dropped for being slow.
    pub fn dropped(&self) -> usize {
        self.dropped.get()
    }
}
