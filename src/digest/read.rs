//! The digest consumer's reading side: a polled record checked for the router's
//! authentication code and read into its group (an entry waits, a seal fixes a digest's
//! members, a sent record settles them), or dead-lettered as `invalid-digest-record`.

use rdkafka::Message;
use rdkafka::message::{Headers, OwnedMessage};
use tracing::{debug, warn};

use super::groups::Held;
use super::record::{Entry, Kind, Seal, Sent};
use super::topic::KIND;
use super::{Finished, State};
use crate::consumer::{self, Polled, Ticket};
use crate::dead_letter::Unusable;

/// The dead-letter reason of a digest record that is not the router's or cannot be read.
pub(crate) const INVALID_DIGEST_RECORD: &str = "invalid-digest-record";

impl State {
    /// Reads one record into its group, or notes a partition read to its end.
    pub(super) fn received(&mut self, polled: Polled) {
        let (message, at) = match polled {
            Polled::Record(message, at) => (message, at),
            Polled::End(partition, at) => {
                // An end polled before a revoke says nothing of a later assignment.
                if self.offsets.lock().is_assigned(&self.topic, partition, at)
                    && self.groups.caught_up(partition)
                {
                    debug!(message = "Digest partition read to its end.", partition);
                }
                return;
            }
        };
        // A record polled before its partition was revoked is left to the partition's next
        // owner: held here, it would make a group whose seal settles entries not sent here.
        let Some(ticket) = self.offsets.begin_message(&message, at) else {
            return;
        };
        let key = message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default();
        let group_id = (ticket.partition, key);
        let read = self.read(&message);
        let error = match read {
            Ok(Read::Entry(entry)) => {
                debug!(message = "Digest entry read.", webhook_id = %entry.job.webhook_id, partition = ticket.partition, offset = ticket.offset);
                self.groups.hold(
                    group_id.1,
                    Held {
                        ticket,
                        entry: *entry,
                    },
                );
                return;
            }
            Ok(Read::Seal(seal)) => {
                self.groups.seal(&group_id, seal);
                None
            }
            Ok(Read::Sent(sent)) => {
                for settled in self.groups.sent(&group_id, &sent) {
                    self.settle(&settled);
                }
                None
            }
            Err(why) => Some(why),
        };
        match error {
            Some(why) => self.unreadable(&message, ticket, &why),
            None => self.settle(&ticket),
        }
    }

    /// A digest record that is not the router's or cannot be read: dead-lettered as it is, in a
    /// task of its own, then committed; never sent. The record is held (counted against
    /// `kafka.max_pending_retries`) until its task ends.
    fn unreadable(&mut self, message: &OwnedMessage, ticket: Ticket, why: &str) {
        self.unreadable += 1;
        crate::telemetry::metrics::global().dead_lettered(INVALID_DIGEST_RECORD);
        warn!(
            message = "Unreadable digest record; writing it to the dead-letter topic.",
            partition = ticket.partition,
            offset = ticket.offset,
            error = why
        );
        let unusable = Unusable::new(message, INVALID_DIGEST_RECORD, why);
        let (deliverer, offsets, consumer, done, shutdown) = (
            self.deliverer.clone(),
            self.offsets.clone(),
            self.consumer.clone(),
            self.done.clone(),
            self.shutdown.clone(),
        );
        self.tasks.spawn(async move {
            let letter = unusable.letter();
            if deliverer.writer().input(&letter, &shutdown).await {
                offsets.finish(&ticket, |position| {
                    consumer::store(consumer.as_ref(), &ticket, position);
                });
            }
            let _ = done.send(Finished::Unreadable);
        });
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
            Kind::Entry => serde_json::from_slice(value).map(|e| Read::Entry(Box::new(e))),
            Kind::Seal => serde_json::from_slice(value).map(Read::Seal),
            Kind::Sent => serde_json::from_slice(value).map(Read::Sent),
        };
        parsed.map_err(|e| e.to_string())
    }
}

/// A digest record, read.
enum Read {
    Entry(Box<Entry>),
    Seal(Seal),
    Sent(Sent),
}
