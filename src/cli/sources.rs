//! `sources`: lists the sources of `router.yaml`, and turns one on or off with a one-line edit of
//! the file (the rest of the file kept as written, nothing written unless the whole configuration
//! stays valid). A running router picks the change up by itself; an override in the control topic
//! (`PATCH /v1/sources/{id}`) still wins over the file until it is cleared.

use std::path::Path;

use crate::config;
use crate::reload;

/// What to do with the sources.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum SourcesCommand {
    /// Each source: id, type, on or off, Kafka topics.
    List,
    /// Turn a source on: its events are routed from now on.
    Enable {
        /// The source's `id` in router.yaml.
        id: String,
    },
    /// Turn a source off: its events are dropped and counted, never delivered.
    Disable {
        /// The source's `id` in router.yaml.
        id: String,
    },
}

/// Runs `command` against the configuration at `path`.
pub fn sources(path: &Path, command: &SourcesCommand) -> anyhow::Result<()> {
    let config = config::load(path).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let (id, enabled) = match command {
        SourcesCommand::List => {
            for source in config.table.sources() {
                println!(
                    "{:<28} {:<26} {:<4} {}",
                    source.id,
                    source.kind.as_str(),
                    if source.enabled { "on" } else { "off" },
                    source.kafka_topics.join(", ")
                );
            }
            return Ok(());
        }
        SourcesCommand::Enable { id } => (id, true),
        SourcesCommand::Disable { id } => (id, false),
    };
    if config.table.source_index(id).is_none() {
        let ids: Vec<&str> = config
            .table
            .sources()
            .iter()
            .map(|s| s.id.as_str())
            .collect();
        anyhow::bail!(
            "{} has no source {id:?}; its sources: {}",
            path.display(),
            ids.join(", ")
        );
    }
    reload::write_source_enabled(path, id, enabled)?;
    println!(
        "Source {id} is {} in {}; a running router puts that in effect by itself.",
        if enabled { "enabled" } else { "disabled" },
        path.display()
    );
    Ok(())
}
