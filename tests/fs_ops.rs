//! `sprout::fs` functions and `read_dir`.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::PathBuf;

use futures::StreamExt;
use sprout::fs;

/// A fresh directory for one test, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("sprout-fs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn whole_file_round_trips() {
    let dir = Scratch::new("round-trip");
    sprout::run(async {
        let path = dir.0.join("a.bin");
        let bytes: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        fs::write(&path, &bytes).await.unwrap();
        assert_eq!(fs::read(&path).await.unwrap(), bytes);
        assert_eq!(fs::metadata(&path).await.unwrap().len(), 100_000);

        let text = dir.0.join("t.txt");
        fs::write(&text, "héllo").await.unwrap();
        assert_eq!(fs::read_to_string(&text).await.unwrap(), "héllo");
        // Not UTF-8: a clear error, not a panic.
        let err = fs::read_to_string(&path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);

        assert_eq!(fs::copy(&text, dir.0.join("u.txt")).await.unwrap(), 6);
        fs::rename(dir.0.join("u.txt"), dir.0.join("v.txt")).await.unwrap();
        assert_eq!(fs::read_to_string(dir.0.join("v.txt")).await.unwrap(), "héllo");
        fs::remove_file(dir.0.join("v.txt")).await.unwrap();
        let canon = fs::canonicalize(&text).await.unwrap();
        assert!(canon.is_absolute());
        assert!(fs::symlink_metadata(&text).await.unwrap().is_file());
    });
}

#[sprout::test]
async fn missing_paths_give_not_found() {
    let missing = std::env::temp_dir().join(format!("sprout-fs-missing-{}/nope", std::process::id()));
    assert_eq!(fs::read(&missing).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(fs::metadata(&missing).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(fs::read_dir(&missing).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(fs::remove_file(&missing).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(sprout::fs::File::open(&missing).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn read_dir_lists_every_entry_across_batches() {
    let dir = Scratch::new("read-dir");
    sprout::run(async {
        fs::create_dir_all(dir.0.join("sub/deeper")).await.unwrap();
        let mut expected = BTreeSet::new();
        for i in 0..100 {
            let name = format!("f{i:03}");
            fs::write(dir.0.join(&name), [i as u8]).await.unwrap();
            expected.insert(name);
        }
        expected.insert("sub".to_string());

        let mut seen = BTreeSet::new();
        let mut entries = fs::read_dir(&dir.0).await.unwrap();
        while let Some(entry) = entries.next_entry().await.unwrap() {
            let name = entry.file_name().into_string().unwrap();
            assert_eq!(entry.path(), dir.0.join(&name));
            let kind = entry.file_type().await.unwrap();
            assert_eq!(kind.is_dir(), name == "sub");
            if !kind.is_dir() {
                assert_eq!(entry.metadata().await.unwrap().len(), 1);
            }
            seen.insert(name);
        }
        assert_eq!(seen, expected);
        // Exhausted stays exhausted.
        assert!(entries.next_entry().await.unwrap().is_none());

        // As a stream.
        let count = fs::read_dir(dir.0.join("sub")).await.unwrap().count().await;
        assert_eq!(count, 1);
        fs::remove_dir(dir.0.join("sub/deeper")).await.unwrap();
        fs::remove_dir_all(dir.0.join("sub")).await.unwrap();
        assert!(!dir.0.join("sub").exists());
    });
}

#[test]
fn fs_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let read = fs::read("x");
    assert_send(&read);
    let write = fs::write("x", b"y");
    assert_send(&write);
}
