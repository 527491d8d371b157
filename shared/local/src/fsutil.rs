//! Small file-system helpers: atomic replace, appending whole lines, and files only their owner
//! may read.
//!
//! Every file handoff writes into its data directory holds personal data or a key, so it is
//! created with mode `0600` (owner read/write, whatever the umask) from the first byte, never
//! made private after the fact; a directory handoff creates is `0700`. Other platforms keep
//! their defaults.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Replaces `path` with `bytes` atomically: readers see the old or the new file, never a
/// partial one (write a temp file in the same directory, flush it to disk, rename over).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let (dir, tmp) = temp_beside(path)?;
    fs::create_dir_all(dir)?;
    let result = (|| {
        write_private_temp(&tmp, bytes)?;
        fs::rename(&tmp, path)?;
        sync_dir(dir);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates `path` with `bytes` unless it exists, atomically: a reader sees no file or the whole
/// file, and of two processes racing, one creates it and the other gets `Ok(false)` and leaves
/// it alone (a private temp file, flushed to disk, then hard-linked into place, which never
/// replaces an existing file). `Ok(true)` when this call created it.
pub(crate) fn create_atomic(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    let (dir, tmp) = temp_beside(path)?;
    create_private_dir_all(dir)?;
    let result = write_private_temp(&tmp, bytes).and_then(|()| match fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    });
    let _ = fs::remove_file(&tmp);
    if matches!(result, Ok(true)) {
        sync_dir(dir);
    }
    result
}

/// The directory of `path` and a temp file name in it no other call of this process uses.
fn temp_beside(path: &Path) -> io::Result<(&Path, PathBuf)> {
    static NONCE: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "path has no parent directory")
    })?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        NONCE.fetch_add(1, Ordering::Relaxed)
    ));
    Ok((dir, tmp))
}

/// Fails unless a file can be created in `dir` (a probe file, removed at once): the
/// directory's permissions and a read-only mount both show here.
pub(crate) fn probe_writable_dir(dir: &Path) -> io::Result<()> {
    let (_, probe) = temp_beside(&dir.join("write-probe"))?;
    private_options()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    fs::remove_file(&probe)
}

/// Writes a new file with mode `0600` (created afresh, so no symlink is followed) and flushes
/// it to disk.
fn write_private_temp(tmp: &Path, bytes: &[u8]) -> io::Result<()> {
    // A leftover of a crashed process that had the same id.
    let _ = fs::remove_file(tmp);
    let mut file = private_options().write(true).create_new(true).open(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Options that create a file with mode `0600` (on unix; the umask cannot widen it).
pub(crate) fn private_options() -> OpenOptions {
    #[allow(unused_mut)]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates `dir` and any missing parents with mode `0700`; an existing directory is left as it
/// is.
pub(crate) fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Takes the group's and others' permissions off `path` if it exists (a file an earlier version
/// created under the umask); the owner's bits are kept, so a read-only file stays read-only.
pub(crate) fn restrict_to_owner(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_file() => meta.permissions().mode() & 0o7777,
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if mode & 0o077 != 0 {
            fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Appends `line` plus a newline in one write, first ending a torn last line (from a crash
/// mid-append) so every complete line stays parseable; flushes to disk.
pub(crate) fn append_line(path: &Path, line: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut file = private_options()
        .create(true)
        .append(true)
        .read(true)
        .open(path)?;
    let len = file.metadata()?.len();
    let mut text = String::with_capacity(line.len() + 2);
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            text.push('\n');
        }
    }
    text.push_str(line);
    text.push('\n');
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

/// Flushes a directory entry (a rename) to disk where the platform allows; best effort.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn written_and_appended_files_are_private_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let replaced = dir.path().join("crm/h_1.json");
        write_atomic(&replaced, b"{}").unwrap();
        assert_eq!(mode(&replaced), 0o600);
        let log = dir.path().join("notifications.jsonl");
        append_line(&log, "{}").unwrap();
        assert_eq!(mode(&log), 0o600);
        let created = dir.path().join("new/key");
        assert!(create_atomic(&created, b"one").unwrap());
        assert_eq!(mode(&created), 0o600);
        assert_eq!(mode(created.parent().unwrap()), 0o700);
    }

    #[test]
    fn create_atomic_never_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        assert!(create_atomic(&path, b"first").unwrap());
        assert!(!create_atomic(&path, b"second").unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), "first");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn restricting_keeps_the_owner_bits_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        for (before, after) in [
            (0o644, 0o600),
            (0o444, 0o400),
            (0o600, 0o600),
            (0o660, 0o600),
        ] {
            let _ = fs::remove_file(&path);
            fs::write(&path, b"x").unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(before)).unwrap();
            restrict_to_owner(&path).unwrap();
            assert_eq!(mode(&path), after, "{before:o}");
        }
        restrict_to_owner(&dir.path().join("missing")).unwrap();
    }

    #[test]
    fn append_repairs_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        append_line(&path, "{\"a\":1}").unwrap();
        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"torn")
            .unwrap();
        append_line(&path, "{\"b\":2}").unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"a\":1}\n{\"torn\n{\"b\":2}\n");
    }
}
