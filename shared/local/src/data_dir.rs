//! Checks on a data directory as a whole, before its databases are opened.
//!
//! The store (`handoff.sqlite`) and the queues (`queue.sqlite`) are written together, so one of
//! them empty (0 bytes, nothing in its `-wal` either) while the other holds data means a file
//! was truncated or replaced — a full disk, a bad copy, a restore of one file. SQLite would
//! happily treat the empty one as new: a store that forgot every handoff the queue still refers
//! to, or a queue that lost every message. [`check_not_truncated`] refuses that instead, saying
//! which file looks truncated and how to recover. A file that is missing altogether is not
//! refused (a new data directory, or one a command created only part of).
//!
//! [`create_data_dir`] creates a new data directory private to its owner.

use std::path::{Path, PathBuf};
use thiserror::Error;

/// Creates the data directory (and missing parents) private to its owner (`0700`); an existing
/// directory is left as it is.
pub fn create_data_dir(dir: &Path) -> std::io::Result<()> {
    crate::fsutil::create_private_dir_all(dir)
}

/// One of the pair is empty while the other holds data.
#[derive(Debug, Error)]
#[error(
    "{empty} is empty (0 bytes) but {other} holds data, so {empty} looks truncated; opening it \
     would start from nothing and lose what it held. Stop every handoff process using this data \
     directory, move the directory away (keep it to recover from, or restore the file from a \
     backup) and start again with an empty one. If you accept losing what {empty} held, delete \
     it and start again"
)]
pub struct TruncatedFile {
    /// The file that looks truncated.
    pub empty: PathBuf,
    /// The file that still holds data.
    pub other: PathBuf,
}

/// Refuses a pair of database files where one is empty and the other is not (see the module
/// docs).
pub fn check_not_truncated(store: &Path, queue: &Path) -> Result<(), TruncatedFile> {
    match (state(store), state(queue)) {
        (FileState::Empty, FileState::HoldsData) => Err(TruncatedFile {
            empty: store.to_path_buf(),
            other: queue.to_path_buf(),
        }),
        (FileState::HoldsData, FileState::Empty) => Err(TruncatedFile {
            empty: queue.to_path_buf(),
            other: store.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileState {
    Missing,
    Empty,
    HoldsData,
}

/// Whether a database holds data: bytes in the file or in its `-wal`.
fn state(path: &Path) -> FileState {
    let len = |p: &Path| std::fs::metadata(p).ok().map(|m| m.len());
    let mut wal = path.as_os_str().to_os_string();
    wal.push("-wal");
    match (len(path), len(Path::new(&wal))) {
        (None, _) => FileState::Missing,
        (Some(0), None | Some(0)) => FileState::Empty,
        _ => FileState::HoldsData,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_empty_file_beside_one_with_data_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("handoff.sqlite");
        let queue = dir.path().join("queue.sqlite");
        let put = |path: &Path, bytes: Option<&[u8]>| match bytes {
            Some(b) => std::fs::write(path, b).unwrap(),
            None => {
                let _ = std::fs::remove_file(path);
            }
        };
        let data: &[u8] = b"SQLite format 3\0";
        /// What a file holds: `None` when it does not exist.
        type Content<'a> = Option<&'a [u8]>;
        // (store, queue, store's -wal, refused as truncated)
        let cases: [(Content, Content, Content, Option<&Path>); 8] = [
            (None, None, None, None),
            (Some(b""), Some(b""), None, None),
            (Some(data), Some(data), None, None),
            (None, Some(data), None, None),
            (Some(data), None, None, None),
            (Some(b""), Some(data), None, Some(&store)),
            (Some(data), Some(b""), None, Some(&queue)),
            (Some(b""), Some(data), Some(data), None),
        ];
        let wal = dir.path().join("handoff.sqlite-wal");
        for (i, (s, q, w, refused)) in cases.into_iter().enumerate() {
            put(&store, s);
            put(&queue, q);
            put(&wal, w);
            let got = check_not_truncated(&store, &queue).err().map(|e| e.empty);
            assert_eq!(got.as_deref(), refused, "case {i}");
        }
    }
}
