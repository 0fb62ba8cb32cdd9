//! Writing what cannot be delivered now: retry records, dead letters and tombstones, each
//! retried until the broker acknowledges it or shutdown comes.

use std::future::Future;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::{Deliverer, Job, Next};
use crate::dead_letter::{DeadLetter, DeadLetterReason, DeadLetters, header, truncate};
use crate::digest::DigestTopic;
use crate::retry::RetryTopic;

/// Longest detail kept in a dead-letter header.
pub(crate) const MAX_DETAIL: usize = 1024;

/// How a job ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Delivered,
    /// Written to the retry topic.
    Retried,
    /// Written to the digest topic.
    Digested,
    DeadLettered,
    /// A digest too large for the retry topic, written to it in parts, each under an id of
    /// its own: the record it came from (if any) is replaced by none of them.
    RetriedInParts,
    /// Shutdown came before the broker took it: nothing is settled.
    Unsettled,
}

/// What became of a job written to the retry topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retried {
    Written,
    /// A digest too large for one record, written as parts that fit.
    InParts,
    /// Too large for a record, and not a digest of several members that could be split.
    TooLarge,
    /// Shutdown came first.
    Unwritten,
}

/// Why a write was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unwritten {
    /// Shutdown came first.
    Shutdown,
    /// The record is larger than the topic (or the producer's `message.max.bytes`) takes:
    /// writing it again fails the same way.
    TooLarge,
}

/// Writes to the retry, digest and dead-letter topics.
#[derive(Clone)]
pub struct Writer {
    retry_topic: RetryTopic,
    digest_topic: DigestTopic,
    dead_letters: DeadLetters,
}

impl Writer {
    pub fn new(
        retry_topic: RetryTopic,
        digest_topic: DigestTopic,
        dead_letters: DeadLetters,
    ) -> Self {
        Self {
            retry_topic,
            digest_topic,
            dead_letters,
        }
    }

    pub fn retry_topic(&self) -> &RetryTopic {
        &self.retry_topic
    }

    pub fn digest_topic(&self) -> &DigestTopic {
        &self.digest_topic
    }

    /// Writes a job to the digest topic in `group`; returns its (partition, offset) once
    /// acknowledged.
    pub async fn digest(
        &self,
        job: &Job,
        group: serde_json::Map<String, serde_json::Value>,
        shutdown: &CancellationToken,
    ) -> Option<(i32, i64)> {
        let entry = crate::digest::Entry::new(job, group);
        let (key, value) = (entry.key(), entry.to_json());
        let topic = self.digest_topic.topic();
        persist("digest", topic, shutdown, || {
            self.digest_topic
                .send(&key, None, crate::digest::Kind::Entry, &value)
        })
        .await
    }

    /// Writes a record of the digest topic's bookkeeping (a digest sealed or sent) to the
    /// partition of the digest's members.
    pub async fn digest_mark(
        &self,
        key: &str,
        partition: i32,
        kind: crate::digest::Kind,
        value: &[u8],
        shutdown: &CancellationToken,
    ) -> bool {
        let topic = self.digest_topic.topic();
        persist("digest", topic, shutdown, || {
            self.digest_topic.send(key, Some(partition), kind, value)
        })
        .await
        .is_some()
    }

    /// Writes a job to the retry topic, once acknowledged. A digest too large for one record
    /// is split in halves, each written the same way, until the parts fit.
    pub async fn retry(&self, job: &Job, shutdown: &CancellationToken) -> Retried {
        let (value, due) = (job.to_json(), job.due.to_rfc3339());
        let topic = self.retry_topic.topic();
        let written = persist_fitting("retry", topic, shutdown, || {
            self.retry_topic.send(&job.webhook_id, &value, &due)
        })
        .await;
        match written {
            Ok(_) => Retried::Written,
            Err(Unwritten::Shutdown) => Retried::Unwritten,
            Err(Unwritten::TooLarge) => {
                let Some(halves) = crate::digest::halves(job) else {
                    return Retried::TooLarge;
                };
                warn!(message = "Digest too large for one retry record; writing it in two parts.", webhook_id = %job.webhook_id, bytes = value.len(), parts = ?halves.iter().map(|h| h.webhook_id.as_str()).collect::<Vec<_>>());
                for half in &halves {
                    match Box::pin(self.retry(half, shutdown)).await {
                        Retried::Written | Retried::InParts => {}
                        Retried::Unwritten => return Retried::Unwritten,
                        Retried::TooLarge => {
                            // One notification too large for a retry record: it waits no more.
                            let reason = DeadLetterReason::TooLarge;
                            crate::telemetry::metrics::global().dead_lettered(reason.code());
                            warn!(message = "Digest part of one notification too large for a retry record; writing it to the dead-letter topic.", webhook_id = %half.webhook_id, reason = reason.code());
                            if !self.dead_letter(half, reason, shutdown).await {
                                return Retried::Unwritten;
                            }
                        }
                    }
                }
                Retried::InParts
            }
        }
    }

    /// Writes a job to the dead-letter topic with `reason`.
    pub async fn dead_letter(
        &self,
        job: &Job,
        reason: DeadLetterReason,
        shutdown: &CancellationToken,
    ) -> bool {
        let value = job.notification.to_string();
        let letter = DeadLetter {
            key: Some(job.webhook_id.as_bytes()),
            value: value.as_bytes(),
            original_headers: None,
            headers: delivery_headers(job, reason),
        };
        self.input(&letter, shutdown).await
    }

    /// Writes a dead letter made elsewhere (a record that could not be used). One too large
    /// for the dead-letter topic is written without its value, its headers saying so (they
    /// name where the original is).
    pub async fn input(&self, letter: &DeadLetter<'_>, shutdown: &CancellationToken) -> bool {
        let topic = self.dead_letters.topic();
        let written = persist_fitting("dead-letter", topic, shutdown, || {
            self.dead_letters.send(letter)
        })
        .await;
        match written {
            Ok(()) => true,
            Err(Unwritten::Shutdown) => false,
            Err(Unwritten::TooLarge) => {
                warn!(
                    message = "Dead letter too large for the dead-letter topic; writing it without its value.",
                    bytes = letter.value.len()
                );
                let mut headers = letter.headers.clone();
                let why = format!(
                    "{} bytes, too large for the dead-letter topic",
                    letter.value.len()
                );
                headers.push((header::VALUE_OMITTED, why));
                let stripped = DeadLetter {
                    key: letter.key,
                    value: &[],
                    original_headers: letter.original_headers,
                    headers,
                };
                persist("dead-letter", topic, shutdown, || {
                    self.dead_letters.send(&stripped)
                })
                .await
                .is_some()
            }
        }
    }

    /// Writes a tombstone: delivery `key` is settled up to `offset` of the retry topic.
    pub async fn tombstone(&self, key: &str, offset: i64, shutdown: &CancellationToken) -> bool {
        let topic = self.retry_topic.topic();
        persist("retry", topic, shutdown, || {
            self.retry_topic.settle(key, offset)
        })
        .await
        .is_some()
    }
}

impl Deliverer {
    /// Sends a job where `next` says, and logs it.
    pub async fn settle(&self, next: Next, shutdown: &CancellationToken) -> Settled {
        match next {
            Next::Done => Settled::Delivered,
            Next::Retry(job) => {
                let settled = match self.writer.retry(&job, shutdown).await {
                    Retried::Written => Settled::Retried,
                    Retried::InParts => Settled::RetriedInParts,
                    Retried::Unwritten => return Settled::Unsettled,
                    Retried::TooLarge => {
                        let next = Next::DeadLetter(job, DeadLetterReason::TooLarge);
                        return Box::pin(self.settle(next, shutdown)).await;
                    }
                };
                crate::telemetry::metrics::global().retried(&job.destination);
                info!(message = "Delivery handed to the retry topic.", notification_id = %job.notification_id, source = %job.source_id, subscription = %job.subscription, destination = %job.destination, attempts = job.attempts, long_retries = job.long_retries, due = %job.due.to_rfc3339(), error = job.last_error.as_deref().unwrap_or_default());
                settled
            }
            Next::Digest(job) => {
                let group = self
                    .snapshot()
                    .table()
                    .subscription_by_name(&job.subscription)
                    .and_then(|s| s.digest.as_ref())
                    .map(|digest| digest.group_of(&job.notification))
                    .unwrap_or_default();
                if self.writer.digest(&job, group, shutdown).await.is_none() {
                    return Settled::Unsettled;
                }
                debug!(message = "Delivery waits in a digest.", notification_id = %job.notification_id, source = %job.source_id, subscription = %job.subscription, destination = %job.destination);
                Settled::Digested
            }
            Next::DeadLetter(job, reason) => {
                crate::telemetry::metrics::global().dead_lettered(reason.code());
                warn!(message = "Delivery written to the dead-letter topic.", notification_id = %job.notification_id, source = %job.source_id, subscription = %job.subscription, destination = %job.destination, reason = reason.code(), status = job.last_status, attempts = job.attempts, error = job.last_error.as_deref().unwrap_or_default());
                if self.writer.dead_letter(&job, reason, shutdown).await {
                    Settled::DeadLettered
                } else {
                    Settled::Unsettled
                }
            }
        }
    }
}

/// The headers of a delivery's dead letter.
fn delivery_headers(job: &Job, reason: DeadLetterReason) -> Vec<(&'static str, String)> {
    let time =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    let mut headers = vec![
        (header::KIND, "delivery".to_owned()),
        (header::REASON, reason.code().to_owned()),
        (
            header::DETAIL,
            truncate(job.last_error.as_deref().unwrap_or_default(), MAX_DETAIL),
        ),
        (header::SOURCE, job.source_id.clone()),
        (header::NOTIFICATION_ID, job.notification_id.clone()),
        (header::SUBSCRIPTION, job.subscription.clone()),
        (header::DESTINATION, job.destination.clone()),
        (header::WEBHOOK_ID, job.webhook_id.clone()),
        (
            header::LAST_STATUS,
            job.last_status.map(|s| s.to_string()).unwrap_or_default(),
        ),
        (header::ATTEMPTS, job.attempts.to_string()),
        (header::ORIGINAL_TOPIC, job.origin.topic.clone()),
        (header::ORIGINAL_PARTITION, job.origin.partition.to_string()),
        (header::ORIGINAL_OFFSET, job.origin.offset.to_string()),
        (header::FIRST_ATTEMPT, time(job.first_attempt_at)),
        (header::LAST_ATTEMPT, time(job.last_attempt_at)),
    ];
    let mut missing: Vec<&str> = job.pending.iter().flatten().map(String::as_str).collect();
    missing.extend(job.refused.iter().map(|r| r.who.as_str()));
    if !missing.is_empty() {
        let list = serde_json::to_string(&missing).expect("a list of strings serialises");
        headers.push((header::PENDING, list));
    }
    if let Some(members) = &job.digest {
        let list = serde_json::to_string(members).expect("a digest's members serialise");
        headers.push((header::DIGEST_MEMBERS, list));
    }
    headers
}

/// Runs `write` until it succeeds or shutdown comes, backing off up to 30 s between tries.
async fn persist<T, Fut: Future<Output = Result<T, KafkaError>>>(
    what: &str,
    topic: &str,
    shutdown: &CancellationToken,
    write: impl FnMut() -> Fut,
) -> Option<T> {
    write_until(what, topic, shutdown, write, false).await.ok()
}

/// Like [`persist`], but gives up on a record too large for the topic, which would fail the
/// same way for ever.
async fn persist_fitting<T, Fut: Future<Output = Result<T, KafkaError>>>(
    what: &str,
    topic: &str,
    shutdown: &CancellationToken,
    write: impl FnMut() -> Fut,
) -> Result<T, Unwritten> {
    write_until(what, topic, shutdown, write, true).await
}

async fn write_until<T, Fut: Future<Output = Result<T, KafkaError>>>(
    what: &str,
    topic: &str,
    shutdown: &CancellationToken,
    mut write: impl FnMut() -> Fut,
    give_up_too_large: bool,
) -> Result<T, Unwritten> {
    let mut backoff = Duration::from_millis(500);
    loop {
        match write().await {
            Ok(written) => return Ok(written),
            Err(e) if give_up_too_large && is_too_large(&e) => {
                warn!(message = "Record too large for a Kafka topic.", kind = what, topic, error = %e);
                return Err(Unwritten::TooLarge);
            }
            Err(e) => {
                error!(message = "Cannot write to a Kafka topic; retrying.", kind = what, topic, error = %e, retry_in = ?backoff);
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return Err(Unwritten::Shutdown),
            () = tokio::time::sleep(backoff) => backoff = (backoff * 2).min(Duration::from_secs(30)),
        }
    }
}

/// Whether `error` says the record is larger than the producer or the topic takes.
fn is_too_large(error: &KafkaError) -> bool {
    error.rdkafka_error_code() == Some(RDKafkaErrorCode::MessageSizeTooLarge)
}
