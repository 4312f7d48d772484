//! Files and directories without blocking the loop: `std::fs`, async.
//!
//! No OS has readiness for regular files (epoll refuses them, kqueue
//! reports them always readable), so, like gevent's `FileObjectThread` and tokio's `fs`, every
//! call here runs the `std::fs` call on the shared blocking pool
//! ([`spawn_blocking`]) while the task
//! waits and the loop goes on.
//!
//! - [`read`], [`read_to_string`], [`write()`]: whole files at once.
//! - [`metadata`], [`symlink_metadata`], [`read_dir`] ([`ReadDir`],
//!   [`DirEntry`]): what is there.
//! - [`create_dir`], [`create_dir_all`], [`remove_file`], [`remove_dir`],
//!   [`remove_dir_all`], [`rename`], [`copy`]: changes.
//! - [`File`]: an open file with async `read` / `write` / `seek`
//!   (`futures_io::AsyncRead`, `AsyncWrite`, `AsyncSeek`).
//!
//! Each call costs a hand-over to a pool thread and back (a few
//! microseconds), so read and write in large pieces: a whole file with
//! [`read`], or through a buffer. The futures are `Send`.
//!
//! ```
//! use sprout::{fs, run};
//!
//! run(async {
//!     let path = std::env::temp_dir().join(format!("sprout-fs-doc-{}", std::process::id()));
//!     fs::write(&path, "hello, green world").await.unwrap();
//!     assert_eq!(fs::read_to_string(&path).await.unwrap(), "hello, green world");
//!     assert_eq!(fs::metadata(&path).await.unwrap().len(), 18);
//!     fs::remove_file(&path).await.unwrap();
//! });
//! ```

mod file;
mod read_dir;

use std::fs::Metadata;
use std::io;
use std::path::{Path, PathBuf};

pub use file::File;
pub use read_dir::{DirEntry, ReadDir, read_dir};

use crate::blocking::spawn_blocking;

/// Runs a blocking `std::fs` call on the shared pool.
pub(crate) async fn asyncify<F, T>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    spawn_blocking(f).await?
}

/// Reads a whole file into bytes: [`std::fs::read`].
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read(path)).await
}

/// Reads a whole UTF-8 file into a string: [`std::fs::read_to_string`].
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_to_string(path)).await
}

/// Writes `contents` as the whole file, creating or truncating it:
/// [`std::fs::write`]. The bytes are copied for the pool thread.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    asyncify(move || std::fs::write(path, contents)).await
}

/// A path's metadata, following symlinks: [`std::fs::metadata`].
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::metadata(path)).await
}

/// A path's metadata, not following symlinks: [`std::fs::symlink_metadata`].
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::symlink_metadata(path)).await
}

/// The absolute form of a path, with symlinks resolved: [`std::fs::canonicalize`].
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::canonicalize(path)).await
}

/// Creates a directory: [`std::fs::create_dir`].
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir(path)).await
}

/// Creates a directory and its missing parents: [`std::fs::create_dir_all`].
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir_all(path)).await
}

/// Removes a file: [`std::fs::remove_file`].
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_file(path)).await
}

/// Removes an empty directory: [`std::fs::remove_dir`].
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir(path)).await
}

/// Removes a directory and everything in it: [`std::fs::remove_dir_all`].
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir_all(path)).await
}

/// Renames a file or directory: [`std::fs::rename`].
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::rename(from, to)).await
}

/// Copies a file's contents and permissions; returns the bytes copied:
/// [`std::fs::copy`].
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::copy(from, to)).await
}
