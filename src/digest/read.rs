//! The digest consumer's reading side: a polled record checked for the router's
//! authentication code and read into its group (an entry waits, a seal fixes a digest's
//! members, a sent record settles them).

use rdkafka::Message;
use rdkafka::message::{Headers, OwnedMessage};
use tracing::{debug, warn};

use super::State;
use super::groups::Held;
use super::record::{Entry, Kind, Seal, Sent};
use super::topic::KIND;
use crate::consumer::Polled;

/// The metric reason of a digest record that is not the router's or cannot be read.
pub(crate) const INVALID_DIGEST_RECORD: &str = "invalid-digest-record";

impl State {
    /// Reads one record into its group, or notes a partition read to its end.
    pub(super) fn received(&mut self, polled: Polled) {
        let message = match polled {
            Polled::Record(message) => message,
            Polled::End(partition) => {
                if self.groups.caught_up(partition) {
                    debug!(message = "Digest partition read to its end.", partition);
                }
                return;
            }
        };
        let ticket =
            self.offsets
                .lock()
                .begin(message.topic(), message.partition(), message.offset());
        let key = message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default();
        let read = self.read(&message);
        let error = match read {
            Ok(Read::Entry(entry)) => {
                debug!(message = "Digest entry read.", webhook_id = %entry.job.webhook_id, partition = ticket.partition, offset = ticket.offset);
                self.groups.hold(key, Held { ticket, entry });
                return;
            }
            Ok(Read::Seal(seal)) => {
                self.groups.seal(&key, seal);
                None
            }
            Ok(Read::Sent(sent)) => {
                for settled in self.groups.sent(&key, &sent) {
                    self.settle(&settled);
                }
                None
            }
            Err(why) => Some(why),
        };
        if let Some(why) = error {
            crate::telemetry::metrics::global().dead_lettered(INVALID_DIGEST_RECORD);
            warn!(message = "Unreadable digest record; skipped.", partition = ticket.partition, offset = ticket.offset, error = %why);
        }
        self.settle(&ticket);
    }

    /// The record, when the router wrote it: one with a valid authentication code under
    /// `kafka.internal_key`, of a known kind, whose value parses.
    fn read(&self, message: &OwnedMessage) -> Result<Read, String> {
        let headers: Vec<(&str, Option<&[u8]>)> = message
            .headers()
            .map(|headers| headers.iter().map(|h| (h.key, h.value)).collect())
            .unwrap_or_default();
        self.deliverer
            .writer()
            .digest_topic()
            .key()
            .verify(message.topic(), message.key(), message.payload(), &headers)
            .map_err(|e| e.to_string())?;
        let kind = headers
            .iter()
            .find(|(name, _)| *name == KIND)
            .and_then(|(_, value)| std::str::from_utf8((*value)?).ok())
            .and_then(Kind::parse)
            .ok_or("no known digest-kind header")?;
        let value = message.payload().unwrap_or_default();
        let parsed = match kind {
            Kind::Entry => serde_json::from_slice(value).map(Read::Entry),
            Kind::Seal => serde_json::from_slice(value).map(Read::Seal),
            Kind::Sent => serde_json::from_slice(value).map(Read::Sent),
        };
        parsed.map_err(|e| e.to_string())
    }
}

/// A digest record, read.
enum Read {
    Entry(Entry),
    Seal(Seal),
    Sent(Sent),
}
