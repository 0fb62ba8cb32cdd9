//! One record's way: normalise, de-duplicate, route, and settle each delivery — made, handed
//! to the retry topic, or written to the dead-letter topic with the reason. A record is handled
//! wholly by the configuration snapshot in effect when its processing starts.

use std::sync::Arc;

use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::channels::SharedJson;
use crate::config::Config;
use crate::dead_letter::{DeadLetter, DeadLetterReason, header};
use crate::dedup::Dedup;
use crate::dispatch::{Deliverer, Job, Origin, Settled, Snapshot};
use crate::event::{RawRecord, normalise};
use crate::routing::Route;
use crate::telemetry::metrics;

/// Longest detail kept in a dead-letter header.
const MAX_DETAIL: usize = crate::dispatch::MAX_DETAIL;

/// What every record task shares: the deliverer and the input de-duplication window.
pub(crate) struct RecordProcessor {
    deliverer: Arc<Deliverer>,
    dedup: Dedup,
}

impl RecordProcessor {
    pub(crate) fn new(config: &Config, deliverer: Arc<Deliverer>) -> Self {
        Self {
            deliverer,
            dedup: Dedup::new(&config.router.dedup),
        }
    }

    /// Processes one record until it is settled. Returns false only when shutdown came first
    /// while the dead-letter topic could not be written: the record is then left unsettled.
    pub(crate) async fn process(
        &self,
        message: &OwnedMessage,
        shutdown: &CancellationToken,
    ) -> bool {
        let (topic, partition, offset) = (message.topic(), message.partition(), message.offset());
        let position = [
            (header::ORIGINAL_TOPIC, topic.to_owned()),
            (header::ORIGINAL_PARTITION, partition.to_string()),
            (header::ORIGINAL_OFFSET, offset.to_string()),
        ];
        let snapshot = self.deliverer.snapshot();
        let table = snapshot.table();
        let max_message_bytes = snapshot.config().router.kafka.max_message_bytes;
        let metrics = metrics::global();
        let Some(source_index) = table.source_for_kafka_topic(topic) else {
            warn!(
                message = "Record from a Kafka topic no source reads.",
                topic, partition, offset
            );
            metrics.dead_lettered("unknown-source");
            let mut headers = vec![
                (header::KIND, "input".to_owned()),
                (header::REASON, "unknown-source".to_owned()),
            ];
            headers.extend(position);
            return self
                .dead_letter(&input_letter(message, headers), shutdown)
                .await;
        };
        let source = table.source(source_index);
        metrics.consumed(&source.id);
        let record_headers = crate::kafka::assigned::headers(message);
        let record = RawRecord {
            value: message.payload(),
            headers: &record_headers,
        };
        let mut notification = match normalise(&source.id, source.kind, &record, max_message_bytes)
        {
            Ok(notification) => notification,
            Err(rejection) => {
                warn!(message = "Record rejected.", reason = rejection.reason.code(), detail = %rejection.detail, source = %source.id, topic, partition, offset);
                metrics.rejected(&source.id, rejection.reason.code());
                metrics.dead_lettered(rejection.reason.code());
                let mut headers = vec![
                    (header::KIND, "input".to_owned()),
                    (
                        header::REASON,
                        DeadLetterReason::Rejected(rejection.reason.code())
                            .code()
                            .to_owned(),
                    ),
                    (
                        header::DETAIL,
                        crate::dead_letter::truncate(&rejection.detail, MAX_DETAIL),
                    ),
                    (header::SOURCE, source.id.clone()),
                ];
                headers.extend(position);
                return self
                    .dead_letter(&input_letter(message, headers), shutdown)
                    .await;
            }
        };
        debug!(message = "Event received.", notification_id = %notification.id, source = %source.id, r#type = %notification.event_type, topic, partition, offset);
        let deliveries = match table.route(source_index, &notification) {
            Route::SourceDisabled => {
                debug!(message = "Source disabled; event dropped.", notification_id = %notification.id, source = %source.id);
                metrics.dropped(&source.id);
                return true;
            }
            Route::Matched { deliveries, .. } if deliveries.is_empty() => {
                debug!(message = "No topic or subscription matched.", notification_id = %notification.id, source = %source.id);
                metrics.unmatched(&source.id);
                return true;
            }
            Route::Matched { topics, deliveries } => {
                count_rule_matches(
                    metrics,
                    &topics,
                    (source_index, &source.id),
                    &notification.body,
                );
                let topics: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
                topics.iter().for_each(|topic| metrics.routed(topic));
                debug!(message = "Topics matched.", notification_id = %notification.id, source = %source.id, topics = ?topics, deliveries = deliveries.len());
                deliveries
            }
        };
        if self.dedup.is_duplicate(&notification.id) {
            debug!(message = "Duplicate event dropped: the same id was read within the de-duplication window.", notification_id = %notification.id, source = %source.id, topic, partition, offset);
            return true;
        }
        // The body, moved out (nothing below reads it), shared by the event's deliveries, and
        // so is its JSON once serialised.
        let body = Arc::new(std::mem::take(&mut notification.body));
        let json = SharedJson::default();
        let settled = futures::future::join_all(deliveries.iter().map(|delivery| {
            let mut job = Job::new(
                &notification,
                body.clone(),
                &delivery.subscription.name,
                &delivery.destination.id,
                &delivery.webhook_id,
                Origin {
                    topic: topic.to_owned(),
                    partition,
                    offset,
                },
            );
            job.json = json.clone();
            self.deliver(&snapshot, Box::new(job), shutdown)
        }))
        .await;
        settled.into_iter().all(|settled| settled)
    }

    /// Makes one delivery with its in-process retries, through the record's snapshot, then
    /// settles it. Each of an event's deliveries is one of these futures, waiting for its turn:
    /// the job is boxed (an async fn's argument is held twice in its future) and so is the
    /// settling, which is larger than the attempt and only needed once it is over.
    async fn deliver(
        &self,
        snapshot: &Snapshot,
        mut job: Box<Job>,
        shutdown: &CancellationToken,
    ) -> bool {
        let attempt = snapshot.attempt(&mut job, true).await;
        let next = snapshot.next(*job, attempt);
        Box::pin(self.deliverer.settle(next, shutdown)).await != Settled::Unsettled
    }

    /// Writes a dead letter, retrying until the broker has it or shutdown comes.
    async fn dead_letter(&self, letter: &DeadLetter<'_>, shutdown: &CancellationToken) -> bool {
        self.deliverer.writer().input(letter, shutdown).await
    }
}

/// A dead letter that carries the rejected record itself: its key, value and headers.
fn input_letter<'m>(
    message: &'m OwnedMessage,
    headers: Vec<(&'static str, String)>,
) -> DeadLetter<'m> {
    DeadLetter {
        key: message.key(),
        value: message.payload().unwrap_or_default(),
        original_headers: message.headers(),
        headers,
    }
}

/// Counts, for the console, which rule of each matched topic the event matched: the topic's only
/// rule, or each of its rules evaluated again (only for topics with more than one).
fn count_rule_matches(
    metrics: &metrics::Metrics,
    topics: &[&crate::routing::Topic],
    (source, source_id): (crate::routing::SourceIndex, &str),
    body: &serde_json::Value,
) {
    for topic in topics {
        let Some(rules) = topic.sources.iter().find(|ts| ts.source == source) else {
            continue;
        };
        match rules.rules.as_slice() {
            [] => {}
            [_] => metrics.rule_matched(&topic.name, source_id, 1),
            all => all
                .iter()
                .enumerate()
                .filter(|(_, rule)| rule.matches(body))
                .for_each(|(n, _)| metrics.rule_matched(&topic.name, source_id, n + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use testkit::router::{Setup, lifecycle_event, topic, webhook};

    use super::*;
    use crate::routing::accepting_source;
    use crate::telemetry::metrics::{Metrics, rule_label};
    use crate::telemetry::recent::Kind;

    #[test]
    fn each_rule_a_routed_event_matches_is_counted_for_the_console() {
        let rules = "  - id: lifecycle\n    rules:\n      - event_type_filter: $.type =~ 'update$'\n      - event_type_filter: $.type =~ 'instance'\n      - event_type_filter: $.type =~ 'delete$'";
        let topics = vec![
            topic("three-rules", rules, "  - { name: a, destination: hook }"),
            topic(
                "one-rule",
                "  - id: lifecycle\n    rules:\n      - event_type_filter: $.type =~ 'instance'",
                "  - { name: b, destination: hook }",
            ),
        ];
        let destinations = webhook("hook", "http://127.0.0.1:1/hook", "");
        let (_dir, path) = Setup::lifecycle("embedded", "g", &destinations, topics).write();
        let config = crate::config::load(&path).expect("the test config loads");
        let event = lifecycle_event(
            "resource-controller.instance.update",
            "e-1",
            "us-south",
            "db",
        );
        let bytes = serde_json::to_vec(&event).expect("JSON");
        let (source, notification) =
            accepting_source(&config.table, 1 << 20, &bytes, None).expect("accepted");
        let Route::Matched { topics, .. } = config.table.route(source, &notification) else {
            panic!("the source is enabled");
        };
        let metrics = Metrics::new();
        count_rule_matches(&metrics, &topics, (source, "lifecycle"), &notification.body);
        let counted = metrics.recent.series(Kind::RuleMatched, 1);
        let count = |topic: &str, rule: usize| {
            counted
                .get(&rule_label(topic, "lifecycle", rule))
                .map_or(0, |c| c[0])
        };
        assert_eq!([1, 2, 3].map(|rule| count("three-rules", rule)), [1, 1, 0]);
        assert_eq!(count("one-rule", 1), 1);
        assert_eq!(counted.len(), 3, "{counted:?}");
    }
}
