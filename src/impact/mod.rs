//! Impact: what a proposed configuration would change in the deliveries of the traffic that
//! actually flowed. The retained records of the sources' Kafka topics are read (read-only: a
//! consumer of its own, never the router's group, never a commit), each is normalised and routed
//! through the current and the proposed configuration, and the deliveries are compared per
//! subscription and destination, with sample events and the rule that made the difference.
//! Served by the `impact` command and `POST /v1/impact`.
//!
//! - `records`: reading the records in a window (`since`, `last`).
//! - `compare`: the comparison, pure.
//! - `runtime`: the runtime state (control topic, silences) applied to both sides.
//! - `folder`: the temporary folder a proposal's files are laid out in.

mod compare;
mod folder;
mod records;
mod runtime;

use std::collections::BTreeSet;
use std::time::Duration;

use rdkafka::error::KafkaError;
use serde::Serialize;

pub(crate) use compare::{Comparison, Report, Row};
pub(crate) use folder::TemporaryFolder;
pub(crate) use records::{Coverage, Window};
pub(crate) use runtime::Runtime;

use crate::config::Config;

/// How far back the records are read when neither `since` nor `last` is given.
pub(crate) const DEFAULT_SINCE: Duration = Duration::from_secs(24 * 3600);

/// Why an impact could not be measured.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ImpactError {
    #[error("{what}: {source}")]
    Kafka {
        what: &'static str,
        #[source]
        source: KafkaError,
    },
    #[error("no source {0:?} in either configuration")]
    NoSource(String),
    #[error("no progress for {seconds}s with {partitions} partition(s) not read to their end")]
    Stalled { seconds: u64, partitions: usize },
    #[error(
        "reading took more than {seconds}s with {partitions} partition(s) not read to their end; bound it with since or last"
    )]
    TooLong { seconds: u64, partitions: usize },
    #[error("last must be at least 1")]
    NoRecords,
}

impl ImpactError {
    fn kafka(what: &'static str) -> impl FnOnce(KafkaError) -> ImpactError {
        move |source| ImpactError::Kafka { what, source }
    }
}

/// What to compare, and on which records.
#[derive(Debug, Clone)]
pub(crate) struct Request<'c> {
    pub current: &'c Config,
    pub proposed: &'c Config,
    /// Applied to both sides: source overrides over each side's files, and the deliveries it
    /// withholds.
    pub runtime: &'c Runtime,
    /// What the proposal was loaded from, for the answer.
    pub label: String,
    pub brokers: &'c str,
    pub window: Window,
    /// Only this source's Kafka topics.
    pub source: Option<&'c str>,
}

/// The whole answer: what was read and what changes.
#[derive(Debug, Serialize)]
pub(crate) struct Impact {
    pub proposed: String,
    pub changed: bool,
    pub coverage: Coverage,
    #[serde(flatten)]
    pub report: Report,
}

/// Reads the records and compares; `progress` is told the records read and the most there are.
pub(crate) fn measure(
    request: &Request<'_>,
    progress: impl FnMut(u64, u64),
) -> Result<Impact, ImpactError> {
    let current = request.runtime.applied(request.current);
    let proposed = request.runtime.applied(request.proposed);
    let topics = topics(&current, &proposed, request.source)?;
    let mut comparison = Comparison::new(&current, &proposed, request.runtime);
    let coverage = records::read(
        &request.current.router.kafka,
        request.brokers,
        &topics,
        request.window,
        |record| comparison.add(&record),
        progress,
    )?;
    let report = comparison.finish();
    Ok(Impact {
        proposed: request.label.clone(),
        changed: report.changed(),
        coverage,
        report,
    })
}

/// The Kafka topics of the sources enabled on either side (a source the change turns on or off
/// shows its whole traffic gained or lost), or of `only`.
fn topics(
    current: &Config,
    proposed: &Config,
    only: Option<&str>,
) -> Result<Vec<String>, ImpactError> {
    let mut topics = BTreeSet::new();
    let mut known = false;
    for config in [current, proposed] {
        for source in config.table.sources() {
            let wanted = match only {
                Some(id) => source.id == id,
                None => source.enabled,
            };
            known |= only.is_some_and(|id| source.id == id);
            if wanted {
                topics.extend(source.kafka_topics.iter().cloned());
            }
        }
    }
    match only {
        Some(id) if !known => Err(ImpactError::NoSource(id.to_owned())),
        _ => Ok(topics.into_iter().collect()),
    }
}
