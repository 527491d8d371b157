//! Section 5, release binary sizes, and the deployment zip: the binary renamed `bootstrap` and zipped with
//! the `zip` CLI (`-9`), as a `provided.al2023` function ships; without `zip`, `gzip -9` of the
//! binary stands in (a close estimate of a one-file deflate zip).

use anyhow::{Context, Result};
use std::path::Path;
use std::process::{Command, Stdio};

/// One binary's sizes.
pub struct BinarySize {
    pub name: String,
    pub bytes: u64,
    pub packed: Option<u64>,
}

/// How `packed` was measured.
pub fn packer() -> &'static str {
    if have("zip") {
        "zip -9 of bootstrap"
    } else if have("gzip") {
        "gzip -9 (estimate; no zip CLI)"
    } else {
        "not measured (neither zip nor gzip found)"
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

pub fn measure(bin_dir: &Path, bins: &[&str]) -> Result<Vec<BinarySize>> {
    let work = tempfile::tempdir()?;
    let use_zip = have("zip");
    let use_gzip = !use_zip && have("gzip");
    bins.iter()
        .map(|name| {
            let path = bin_dir.join(name);
            let bytes = std::fs::metadata(&path)
                .with_context(|| {
                    format!(
                        "{} is missing: build the release binaries first",
                        path.display()
                    )
                })?
                .len();
            let packed = if use_zip {
                let dir = work.path().join(name);
                std::fs::create_dir_all(&dir)?;
                std::fs::copy(&path, dir.join("bootstrap"))?;
                let zip = dir.join("bootstrap.zip");
                let status = Command::new("zip")
                    .args(["-q", "-9", "-X", "-j"])
                    .arg(&zip)
                    .arg(dir.join("bootstrap"))
                    .status()?;
                status
                    .success()
                    .then(|| std::fs::metadata(&zip).map(|m| m.len()))
                    .transpose()?
            } else if use_gzip {
                let out = Command::new("gzip")
                    .args(["-9", "-c"])
                    .arg(&path)
                    .output()?;
                out.status.success().then_some(out.stdout.len() as u64)
            } else {
                None
            };
            Ok(BinarySize {
                name: name.to_string(),
                bytes,
                packed,
            })
        })
        .collect()
}
