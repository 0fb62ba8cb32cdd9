//! One record's way: normalise, route, render and deliver each delivery, and settle — every
//! delivery made, or written to the dead-letter topic with the reason.

use std::time::Duration;

use bytes::Bytes;
use rdkafka::Message;
use rdkafka::message::{Headers, OwnedMessage};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::config::Config;
use crate::deliver::{DeliveryError, FailureKind};
use crate::event::{Notification, RawRecord, normalise};
use crate::kafka::{DeadLetter, DeadLetterReason, DeadLetters, header};
use crate::outbound::{self, Notifier};
use crate::render::Templates;
use crate::routing::{Delivery, Route, RoutingTable};

/// Longest detail kept in a dead-letter header.
const MAX_DETAIL: usize = 1024;

/// What every record task shares: the compiled config, the notifiers and the dead-letter producer.
pub struct Pipeline {
    table: RoutingTable,
    templates: Templates,
    /// One per destination, by the destination's index in the table.
    notifiers: Vec<Notifier>,
    dead_letters: DeadLetters,
    max_message_bytes: usize,
}

impl Pipeline {
    /// Fails only when a destination's notifier cannot be built (its TLS setup, say).
    pub fn new(
        config: &Config,
        client: &reqwest::Client,
        dead_letters: DeadLetters,
    ) -> Result<Self, String> {
        let notifiers = config
            .table
            .destinations()
            .iter()
            .map(|destination| Notifier::new(destination, client))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            table: config.table.clone(),
            templates: config.templates.clone(),
            notifiers,
            dead_letters,
            max_message_bytes: config.router.kafka.max_message_bytes,
        })
    }

    /// Processes one record until it is settled. Returns false only when shutdown came first
    /// while the dead-letter topic could not be written: the record is then left unsettled.
    pub async fn process(&self, message: &OwnedMessage, shutdown: &CancellationToken) -> bool {
        let (topic, partition, offset) = (message.topic(), message.partition(), message.offset());
        let position = [
            (header::ORIGINAL_TOPIC, topic.to_owned()),
            (header::ORIGINAL_PARTITION, partition.to_string()),
            (header::ORIGINAL_OFFSET, offset.to_string()),
        ];
        let Some(source_index) = self.table.source_for_kafka_topic(topic) else {
            warn!(
                message = "Record from a Kafka topic no source reads.",
                topic, partition, offset
            );
            let mut headers = vec![
                (header::KIND, "input".to_owned()),
                (header::REASON, "unknown-source".to_owned()),
            ];
            headers.extend(position);
            return self
                .dead_letter(&input_letter(message, headers), shutdown)
                .await;
        };
        let source = self.table.source(source_index);
        let record_headers: Vec<(&str, Option<&[u8]>)> = message
            .headers()
            .map(|h| h.iter().map(|h| (h.key, h.value)).collect())
            .unwrap_or_default();
        let record = RawRecord {
            value: message.payload(),
            headers: &record_headers,
        };
        let notification = match normalise(&source.id, source.kind, &record, self.max_message_bytes)
        {
            Ok(notification) => notification,
            Err(rejection) => {
                warn!(message = "Record rejected.", reason = rejection.reason.code(), detail = %rejection.detail, source = %source.id, topic, partition, offset);
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
                        crate::kafka::truncate(&rejection.detail, MAX_DETAIL),
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
        match self.table.route(source_index, &notification) {
            Route::SourceDisabled => {
                debug!(message = "Source disabled; event dropped.", notification_id = %notification.id, source = %source.id);
                true
            }
            Route::Matched { deliveries, .. } if deliveries.is_empty() => {
                debug!(message = "No topic or subscription matched.", notification_id = %notification.id, source = %source.id);
                true
            }
            Route::Matched { topics, deliveries } => {
                let topics: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
                debug!(message = "Topics matched.", notification_id = %notification.id, source = %source.id, topics = ?topics, deliveries = deliveries.len());
                let body = outbound::serialise(&notification.body);
                let settled = futures::future::join_all(deliveries.iter().map(|delivery| {
                    self.deliver(&notification, &body, delivery, message, shutdown)
                }))
                .await;
                settled.into_iter().all(|settled| settled)
            }
        }
    }

    /// Makes one delivery with its retries; a failure goes to the dead-letter topic, and so does
    /// a success with some email recipients or Slack channels refused.
    async fn deliver(
        &self,
        notification: &Notification,
        default_body: &Bytes,
        delivery: &Delivery<'_>,
        message: &OwnedMessage,
        shutdown: &CancellationToken,
    ) -> bool {
        let (subscription, destination) = (&delivery.subscription.name, &delivery.destination.id);
        let outcome = match outbound::render_serialised(
            &self.templates,
            delivery.subscription,
            &notification.body,
            default_body,
        ) {
            Ok(rendered) => self.notifiers[delivery.subscription.destination]
                .deliver(
                    delivery.destination,
                    delivery.subscription,
                    &notification.id,
                    &delivery.webhook_id,
                    &rendered,
                )
                .await
                .map_err(|e| (failure_reason(&e), e.to_string(), e.status, e.attempts)),
            Err(e) => Err((DeadLetterReason::RenderFailed, e.to_string(), None, 0)),
        };
        let (reason, detail, status, attempts) = match outcome {
            Ok(sent) if sent.rejected.is_empty() => {
                info!(message = "Delivered.", notification_id = %notification.id, source = %notification.source_id, subscription = %subscription, destination = %destination, status = sent.delivered.status, attempts = sent.delivered.attempts);
                return true;
            }
            Ok(sent) => {
                let refused: Vec<String> = sent
                    .rejected
                    .iter()
                    .map(|(who, why)| format!("{who}: {why}"))
                    .collect();
                warn!(message = "Delivered, but some recipients were refused; writing them to the dead-letter topic.", notification_id = %notification.id, source = %notification.source_id, subscription = %subscription, destination = %destination, refused = refused.len(), detail = %refused.join("; "));
                (
                    DeadLetterReason::RecipientsRejected,
                    refused.join("; "),
                    Some(sent.delivered.status),
                    sent.delivered.attempts,
                )
            }
            Err((reason, detail, status, attempts)) => {
                warn!(message = "Delivery failed; writing it to the dead-letter topic.", notification_id = %notification.id, source = %notification.source_id, subscription = %subscription, destination = %destination, reason = reason.code(), status, attempts, error = %detail);
                (reason, detail, status, attempts)
            }
        };
        let headers = vec![
            (header::KIND, "delivery".to_owned()),
            (header::REASON, reason.code().to_owned()),
            (header::DETAIL, crate::kafka::truncate(&detail, MAX_DETAIL)),
            (header::SOURCE, notification.source_id.clone()),
            (header::NOTIFICATION_ID, notification.id.clone()),
            (header::SUBSCRIPTION, subscription.clone()),
            (header::DESTINATION, destination.clone()),
            (header::WEBHOOK_ID, delivery.webhook_id.clone()),
            (
                header::LAST_STATUS,
                status.map(|s| s.to_string()).unwrap_or_default(),
            ),
            (header::ATTEMPTS, attempts.to_string()),
            (header::ORIGINAL_TOPIC, message.topic().to_owned()),
            (header::ORIGINAL_PARTITION, message.partition().to_string()),
            (header::ORIGINAL_OFFSET, message.offset().to_string()),
        ];
        let value = default_body.as_ref();
        let letter = DeadLetter {
            key: message.key(),
            value,
            original_headers: None,
            headers,
        };
        self.dead_letter(&letter, shutdown).await
    }

    /// Writes a dead letter, retrying until the broker has it or shutdown comes.
    async fn dead_letter(&self, letter: &DeadLetter<'_>, shutdown: &CancellationToken) -> bool {
        let mut backoff = Duration::from_millis(500);
        loop {
            match self.dead_letters.send(letter).await {
                Ok(()) => return true,
                Err(e) => {
                    error!(message = "Cannot write to the dead-letter topic; retrying.", topic = self.dead_letters.topic(), error = %e, retry_in = ?backoff);
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return false,
                () = tokio::time::sleep(backoff) => backoff = (backoff * 2).min(Duration::from_secs(30)),
            }
        }
    }
}

fn failure_reason(error: &DeliveryError) -> DeadLetterReason {
    match error.kind {
        FailureKind::Permanent => DeadLetterReason::DeliveryRejected,
        FailureKind::Retryable => DeadLetterReason::RetriesExhausted,
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
