//! Shared helpers for the integration tests: futures and values that count
//! their polls and drops, in the manner of async-task's tests.
#![allow(dead_code)]

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// Counts how often something happened; cheap to clone and share.
#[derive(Clone, Default, Debug)]
pub struct Counter(Rc<Cell<usize>>);

impl Counter {
    pub fn new() -> Counter {
        Counter::default()
    }
    pub fn get(&self) -> usize {
        self.0.get()
    }
    pub fn bump(&self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Bumps its counter when dropped.
pub struct DropCount(pub Counter);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.bump();
    }
}

/// Wraps a future, counting its polls and its drop.
pub struct Counted<F> {
    inner: Pin<Box<F>>,
    polls: Counter,
    _drop: DropCount,
}

impl<F: Future> Counted<F> {
    pub fn new(inner: F, polls: &Counter, drops: &Counter) -> Counted<F> {
        Counted { inner: Box::pin(inner), polls: polls.clone(), _drop: DropCount(drops.clone()) }
    }
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.bump();
        self.inner.as_mut().poll(cx)
    }
}

/// A shared log of events, to check orders.
#[derive(Clone, Default, Debug)]
pub struct Log(Rc<std::cell::RefCell<Vec<String>>>);

impl Log {
    pub fn new() -> Log {
        Log::default()
    }
    pub fn push(&self, s: impl Into<String>) {
        self.0.borrow_mut().push(s.into());
    }
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}
