//! Configuration errors: each names the file, the item and what is wrong or would be valid.

use std::fmt;
use std::path::PathBuf;

/// One problem in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {item}: {message}", file.display())]
pub struct ConfigError {
    /// The file the problem is in.
    pub file: PathBuf,
    /// The item within the file, as a path (`destinations[0].url`) or a name.
    pub item: String,
    /// What is wrong, and what would be valid.
    pub message: String,
}

impl ConfigError {
    pub fn new(
        file: impl Into<PathBuf>,
        item: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            item: item.into(),
            message: message.into(),
        }
    }
}

/// Every problem found in one load; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        Self(vec![error])
    }
}
