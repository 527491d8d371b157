//! [`FileRules`]: rules and roster from a TOML file, reloaded when the file changes.

use async_trait::async_trait;
use handoff_domain::config::Rules;
use handoff_domain::ports::{RulesSource, RulesSourceError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// What identifies one version of the file: modification time and length.
type Stamp = (Option<SystemTime>, u64);

#[derive(Default)]
struct Cache {
    /// The last rules that parsed, and the file version they came from.
    good: Option<(Stamp, Arc<Rules>)>,
    /// The last file version that failed to load (warned about once).
    bad: Option<Stamp>,
}

/// Loads rules from a TOML file and reloads them when its modification time or size changes.
///
/// An edit that does not parse is logged (once per file version) and the last good rules stay
/// in force, so a half-saved file never stops the pipeline; `handoff rules check` shows the
/// error. Checking costs one `stat` per call.
pub struct FileRules {
    path: PathBuf,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for FileRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileRules")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let meta = std::fs::metadata(path)?;
    Ok((meta.modified().ok(), meta.len()))
}

impl FileRules {
    /// Loads `path` now: fails fast when it is missing or invalid.
    pub fn new(path: impl Into<PathBuf>) -> Result<Self, RulesSourceError> {
        let me = Self {
            path: path.into(),
            cache: Mutex::new(Cache::default()),
        };
        me.refresh()?;
        Ok(me)
    }

    /// The file it reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current rules, reloading the file if it changed since the last call.
    pub fn refresh(&self) -> Result<Arc<Rules>, RulesSourceError> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let name = self.path.display().to_string();
        let current = match stamp(&self.path) {
            Ok(s) => s,
            Err(e) => {
                return match &cache.good {
                    Some((_, rules)) => {
                        tracing::warn!(path = %name, error = %e, "cannot read the rules file; keeping the last good rules");
                        Ok(rules.clone())
                    }
                    None => Err(RulesSourceError::Unavailable(format!(
                        "cannot read {name}: {e}"
                    ))),
                };
            }
        };
        if let Some((s, rules)) = &cache.good {
            if *s == current || cache.bad == Some(current) {
                return Ok(rules.clone());
            }
        }
        let loaded = std::fs::read_to_string(&self.path)
            .map_err(|e| RulesSourceError::Unavailable(format!("cannot read {name}: {e}")))
            .and_then(|text| Rules::from_toml(&name, &text).map_err(RulesSourceError::from));
        match (loaded, &cache.good) {
            (Ok(rules), _) => {
                let rules = Arc::new(rules);
                if cache.good.is_some() {
                    tracing::info!(path = %name, "rules reloaded");
                }
                cache.good = Some((current, rules.clone()));
                cache.bad = None;
                Ok(rules)
            }
            (Err(e), Some((_, rules))) => {
                tracing::warn!(path = %name, error = %e, "the changed rules file is invalid; keeping the last good rules");
                let rules = rules.clone();
                cache.bad = Some(current);
                Ok(rules)
            }
            (Err(e), None) => Err(e),
        }
    }
}

#[async_trait]
impl RulesSource for FileRules {
    async fn current(&self) -> Result<Arc<Rules>, RulesSourceError> {
        self.refresh()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../examples/handoff.toml");

    fn renamed(org: &str) -> String {
        EXAMPLE.replacen(
            "name = \"Northwind Analytics\"",
            &format!("name = \"{org}\""),
            1,
        )
    }

    #[tokio::test]
    async fn loads_caches_and_reloads_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handoff.toml");
        std::fs::write(&path, EXAMPLE).unwrap();
        let source = FileRules::new(&path).unwrap();
        let first = source.current().await.unwrap();
        assert_eq!(first.org.name, "Northwind Analytics");
        assert!(
            Arc::ptr_eq(&first, &source.current().await.unwrap()),
            "unchanged file is cached"
        );

        // A different size is a change even within the file system's mtime resolution.
        std::fs::write(&path, renamed("Northwind Analytics GmbH")).unwrap();
        assert_eq!(
            source.current().await.unwrap().org.name,
            "Northwind Analytics GmbH"
        );
    }

    #[tokio::test]
    async fn a_broken_edit_keeps_the_last_good_rules() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handoff.toml");
        std::fs::write(&path, EXAMPLE).unwrap();
        let source = FileRules::new(&path).unwrap();
        std::fs::write(&path, "[org]\nname = 1\n").unwrap();
        assert_eq!(
            source.current().await.unwrap().org.name,
            "Northwind Analytics"
        );
        std::fs::write(&path, renamed("Fixed")).unwrap();
        assert_eq!(source.current().await.unwrap().org.name, "Fixed");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(source.current().await.unwrap().org.name, "Fixed");
    }

    #[test]
    fn missing_or_invalid_file_fails_fast() {
        let dir = tempfile::tempdir().unwrap();
        let missing = FileRules::new(dir.path().join("nope.toml")).unwrap_err();
        assert!(
            matches!(missing, RulesSourceError::Unavailable(_)),
            "{missing}"
        );
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "[org]\nname = 1\n").unwrap();
        let err = FileRules::new(&path).unwrap_err().to_string();
        assert!(err.contains("bad.toml:2"), "{err}");
    }
}
