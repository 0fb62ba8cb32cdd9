//! Which source takes a raw event: the one named, or else the first in `router.yaml` whose
//! normaliser accepts it; what `explain` and the console's explain page start from.

use super::{RoutingTable, SourceIndex};
use crate::event::{Notification, RawRecord, normalise};

/// Why no source takes the event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unaccepted {
    #[error("unknown source {id:?}; valid: {valid}")]
    UnknownSource { id: String, valid: String },
    #[error("no source is configured")]
    NoSource,
    /// Each candidate source and why it rejects the event, one per line.
    #[error("{}", .0.join("\n"))]
    Rejected(Vec<String>),
}

/// `bytes` normalised as source `wanted` would, or as the first source that accepts it;
/// `max` is `kafka.max_message_bytes`.
pub fn accepting_source(
    table: &RoutingTable,
    max: usize,
    bytes: &[u8],
    wanted: Option<&str>,
) -> Result<(SourceIndex, Notification), Unaccepted> {
    let record = RawRecord {
        value: Some(bytes),
        headers: &[],
    };
    let candidates: Vec<SourceIndex> = match wanted {
        Some(id) => vec![table.source_index(id).ok_or_else(|| {
            Unaccepted::UnknownSource {
                id: id.to_owned(),
                valid: table
                    .sources()
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        })?],
        None => (0..table.sources().len()).map(SourceIndex).collect(),
    };
    let mut rejections = Vec::new();
    for index in candidates {
        let source = table.source(index);
        match normalise(&source.id, source.kind, &record, max) {
            Ok(notification) => return Ok((index, notification)),
            Err(r) => rejections.push(format!(
                "source {:?} ({}) rejects it ({}): {}",
                source.id,
                source.kind.as_str(),
                r.reason.code(),
                r.detail
            )),
        }
    }
    if rejections.is_empty() {
        return Err(Unaccepted::NoSource);
    }
    Err(Unaccepted::Rejected(rejections))
}
