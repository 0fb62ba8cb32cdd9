//! Reads `router.yaml`, the topic files and the templates from disk, then compiles them.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;

use super::error::{ConfigError, ConfigErrors};
use super::files::{RouterFile, TopicFile};
use super::interpolate::interpolate;
use super::warnings::{ConfigWarning, queues_never_full, unknown_event_types};
use crate::render::Templates;
use crate::routing::RoutingTable;

/// A loaded, checked configuration: what the router runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `router.yaml` it came from.
    pub path: PathBuf,
    pub router: RouterFile,
    pub templates: Templates,
    pub table: RoutingTable,
    /// What is valid but likely a mistake (a filter naming an event type no catalogue lists).
    pub warnings: Vec<ConfigWarning>,
}

impl Config {
    /// Every Kafka topic the configuration names, for a broker to create: each source's (with
    /// `partitions`), the retry topic (likewise) and the dead-letter topic (one partition).
    pub fn kafka_topics(&self, partitions: i32) -> Vec<(String, i32)> {
        let kafka = &self.router.kafka;
        let mut topics: Vec<(String, i32)> = self
            .table
            .sources()
            .iter()
            .flat_map(|s| s.kafka_topics.iter().map(|t| (t.clone(), partitions)))
            .collect();
        topics.push((kafka.dead_letter_topic.clone(), 1));
        topics.push((kafka.retry_topic.clone(), partitions));
        topics
    }
}

/// Loads `router.yaml` at `path`, with `${VAR}` taken from the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with(path, &|name| std::env::var(name).ok())
}

/// Loads `router.yaml` at `path`, looking variables up with `lookup`.
pub fn load_with(
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let router: RouterFile = read_yaml(path, lookup)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let topics_dir = base.join(&router.topics_dir);
    let templates_dir = base.join(&router.templates_dir);

    let mut errors = Vec::new();
    let mut topics = Vec::new();
    match topic_files(&topics_dir) {
        Ok(files) => {
            for file in files {
                match read_yaml::<TopicFile>(&file, lookup) {
                    Ok(topic) => topics.push((file, topic)),
                    Err(ConfigErrors(found)) => errors.extend(found),
                }
            }
        }
        Err(error) => errors.push(error),
    }
    let templates = match Templates::load(&templates_dir) {
        Ok(templates) => templates,
        Err(found) => {
            errors.extend(found.into_iter().map(|e| {
                let item = e
                    .line
                    .map_or_else(|| "template".to_owned(), |line| format!("line {line}"));
                ConfigError::new(e.path, item, e.message)
            }));
            Templates::empty()
        }
    };
    let table = match super::compile(path, &router, topics, &templates) {
        Ok(table) => Some(table),
        Err(ConfigErrors(found)) => {
            errors.extend(found);
            None
        }
    };
    match table {
        Some(table) if errors.is_empty() => {
            let mut warnings = unknown_event_types(&table);
            warnings.extend(queues_never_full(path, &table, router.kafka.max_in_flight));
            Ok(Config {
                path: path.to_owned(),
                router,
                templates,
                warnings,
                table,
            })
        }
        _ => Err(ConfigErrors(errors)),
    }
}

/// The `*.yaml` and `*.yml` files of the topics folder, sorted by name.
fn topic_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        ConfigError::new(
            dir,
            "topics_dir",
            format!("cannot read the topics folder: {e}"),
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.is_file()
                && matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml")
                )
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Reads one YAML file: syntax, then interpolation, then the typed structure.
fn read_yaml<T: DeserializeOwned>(
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<T, ConfigErrors> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(path, "file", format!("cannot read: {e}")))?;
    let mut value: Value = serde_yaml_ng::from_str(&text)
        .map_err(|e| ConfigError::new(path, location(&e), format!("not valid YAML: {e}")))?;
    let unresolved = interpolate(&mut value, lookup);
    if !unresolved.is_empty() {
        return Err(ConfigErrors(
            unresolved
                .into_iter()
                .map(|u| ConfigError::new(path, u.item, u.message))
                .collect(),
        ));
    }
    let named = value.clone();
    serde_path_to_error::deserialize(value).map_err(|e| {
        let item = describe_item(&e.path().to_string(), &named);
        ConfigError::new(path, item, e.into_inner().to_string()).into()
    })
}

fn location(error: &serde_yaml_ng::Error) -> String {
    error.location().map_or_else(
        || "document".to_owned(),
        |l| format!("line {} column {}", l.line(), l.column()),
    )
}

/// Names the item at `path` for a person: `destinations[0]` becomes `destinations[0] (ops-webhook)`.
fn describe_item(path: &str, document: &Value) -> String {
    if path == "." || path.is_empty() {
        return "document".to_owned();
    }
    let Some((list, rest)) = path.split_once('[') else {
        return path.to_owned();
    };
    let index = rest.split(']').next().and_then(|i| i.parse::<usize>().ok());
    let name = index
        .and_then(|i| document.get(list)?.get(i))
        .and_then(|item| item.get("id").or_else(|| item.get("name")))
        .and_then(Value::as_str);
    match name {
        Some(name) => format!("{path} ({name})"),
        None => path.to_owned(),
    }
}
