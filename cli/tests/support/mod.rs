//! What the CLI's integration tests share: a local pipeline on a data directory, with the
//! embedded rules, a test clock and no secrets.

use handoff_cli::runtime::{LocalOptions, LocalPipeline, RulesChoice};
use handoff_domain::ports::ManualClock;
use std::path::Path;
use std::sync::Arc;

/// Opens the local pipeline on `dir` with `clock`.
pub async fn open(dir: &Path, clock: Arc<ManualClock>) -> LocalPipeline {
    LocalPipeline::open(LocalOptions {
        http_policy: Default::default(),
        data_dir: dir.to_path_buf(),
        rules: RulesChoice::Embedded,
        clock,
        public_url: "http://127.0.0.1:1".into(),
        secrets: Arc::new(handoff_connectors::secrets::StaticSecrets::default()),
    })
    .await
    .unwrap()
}
