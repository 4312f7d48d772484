//! A `tracing` layer that records what the tests of the `tracing` feature
//! look at (`tests/trace_runtime.rs`, `tests/trace_http.rs`): every span
//! with its fields, its parent, and how often it was entered and exited;
//! every event with its target, level, fields and the spans it came in.
//!
//! A test installs it for its own thread ([`Recorder::install`]), so the
//! tests of one binary run side by side without seeing each other's
//! spans. The log is shared (`Arc<Mutex>`): events from other threads
//! (the blocking detector's report thread) land in it too.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::{LookupSpan, Registry};

/// One span, as recorded.
#[derive(Clone, Debug)]
pub(crate) struct SpanRec {
    pub name: &'static str,
    pub target: String,
    pub fields: HashMap<String, String>,
    /// The parent's index in [`Log::spans`].
    pub parent: Option<usize>,
    pub enters: usize,
    pub exits: usize,
    pub closed: bool,
}

/// One event, as recorded.
#[derive(Clone, Debug)]
pub(crate) struct EventRec {
    pub target: String,
    pub level: Level,
    pub fields: HashMap<String, String>,
    /// The spans it came in, innermost first: indexes in [`Log::spans`].
    pub scope: Vec<usize>,
}

impl EventRec {
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// What the layer recorded.
#[derive(Default, Debug)]
pub(crate) struct Log {
    pub spans: Vec<SpanRec>,
    pub events: Vec<EventRec>,
}

impl Log {
    /// The spans named `name`.
    pub(crate) fn spans_named(&self, name: &str) -> Vec<(usize, &SpanRec)> {
        self.spans.iter().enumerate().filter(|(_, s)| s.name == name).collect()
    }

    /// The events of `target`.
    pub(crate) fn events_of(&self, target: &str) -> Vec<&EventRec> {
        self.events.iter().filter(|e| e.target == target).collect()
    }

    /// The event whose message is `message`, if any.
    pub(crate) fn event(&self, message: &str) -> Option<&EventRec> {
        self.events.iter().find(|e| e.field("message") == Some(message))
    }

    /// The names of the spans from `span` up to the root.
    pub(crate) fn ancestry(&self, span: usize) -> Vec<&'static str> {
        let mut names = vec![];
        let mut at = Some(span);
        while let Some(i) = at {
            names.push(self.spans[i].name);
            at = self.spans[i].parent;
        }
        names
    }
}

/// The layer, and the shared log behind it.
#[derive(Clone, Default)]
pub(crate) struct Recorder(Arc<Mutex<Log>>);

impl Recorder {
    /// A recorder, installed as this thread's subscriber until the guard drops.
    pub(crate) fn install() -> (Recorder, tracing::subscriber::DefaultGuard) {
        let recorder = Recorder::default();
        let guard = tracing::subscriber::set_default(Registry::default().with(recorder.clone()));
        (recorder, guard)
    }

    /// A recorder and a subscriber of it, to install as the test chooses.
    pub(crate) fn subscriber() -> (Recorder, impl Subscriber + Send + Sync) {
        let recorder = Recorder::default();
        let subscriber = Registry::default().with(recorder.clone());
        (recorder, subscriber)
    }

    pub(crate) fn log(&self) -> MutexGuard<'_, Log> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The index of a span's record, kept in the registry's extensions (the
/// registry reuses ids once a span closes).
struct Index(usize);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S> Layer<S> for Recorder
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let parent = span.parent().and_then(|p| p.extensions().get::<Index>().map(|i| i.0));
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        let mut log = self.log();
        log.spans.push(SpanRec {
            name: attrs.metadata().name(),
            target: attrs.metadata().target().to_owned(),
            fields,
            parent,
            enters: 0,
            exits: 0,
            closed: false,
        });
        span.extensions_mut().insert(Index(log.spans.len() - 1));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(i) = index(&ctx, id) {
            values.record(&mut Fields(&mut self.log().spans[i].fields));
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(i) = index(&ctx, id) {
            self.log().spans[i].enters += 1;
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(i) = index(&ctx, id) {
            self.log().spans[i].exits += 1;
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(i) = index(&ctx, &id) {
            self.log().spans[i].closed = true;
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let scope = ctx
            .event_scope(event)
            .map(|scope| scope.filter_map(|span| span.extensions().get::<Index>().map(|i| i.0)).collect())
            .unwrap_or_default();
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        self.log().events.push(EventRec {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields,
            scope,
        });
    }
}

fn index<S>(ctx: &Context<'_, S>, id: &Id) -> Option<usize>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    ctx.span(id).and_then(|span| span.extensions().get::<Index>().map(|i| i.0))
}
