//! The retry consumer's reading side: a polled record checked for the router's authentication
//! code and read into the schedule (a job held until due, a tombstone settling one), or
//! dead-lettered as `invalid-retry-record`.

use std::collections::HashSet;

use rdkafka::Message;
use rdkafka::message::{Headers, OwnedMessage};
use tracing::{debug, warn};

use super::{Done, INVALID_RETRY_RECORD, Outcome, RETRY_SETTLES, State};
use crate::consumer::{Polled, Ticket};
use crate::dead_letter::Unusable;
use crate::dispatch::Job;
use crate::kafka;
use crate::retry::Held;

impl State {
    /// Reads one record into the schedule, or notes a partition read to its end.
    pub(super) fn received(&mut self, polled: Polled) {
        let (message, at) = match polled {
            Polled::Record(message, at) => (message, at),
            Polled::End(partition, at) => {
                if self.offsets.lock().is_assigned(&self.topic, partition, at)
                    && self.catching_up.remove(&partition)
                {
                    debug!(message = "Retry partition read to its end.", partition);
                    self.schedule.caught_up(&HashSet::from([partition]));
                }
                return;
            }
        };
        let Some(ticket) = self.offsets.begin_message(&message, at) else {
            return;
        };
        if let Err(why) = self.authentic(&message) {
            crate::telemetry::metrics::global().dead_lettered(INVALID_RETRY_RECORD);
            self.unreadable(&message, ticket, &why.to_string());
            return;
        }
        let key = message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default();
        let Some(value) = message.payload() else {
            // A tombstone: the delivery `key` is settled up to the offset it names.
            let upto = message
                .headers()
                .and_then(|h| h.iter().find(|h| h.key == RETRY_SETTLES))
                .and_then(|h| std::str::from_utf8(h.value?).ok()?.parse::<i64>().ok());
            if let Some(settled) = upto.and_then(|upto| self.schedule.settle(&key, upto)) {
                self.settle(&settled);
            }
            self.settle(&ticket);
            return;
        };
        match Job::from_json(value) {
            Ok(job) => {
                debug!(message = "Retry read.", webhook_id = %job.webhook_id, due = %job.due.to_rfc3339(), partition = ticket.partition, offset = ticket.offset);
                if let Some(replaced) = self.schedule.hold(Held { job, ticket }) {
                    self.settle(&replaced);
                }
            }
            Err(error) => self.unreadable(&message, ticket, &error.to_string()),
        }
    }

    /// Whether the router wrote this record: one with a valid authentication code under
    /// `kafka.internal_key`. Anything else (a record someone else produced, or changed) is
    /// neither delivered nor allowed to settle a delivery.
    fn authentic(&self, message: &OwnedMessage) -> Result<(), kafka::Unauthentic> {
        let headers: Vec<(&str, Option<&[u8]>)> = message
            .headers()
            .map(|headers| headers.iter().map(|h| (h.key, h.value)).collect())
            .unwrap_or_default();
        self.deliverer.writer().retry_topic().key().verify(
            message.topic(),
            message.key(),
            message.payload(),
            &headers,
        )
    }

    /// A retry record that is not a job, or not the router's: dead-lettered as it is, in a
    /// task of its own.
    fn unreadable(&self, message: &OwnedMessage, ticket: Ticket, why: &str) {
        warn!(
            message = "Unreadable retry record; writing it to the dead-letter topic.",
            partition = ticket.partition,
            offset = ticket.offset,
            error = why
        );
        let unusable = Unusable::new(message, INVALID_RETRY_RECORD, why);
        let (deliverer, done, shutdown) = (
            self.deliverer.clone(),
            self.done.clone(),
            self.shutdown.clone(),
        );
        self.tasks.spawn(async move {
            let letter = unusable.letter();
            let written = deliverer.writer().input(&letter, &shutdown).await;
            let outcome = if written {
                Outcome::Settled
            } else {
                Outcome::Unsettled
            };
            let _ = done.send(Done { ticket, outcome });
        });
    }
}
