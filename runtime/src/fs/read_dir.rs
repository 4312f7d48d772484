//! `read_dir`: a directory's entries, fetched in batches on the pool.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::asyncify;
use crate::blocking::{WorkFuture, spawn_blocking};
use crate::task::coop;

/// Entries read per trip to the pool: enough that a big directory costs
/// few hand-overs, few enough that the first entries come quickly.
const BATCH: usize = 32;

/// Opens a directory to list: [`std::fs::read_dir`], as a stream.
///
/// ```
/// use sprout::{fs, run};
///
/// run(async {
///     let dir = std::env::temp_dir().join(format!("sprout-read-dir-doc-{}", std::process::id()));
///     fs::create_dir_all(&dir).await.unwrap();
///     fs::write(dir.join("a.txt"), "a").await.unwrap();
///     let mut entries = fs::read_dir(&dir).await.unwrap();
///     let mut names = Vec::new();
///     while let Some(entry) = entries.next_entry().await.unwrap() {
///         names.push(entry.file_name());
///     }
///     assert_eq!(names, ["a.txt"]);
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let batch = asyncify(move || {
        let dir = std::fs::read_dir(path)?;
        Ok(Batch { entries: VecDeque::new(), dir: None }.refill(dir))
    })
    .await?;
    Ok(ReadDir { state: State::Idle(Some(batch)) })
}

/// Entries fetched and not yet yielded, and the rest of the directory.
struct Batch {
    entries: VecDeque<io::Result<std::fs::DirEntry>>,
    /// `None` once the directory is exhausted.
    dir: Option<std::fs::ReadDir>,
}

impl Batch {
    /// Reads up to `BATCH` more entries (on a pool thread), keeping `dir`
    /// unless it ran out.
    fn refill(mut self, mut dir: std::fs::ReadDir) -> Batch {
        let before = self.entries.len();
        self.entries.extend(dir.by_ref().take(BATCH));
        if self.entries.len() - before == BATCH {
            self.dir = Some(dir);
        }
        self
    }
}

// On Windows std's `ReadDir` holds a `WIN32_FIND_DATAW` (about 600 bytes):
// one per listing, moved only between the loop and the pool, so not boxed.
#[cfg_attr(windows, allow(clippy::large_enum_variant, reason = "std's ReadDir is large on Windows"))]
enum State {
    Idle(Option<Batch>),
    Busy(WorkFuture<Batch>),
}

/// The stream of a directory's entries returned by [`read_dir`]; each item
/// is an `io::Result<DirEntry>`. Use [`ReadDir::next_entry`], or
/// `StreamExt::next`.
#[must_use = "streams do nothing unless polled"]
pub struct ReadDir {
    state: State,
}

impl ReadDir {
    /// The next entry, or `None` at the end.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        std::future::poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// The next entry, or `None` at the end, for hand-written futures.
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        loop {
            match &mut self.state {
                State::Idle(batch) => {
                    let current = batch.as_mut().expect("a batch while idle");
                    if let Some(entry) = current.entries.pop_front() {
                        return Poll::Ready(entry.map(|e| Some(DirEntry(Arc::new(e)))));
                    }
                    let Some(dir) = current.dir.take() else { return Poll::Ready(Ok(None)) };
                    let next = batch.take().expect("a batch while idle");
                    self.state = State::Busy(spawn_blocking(move || next.refill(dir)));
                }
                State::Busy(work) => {
                    let batch = match Pin::new(work).poll(cx) {
                        Poll::Ready(Ok(batch)) => batch,
                        Poll::Ready(Err(e)) => {
                            self.state = State::Idle(Some(Batch { entries: VecDeque::new(), dir: None }));
                            return Poll::Ready(Err(e.into()));
                        }
                        Poll::Pending => return Poll::Pending,
                    };
                    self.state = State::Idle(Some(batch));
                }
            }
        }
    }
}

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_entry(cx).map(Result::transpose)
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").finish_non_exhaustive()
    }
}

/// An entry of a directory listed by [`read_dir`]. Its name and path are
/// known at once; its type and metadata are looked up on the pool.
#[derive(Clone)]
pub struct DirEntry(Arc<std::fs::DirEntry>);

impl DirEntry {
    /// The entry's full path (the directory's path joined with the name).
    pub fn path(&self) -> PathBuf {
        self.0.path()
    }

    /// The entry's name, without the directory.
    pub fn file_name(&self) -> OsString {
        self.0.file_name()
    }

    /// The entry's metadata, not following symlinks:
    /// [`std::fs::DirEntry::metadata`].
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let entry = self.0.clone();
        asyncify(move || entry.metadata()).await
    }

    /// The entry's type, not following symlinks:
    /// [`std::fs::DirEntry::file_type`].
    pub async fn file_type(&self) -> io::Result<FileType> {
        let entry = self.0.clone();
        asyncify(move || entry.file_type()).await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path()).finish()
    }
}
