//! Reads `router.yaml`, the topic files and the templates from disk, then compiles them.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;

use super::error::{ConfigError, ConfigErrors};
use super::files::{RouterFile, TopicFile};
use super::interpolate::{Scope, interpolate};
use super::warnings::{ConfigWarning, queues_never_full, unknown_event_types};
use crate::channels::Destinations;
use crate::dispatch::DeliveryPolicy;
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
    /// The destinations in the table's order, each with its subscriptions' attributes.
    pub destinations: Destinations,
    /// How deliveries to each destination are retried and limited, in the table's order.
    pub policies: Vec<DeliveryPolicy>,
    /// What is valid but likely a mistake (a filter naming an event type no catalogue lists).
    pub warnings: Vec<ConfigWarning>,
}

impl Config {
    /// Every Kafka topic the configuration names, for a broker to create: each source's (with
    /// `partitions`), the retry and digest topics (likewise), the dead-letter and control topics (one partition each).
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
        topics.push((kafka.digest_topic.clone(), partitions));
        topics.push((kafka.control_topic.clone(), 1));
        if self.router.ledger.enabled {
            topics.push((self.router.ledger.topic.clone(), partitions));
        }
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
    let router: RouterFile = read_yaml(path, path, Scope::All, lookup)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let topics_dir = base.join(&router.topics_dir);
    let templates_dir = base.join(&router.templates_dir);

    let mut errors = Vec::new();
    let mut topics = Vec::new();
    match topic_files(&topics_dir) {
        Ok((root, files)) => {
            for file in files {
                let scope = Scope::Only(&router.topic_variables);
                let read = inside(&root, &file)
                    .map_err(|why| {
                        ConfigErrors::from(ConfigError::new(&file, "file", why.to_string()))
                    })
                    .and_then(|real| read_yaml::<TopicFile>(&file, &real, scope, lookup));
                match read {
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
    let compiled = match super::compile(path, &router, topics, &templates) {
        Ok(compiled) => Some(compiled),
        Err(ConfigErrors(found)) => {
            errors.extend(found);
            None
        }
    };
    match compiled {
        Some(compiled) if errors.is_empty() => {
            let mut warnings = unknown_event_types(&compiled.table);
            warnings.extend(queues_never_full(
                path,
                &compiled.policies,
                router.kafka.max_in_flight,
            ));
            Ok(Config {
                path: path.to_owned(),
                router,
                templates,
                warnings,
                table: compiled.table,
                destinations: compiled.destinations,
                policies: compiled.policies,
            })
        }
        _ => Err(ConfigErrors(errors)),
    }
}

/// The real path of the topics folder, and its `*.yaml` and `*.yml` files sorted by name.
fn topic_files(dir: &Path) -> Result<(PathBuf, Vec<PathBuf>), ConfigError> {
    let unreadable = |e: std::io::Error| {
        ConfigError::new(
            dir,
            "topics_dir",
            format!("cannot read the topics folder: {e}"),
        )
    };
    let root = std::fs::canonicalize(dir).map_err(unreadable)?;
    let entries = std::fs::read_dir(dir).map_err(unreadable)?;
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
    Ok((root, files))
}

/// The real path of topic file `file` (every symbolic link followed) when it lies inside `root`,
/// the topics folder's real path: a topic owner's link to a file elsewhere is refused.
fn inside(root: &Path, file: &Path) -> Result<PathBuf, TopicFileError> {
    let real = std::fs::canonicalize(file).map_err(TopicFileError::Resolve)?;
    if real.starts_with(root) {
        Ok(real)
    } else {
        Err(TopicFileError::Outside {
            real,
            root: root.to_owned(),
        })
    }
}

/// Why a topic file is not read: it cannot be resolved, or it leads out of the topics folder.
#[derive(Debug, thiserror::Error)]
enum TopicFileError {
    #[error("cannot resolve: {0}")]
    Resolve(std::io::Error),
    #[error(
        "leads to {}, outside the topics folder {}: a topic file must lie inside it (a \
         symbolic link may point only within the folder)",
        real.display(),
        root.display()
    )]
    Outside { real: PathBuf, root: PathBuf },
}

/// Reads one YAML file from `real`, named `path` in errors: syntax, then interpolation of the
/// variables `scope` allows, then the typed structure.
fn read_yaml<T: DeserializeOwned>(
    path: &Path,
    real: &Path,
    scope: Scope<'_>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<T, ConfigErrors> {
    let text = std::fs::read_to_string(real)
        .map_err(|e| ConfigError::new(path, "file", format!("cannot read: {e}")))?;
    let mut value: Value = serde_yaml_ng::from_str(&text)
        .map_err(|e| ConfigError::new(path, location(&e), format!("not valid YAML: {e}")))?;
    let unresolved = interpolate(&mut value, scope, lookup);
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
