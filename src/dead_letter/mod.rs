//! The dead-letter topic: records that could not be used, and deliveries that could not be made,
//! each with headers saying why and where it came from, and an authentication code under
//! `kafka.internal_key` (`dead-letters replay` delivers only what carries a valid one); and the
//! topic read back ([`Entry`], [`Filter`]) and replayed ([`replay()`]).

mod entry;
mod read;
mod replay;

pub(crate) use entry::{Entry, Filter};
pub(crate) use replay::{parse_since, read_matching, replay};

use std::time::Duration;

use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use crate::kafka::{AUTH_HEADER, InternalKey};

/// Header names on dead-letter records.
pub(crate) mod header {
    /// A [`DeadLetterReason`](super::DeadLetterReason) code.
    pub(crate) const REASON: &str = "dlq-reason";
    /// The reason in words: the parse error, the last HTTP status and response, ...
    pub(crate) const DETAIL: &str = "dlq-detail";
    /// `input` (the record itself) or `delivery` (one delivery of a good record).
    pub(crate) const KIND: &str = "dlq-kind";
    pub(crate) const SOURCE: &str = "dlq-source";
    pub(crate) const ORIGINAL_TOPIC: &str = "dlq-original-topic";
    pub(crate) const ORIGINAL_PARTITION: &str = "dlq-original-partition";
    pub(crate) const ORIGINAL_OFFSET: &str = "dlq-original-offset";
    pub(crate) const NOTIFICATION_ID: &str = "dlq-notification-id";
    pub(crate) const SUBSCRIPTION: &str = "dlq-subscription";
    pub(crate) const DESTINATION: &str = "dlq-destination";
    pub(crate) const WEBHOOK_ID: &str = "dlq-webhook-id";
    pub(crate) const LAST_STATUS: &str = "dlq-last-status";
    pub(crate) const ATTEMPTS: &str = "dlq-attempts";
    /// When the delivery was first and last attempted (RFC 3339), when it was.
    pub(crate) const FIRST_ATTEMPT: &str = "dlq-first-attempt";
    pub(crate) const LAST_ATTEMPT: &str = "dlq-last-attempt";
    /// The email recipients or Slack channels that did not get it (a JSON array), when only
    /// some did not; a replay sends to these only.
    pub(crate) const PENDING: &str = "dlq-pending";
    /// The deliveries a dead-lettered digest carried (a JSON array), whose notifications are
    /// the value's `notifications`; a replay sends the digest again.
    pub(crate) const DIGEST_MEMBERS: &str = "dlq-digest-members";
    /// Set when the value was left out, too large for the dead-letter topic: why, with its
    /// size. The original is where the `dlq-original-*` headers say.
    pub(crate) const VALUE_OMITTED: &str = "dlq-value-omitted";
}

/// Why a record or a delivery is on the dead-letter topic: a small fixed set of codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetterReason {
    /// The record was rejected by the normaliser; carries its reason code (`not-json`, ...).
    Rejected(&'static str),
    /// The receiver refused the delivery in a way retrying cannot fix (a 4xx other than 408/429).
    DeliveryRejected,
    /// The delivery failed on every attempt of its schedule, or until its horizon.
    RetriesExhausted,
    /// The destination answered 410 Gone: it is disabled until the router restarts.
    DestinationGone,
    /// The destination was disabled (it answered 410, or failed for its whole horizon).
    DestinationDisabled,
    /// The subscription of a retried or replayed delivery is no longer in the configuration.
    UnknownSubscription,
    /// The subscription's template failed on this notification.
    RenderFailed,
    /// The delivery reached its destination, but some of its email recipients or Slack channels
    /// were refused; the detail names each with the server's answer.
    RecipientsRejected,
    /// A delivery (a digest's part of one notification) too large for a retry record: it
    /// waits for no further retry.
    TooLarge,
}

impl DeadLetterReason {
    pub fn code(self) -> &'static str {
        match self {
            DeadLetterReason::Rejected(code) => code,
            DeadLetterReason::DeliveryRejected => "delivery-rejected",
            DeadLetterReason::RetriesExhausted => "retries-exhausted",
            DeadLetterReason::DestinationGone => "destination-gone",
            DeadLetterReason::DestinationDisabled => "destination-disabled",
            DeadLetterReason::UnknownSubscription => "unknown-subscription",
            DeadLetterReason::RenderFailed => "render-failed",
            DeadLetterReason::RecipientsRejected => "recipients-rejected",
            DeadLetterReason::TooLarge => "too-large",
        }
    }
}

/// One record for the dead-letter topic.
#[derive(Debug)]
pub struct DeadLetter<'a> {
    pub key: Option<&'a [u8]>,
    pub value: &'a [u8],
    /// The original record's headers, kept in front of ours.
    pub original_headers: Option<&'a OwnedHeaders>,
    pub headers: Vec<(&'static str, String)>,
}

/// A record of one of the router's own topics (retry, digest) that cannot be used, for the
/// dead-letter topic: its key and value as they were, of kind `input`, with `reason`, why, and
/// where it was.
#[derive(Debug)]
pub(crate) struct Unusable {
    key: Option<Vec<u8>>,
    value: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Unusable {
    pub(crate) fn new(message: &OwnedMessage, reason: &str, why: &str) -> Self {
        use rdkafka::Message;
        Self {
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().unwrap_or_default().to_vec(),
            headers: vec![
                (header::KIND, "input".to_owned()),
                (header::REASON, reason.to_owned()),
                (header::DETAIL, truncate(why, 1024)),
                (header::ORIGINAL_TOPIC, message.topic().to_owned()),
                (header::ORIGINAL_PARTITION, message.partition().to_string()),
                (header::ORIGINAL_OFFSET, message.offset().to_string()),
            ],
        }
    }

    pub(crate) fn letter(&self) -> DeadLetter<'_> {
        DeadLetter {
            key: self.key.as_deref(),
            value: &self.value,
            original_headers: None,
            headers: self.headers.clone(),
        }
    }
}

/// Writes dead letters and waits for the broker's acknowledgement.
#[derive(Clone)]
pub struct DeadLetters {
    producer: FutureProducer,
    topic: String,
    key: InternalKey,
}

impl DeadLetters {
    pub fn new(producer: FutureProducer, topic: String, key: InternalKey) -> Self {
        Self {
            producer,
            topic,
            key,
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Writes one dead letter; returns once the broker has it, or the error.
    pub async fn send(&self, letter: &DeadLetter<'_>) -> Result<(), rdkafka::error::KafkaError> {
        // The original record's headers (less any authentication code of its own), ours, then
        // the code of them all.
        let mut all: Vec<(&str, Option<&[u8]>)> = Vec::new();
        if let Some(original) = letter.original_headers {
            all.extend(
                original
                    .iter()
                    .filter(|h| h.key != AUTH_HEADER)
                    .map(|h| (h.key, h.value)),
            );
        }
        all.extend(
            letter
                .headers
                .iter()
                .map(|(key, value)| (*key, Some(value.as_bytes()))),
        );
        let code = self
            .key
            .sign(&self.topic, letter.key, Some(letter.value), &all);
        all.push((AUTH_HEADER, Some(code.as_bytes())));
        let mut headers = OwnedHeaders::new_with_capacity(all.len());
        for (key, value) in all {
            headers = headers.insert(Header { key, value });
        }
        let mut record = FutureRecord::<[u8], [u8]>::to(&self.topic)
            .payload(letter.value)
            .headers(headers);
        if let Some(key) = letter.key {
            record = record.key(key);
        }
        self.producer
            .send(record, Timeout::After(Duration::from_secs(30)))
            .await
            .map(|_| ())
            .map_err(|(error, _)| error)
    }
}

/// Truncates a detail for a header, on a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
