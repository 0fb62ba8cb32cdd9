//! Checks of single values (names, Kafka topic names) and the problem list.

use std::path::Path;

use super::error::ConfigError;
use crate::filter::Filter;

/// The problems found so far in one compile.
#[derive(Debug, Default)]
pub(super) struct Problems(pub Vec<ConfigError>);

impl Problems {
    pub(super) fn add(&mut self, file: &Path, item: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigError::new(file, item, message));
    }

    /// Parses a filter, recording its error (with the column) against `item`.
    pub(super) fn filter(&mut self, source: &str, file: &Path, item: &str) -> Option<Filter> {
        Filter::parse(source)
            .map_err(|why| self.add(file, item, format!("{why}, in: {source}")))
            .ok()
    }
}

/// Why an id or name is refused; the message follows the item it is reported against.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("is empty")]
    Empty,
    #[error("{0:?} may only contain letters, digits, '-', '_' and '.'")]
    Characters(String),
}

/// Why a Kafka topic name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicNameError {
    #[error("{0:?} is not a Kafka topic name (1 to 249 characters, not '.' or '..')")]
    Length(String),
    #[error("{0:?} is not a Kafka topic name: use letters, digits, '-', '_' and '.'")]
    Characters(String),
}

/// Ids and names: letters, digits, `-`, `_` and `.`, so they read well in logs, headers and URLs.
pub(super) fn check_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if !name.chars().all(is_name_char) {
        return Err(NameError::Characters(name.to_owned()));
    }
    Ok(())
}

/// The characters of names here, which are also Kafka's for topic names.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Kafka's own rule for topic names.
pub fn check_kafka_topic_name(name: &str) -> Result<(), TopicNameError> {
    if name.is_empty() || name.len() > 249 || name == "." || name == ".." {
        return Err(TopicNameError::Length(name.to_owned()));
    }
    if !name.chars().all(is_name_char) {
        return Err(TopicNameError::Characters(name.to_owned()));
    }
    Ok(())
}

/// The valid names, once each, for an error message.
pub(super) fn choices(names: &[&str]) -> String {
    let mut unique: Vec<&str> = Vec::new();
    for name in names {
        if !unique.contains(name) {
            unique.push(name);
        }
    }
    if unique.is_empty() {
        "none defined".into()
    } else {
        unique.join(", ")
    }
}
