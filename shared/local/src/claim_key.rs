//! The claim-link key of a data directory: `DATA/claim-secret`, generated on first use.
//!
//! The file holds the key as text, used as written: 64 hex digits when handoff generates it (32
//! bytes from the system's random source), or anything [`check_claim_key`] accepts — hex or
//! base64 of at least 32 random bytes, surrounding whitespace ignored — when you put your own
//! (`openssl rand -hex 32 > DATA/claim-secret`). Files written by earlier versions (64 hex
//! digits) keep signing the same links. A key that is empty, blank, too short or not random
//! is refused with the file named; it is never replaced silently, since that would also void
//! every link already sent.
//!
//! A new key is written to a private temp file (`0600` from creation), flushed, then linked
//! into place so two processes starting together cannot end up with different keys.

use crate::fsutil;
use handoff_domain::claim_link::{check_claim_key, WeakClaimKey};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The key's file name in a data directory.
pub const CLAIM_KEY_FILE: &str = "claim-secret";

/// Why the claim-link key of a data directory cannot be used.
#[derive(Debug, Error)]
pub enum ClaimKeyError {
    #[error("cannot read the claim-link key {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the claim-link key in {path} is refused: {reason}. Put a key of 32 random bytes there \
         (`openssl rand -hex 32 > {path}`), or delete the file to have one generated; claim \
         links already sent stop working either way"
    )]
    Weak { path: PathBuf, reason: WeakClaimKey },
    #[error("cannot write a new claim-link key to {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read random bytes for a new claim-link key: {0}")]
    Random(#[source] io::Error),
}

/// The claim-link key of the data directory `dir`, created there on first use.
pub fn claim_key(dir: &Path) -> Result<Vec<u8>, ClaimKeyError> {
    let path = dir.join(CLAIM_KEY_FILE);
    if let Some(key) = read_key(&path)? {
        return Ok(key);
    }
    let hex = hex::encode(random_bytes()?);
    let created =
        fsutil::create_atomic(&path, hex.as_bytes()).map_err(|source| ClaimKeyError::Write {
            path: path.clone(),
            source,
        })?;
    if created {
        return Ok(hex.into_bytes());
    }
    // Another process created it first: use theirs.
    read_key(&path)?.ok_or_else(|| ClaimKeyError::Read {
        path,
        source: io::Error::new(io::ErrorKind::NotFound, "it vanished after it was created"),
    })
}

/// The checked key in `path`, or `None` when there is no file.
fn read_key(path: &Path) -> Result<Option<Vec<u8>>, ClaimKeyError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ClaimKeyError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let weak = |reason| ClaimKeyError::Weak {
        path: path.to_path_buf(),
        reason,
    };
    let text = String::from_utf8(bytes).map_err(|_| weak(WeakClaimKey::NotEncoded))?;
    let key = text.trim();
    check_claim_key(key).map_err(weak)?;
    if let Err(e) = fsutil::restrict_to_owner(path) {
        tracing::warn!(path = %path.display(), error = %e, "cannot make the claim-link key private to its owner");
    }
    Ok(Some(key.as_bytes().to_vec()))
}

/// 32 bytes from the system's random source.
fn random_bytes() -> Result<[u8; 32], ClaimKeyError> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(ClaimKeyError::Random)?;
    Ok(bytes)
}
