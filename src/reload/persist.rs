//! Writes a source toggle to `router.yaml`: the one line edited, the whole configuration checked
//! as it would be, then the file replaced in one rename.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::ReloadError;
use crate::config::{self, Config, ConfigErrors};

/// Sets `enabled` of source `id` in the file at `path` and loads the result. The file is
/// replaced only when the whole configuration with the edit is valid.
pub(super) fn set_source_enabled(
    path: &Path,
    id: &str,
    enabled: bool,
) -> Result<Config, ReloadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ReloadError::File(format!("cannot read {}: {e}", path.display())))?;
    let edited = config::set_source_enabled(&text, id, enabled)?;
    if edited == text {
        return config::load(path).map_err(ReloadError::Invalid);
    }
    let temporary = temporary_path(path);
    let written = write_synced(&temporary, &edited).and_then(|()| {
        // The new file keeps the old one's permissions.
        let permissions = std::fs::metadata(path).map(|m| m.permissions());
        permissions
            .and_then(|p| std::fs::set_permissions(&temporary, p))
            .map_err(|e| {
                ReloadError::File(format!(
                    "cannot copy the permissions of {}: {e}",
                    path.display()
                ))
            })
    });
    let result = written.and_then(|()| {
        // Loaded beside the real file, so that its folders resolve the same; its problems are
        // reported against the real file's name.
        let mut config = config::load(&temporary).map_err(|errors| {
            ReloadError::Invalid(ConfigErrors(
                errors
                    .0
                    .into_iter()
                    .map(|mut e| {
                        if e.file == temporary {
                            e.file = path.to_owned();
                        }
                        e
                    })
                    .collect(),
            ))
        })?;
        config.path = path.to_owned();
        std::fs::rename(&temporary, path)
            .map_err(|e| ReloadError::File(format!("cannot replace {}: {e}", path.display())))?;
        Ok(config)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// `.router.yaml.<pid>.tmp` beside `path`: the same file system, so the rename is atomic.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(
        || "router.yaml".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn write_synced(path: &Path, text: &str) -> Result<(), ReloadError> {
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(path)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    };
    write().map_err(|e| ReloadError::File(format!("cannot write {}: {e}", path.display())))
}
