//! A folder of its own under the system's temporary folder, for a proposed configuration's
//! files; removed when dropped.

use std::path::{Path, PathBuf};

/// A folder under the system's temporary folder, removed (with what it holds) when dropped.
#[derive(Debug)]
pub(crate) struct TemporaryFolder(PathBuf);

impl TemporaryFolder {
    /// Makes a new, empty folder with a name no one can guess.
    pub(crate) fn new() -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!(
            "notification-router-impact-{}",
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir(&path)?;
        Ok(Self(path))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TemporaryFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
