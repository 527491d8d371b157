//! [`FileCrm`]: the local CRM, one JSON file per handoff.

use crate::fsutil::write_atomic;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use handoff_domain::ids::HandoffId;
use handoff_domain::package::HandoffPackage;
use handoff_domain::ports::{Clock, Crm, CrmRefs, CrmStep, CrmWrite, DeliveryError, SystemClock};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What [`FileCrm`] writes for one handoff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrmRecord {
    /// The reference returned to the caller (`local-crm:<handoff id>`).
    pub reference: String,
    /// When this version of the file was written.
    pub written_at: DateTime<Utc>,
    /// The whole six-part package.
    pub package: HandoffPackage,
    /// The CRM fields as a real CRM would get them (inbound and outbound differ).
    #[serde(default)]
    pub fields: std::collections::BTreeMap<String, String>,
    /// One note per change of owner and per later event that joined the handoff (a new
    /// touch), oldest first.
    #[serde(default)]
    pub owner_changes: Vec<String>,
}

/// Writes `<dir>/crm/<handoff_id>.json` per handoff, atomically (temp file + rename).
///
/// Idempotent on the handoff id: writing it again replaces the file and returns the same
/// reference, so a retried stage never creates a second CRM record.
#[derive(Clone)]
pub struct FileCrm {
    dir: PathBuf,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for FileCrm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileCrm")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl FileCrm {
    /// A CRM writing under `<data_dir>/crm/`, created now if missing (private to its owner, as
    /// is every file written there).
    pub fn new(data_dir: impl AsRef<Path>) -> io::Result<Self> {
        let dir = data_dir.as_ref().join("crm");
        crate::fsutil::create_private_dir_all(&dir)?;
        Ok(Self {
            dir,
            clock: Arc::new(SystemClock),
        })
    }

    /// Uses `clock` for `written_at` (a manual clock in tests and demos).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The directory holding the records (`<data_dir>/crm`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of one handoff.
    pub fn path_of(&self, id: &HandoffId) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// The reference of one handoff's record.
    pub fn reference(id: &HandoffId) -> String {
        format!("local-crm:{id}")
    }

    /// Reads one handoff's record, if written.
    pub fn read(&self, id: &HandoffId) -> io::Result<Option<CrmRecord>> {
        match std::fs::read(self.path_of(id)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes the files of `ids` (erasing a buyer); returns how many existed.
    pub fn erase(&self, ids: &[HandoffId]) -> io::Result<usize> {
        let mut removed = 0;
        for id in ids {
            match std::fs::remove_file(self.path_of(id)) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// Every record written, in file-name order.
    pub fn list(&self) -> io::Result<Vec<CrmRecord>> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p)?;
                serde_json::from_slice(&bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
            })
            .collect()
    }
}

#[async_trait]
impl Crm for FileCrm {
    /// Writes the whole file in one step (a rename is atomic, so there is nothing to record in
    /// between): the package, its CRM fields and the owner-change notes.
    async fn sync(&self, write: &CrmWrite, refs: &CrmRefs) -> Result<CrmStep, DeliveryError> {
        let package = &write.package;
        let reference = Self::reference(&package.handoff_id);
        let record = CrmRecord {
            reference: reference.clone(),
            written_at: self.clock.now(),
            package: package.clone(),
            fields: write
                .fields
                .iter()
                .map(|(f, v)| (f.as_str().to_string(), v.clone()))
                .collect(),
            owner_changes: write.changes.iter().map(|c| c.text.clone()).collect(),
        };
        let bytes = serde_json::to_vec_pretty(&record)
            .map_err(|e| DeliveryError::Permanent(format!("cannot encode the CRM record: {e}")))?;
        let path = self.path_of(&package.handoff_id);
        tokio::task::spawn_blocking(move || write_atomic(&path, &bytes).map_err(|e| (path, e)))
            .await
            .map_err(|e| DeliveryError::Transient(format!("CRM write task failed: {e}")))?
            .map_err(|(path, e)| {
                DeliveryError::Transient(format!("cannot write {}: {e}", path.display()))
            })?;
        Ok(CrmStep::Done(CrmRefs {
            system: "file".into(),
            contact: Some(reference),
            owner: package
                .owner
                .as_ref()
                .and_then(|o| o.rep.as_ref())
                .map(|r| r.to_string()),
            due: package.sla.as_ref().map(|s| s.deadline),
            change_notes: write.changes.len() as u32,
            ..refs.clone()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use handoff_domain::ports::ManualClock;
    use handoff_testkit::fixtures;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_the_whole_package_with_written_at() {
        let dir = tempfile::tempdir().unwrap();
        let crm = FileCrm::new(dir.path())
            .unwrap()
            .with_clock(Arc::new(ManualClock::new(fixtures::at(3))));
        let (record, _) = fixtures::record("crm-file");
        let package = fixtures::package(&record);
        let write = fixtures::crm_write(&package);
        let CrmStep::Done(refs) = crm.sync(&write, &CrmRefs::default()).await.unwrap() else {
            panic!("the file CRM writes in one step");
        };
        assert_eq!(refs.contact, Some(format!("local-crm:{}", record.id)));
        let stored = crm.read(&record.id).unwrap().unwrap();
        assert_eq!(stored.package, package);
        assert_eq!(stored.written_at, fixtures::at(3));
        assert_eq!(crm.list().unwrap(), vec![stored]);
        assert!(dir
            .path()
            .join("crm")
            .join(format!("{}.json", record.id))
            .is_file());
        assert_eq!(crm.read(&fixtures::handoff_id("none")).unwrap(), None);

        let ids = [record.id.clone(), fixtures::handoff_id("none")];
        assert_eq!(crm.erase(&ids).unwrap(), 1);
        assert_eq!(crm.read(&record.id).unwrap(), None);
        assert_eq!(crm.erase(&ids).unwrap(), 0);
    }
}
