//! Writes a source toggle to `router.yaml`: the one line edited, the whole configuration checked
//! as it would be, then the file replaced in one rename. The new file is created exclusively
//! under a name no one can guess, with the old file's permissions from the start; a
//! `router.yaml` that is a symbolic link (a Kubernetes ConfigMap) is not replaced.

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
    let metadata = std::fs::symlink_metadata(path)
        .map_err(|e| ReloadError::File(format!("cannot read {}: {e}", path.display())))?;
    if metadata.file_type().is_symlink() {
        // A Kubernetes ConfigMap mounts each file as a link into a folder it swaps: replacing
        // the link with a file would hide the next update of the ConfigMap.
        return Err(ReloadError::File(format!(
            "{} is a symbolic link (a mounted ConfigMap?), which is not edited in place: change `enabled` of {id:?} where the file comes from (the ConfigMap), and the router reloads it",
            path.display()
        )));
    }
    let temporary = temporary_path(path);
    let written = write_new(&temporary, &edited, &metadata.permissions());
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

/// `.router.yaml.<pid>.<random>.tmp` beside `path`: the same file system, so the rename is
/// atomic; a name no one can guess and create first.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(
        || "router.yaml".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let unique: u64 = rand::random();
    path.with_file_name(format!(".{name}.{}.{unique:016x}.tmp", std::process::id()))
}

/// Creates `path`, which must not exist (a link or file planted there is not followed or
/// reused), with `permissions` from the start, and writes `text` to disk.
fn write_new(
    path: &Path,
    text: &str,
    permissions: &std::fs::Permissions,
) -> Result<(), ReloadError> {
    let write = || -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            options.mode(permissions.mode() & 0o7777);
        }
        let mut file = options.open(path)?;
        // The umask may have taken bits away: the new file gets exactly the old one's.
        file.set_permissions(permissions.clone())?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    };
    write().map_err(|e| ReloadError::File(format!("cannot write {}: {e}", path.display())))
}
