//! What the readers of a whole topic by assignment (the control and ledger topics, and the old
//! silences topic taken over once) share: their client settings, the partitions of a topic with
//! where each starts and ends, and starting over with a new client after an outage.
//!
//! A broker that comes back without its data (storage lost, a test broker kept in memory) has
//! the same topics under new topic IDs, or none. A client that was fetching the old ones is not
//! left fetching them: librdkafka 2.12 dereferences the missing topic name of a fetch answer's
//! leader update for a topic it does not know, and the process crashes. So a reader that sees
//! every broker gone drops its client (closed off the runtime's threads) and makes a new one once
//! a broker answers: it finds its topic (creating it again where it creates it at start) and
//! reads it from where it starts reading.

use std::time::Duration;

use std::sync::Arc;

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message};
use rdkafka::types::RDKafkaRespErr;

use super::KafkaHealth;
use crate::config::KafkaSettings;

/// How long a metadata, watermark or topic creation request of these readers waits.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long these readers wait for a record before they look again at what else they wait
/// for (caught up, shutdown).
pub(crate) const TICK: Duration = Duration::from_millis(200);

/// How a reader's run over one client ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadEnd {
    /// Shutdown: the reader is done.
    Shutdown,
    /// Every broker went away: the client is dropped; start over once one answers.
    Outage,
}

/// The settings of a reader of `role` (`control-reader`): it never commits nor creates topics,
/// and is assigned its partitions, in a group of its own which it never joins or commits to.
pub(crate) fn reader_config(settings: &KafkaSettings, brokers: &str, role: &str) -> ClientConfig {
    let mut config = super::consumer_config(settings, brokers);
    config
        .set("enable.auto.commit", "false")
        .set("allow.auto.create.topics", "false")
        .set("statistics.interval.ms", "0")
        .set(
            "group.id",
            format!("{}.{role}.{}", settings.group_id, std::process::id()),
        );
    config
}

/// Every partition of `topic` with its low and high watermarks; none when the topic does not
/// exist. Any other error the brokers give for the topic (not authorised, leader not available)
/// is an error. Blocking: call it off the runtime's threads.
pub(crate) fn watermarks<X: ConsumerContext, C: Consumer<X>>(
    consumer: &C,
    topic: &str,
    timeout: Duration,
) -> KafkaResult<Vec<(i32, i64, i64)>> {
    let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
    let mut partitions = Vec::new();
    for found in metadata.topics().iter().filter(|t| t.name() == topic) {
        if let Some(error) = topic_error(found.error()) {
            return Err(KafkaError::MetadataFetch(error));
        }
        partitions.extend(found.partitions().iter().map(|p| p.id()));
    }
    partitions
        .into_iter()
        .map(|partition| {
            let (low, high) = consumer.fetch_watermarks(topic, partition, timeout)?;
            Ok((partition, low, high))
        })
        .collect()
}

/// The error a topic's metadata gives, but for an unknown topic (which is no topic).
pub(crate) fn topic_error(error: Option<RDKafkaRespErr>) -> Option<RDKafkaErrorCode> {
    let code = RDKafkaErrorCode::from(error?);
    (code != RDKafkaErrorCode::UnknownTopicOrPartition).then_some(code)
}

/// The headers of `message` as the authentication of internal records reads them.
pub(crate) fn headers<M: Message>(message: &M) -> Vec<(&str, Option<&[u8]>)> {
    message
        .headers()
        .map(|h| h.iter().map(|h| (h.key, h.value)).collect())
        .unwrap_or_default()
}

/// Whether `error` says that no broker can be reached.
pub(crate) fn is_outage(error: &KafkaError) -> bool {
    error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown)
}

/// The context of a reader that tells the brokers' reachability ([`KafkaHealth`], as the group
/// consumers do: an outage said once, `kafka_connected`, a refused certificate explained) while it
/// is the only client reading (at start, before the group consumers run).
/// Without one (tests), errors are only logged.
pub(crate) struct ReaderContext {
    health: Option<Arc<KafkaHealth>>,
    client: &'static str,
}

impl ReaderContext {
    /// Reports as `client`; its configuration needs statistics ([`with_statistics`]).
    pub(crate) fn new(health: Option<Arc<KafkaHealth>>, client: &'static str) -> Self {
        Self { health, client }
    }
}

/// `config` with librdkafka's statistics every second, as [`KafkaHealth`] reads them.
pub(crate) fn with_statistics(mut config: ClientConfig) -> ClientConfig {
    config.set("statistics.interval.ms", "1000");
    config
}

impl ClientContext for ReaderContext {
    fn error(&self, error: KafkaError, reason: &str) {
        match &self.health {
            Some(health) => health.error(self.client, &error, reason),
            None => super::report_client_error(&error, reason),
        }
    }

    fn stats_raw(&self, statistics: &[u8]) {
        if let Some(health) = &self.health {
            health.statistics(self.client, statistics);
        }
    }
}

impl ConsumerContext for ReaderContext {}

/// Closes `consumer` on a thread of its own: without a broker the close may wait, and nothing
/// waits for it.
pub(crate) fn close_in_background<C: ConsumerContext + 'static>(consumer: StreamConsumer<C>) {
    let closed = std::thread::Builder::new()
        .name("kafka-close".to_owned())
        .spawn(move || drop(consumer));
    if let Err(error) = closed {
        tracing::warn!(message = "Cannot start a thread to close a Kafka reader; it is closed here.", %error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_all_brokers_down_is_an_outage() {
        let down = KafkaError::MessageConsumption(RDKafkaErrorCode::AllBrokersDown);
        let one = KafkaError::MessageConsumption(RDKafkaErrorCode::BrokerTransportFailure);
        assert!(is_outage(&down));
        assert!(!is_outage(&one));
    }

    #[test]
    fn an_unknown_topic_is_no_topic_and_any_other_topic_error_an_error() {
        assert_eq!(topic_error(None), None);
        assert_eq!(
            topic_error(Some(
                RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
            )),
            None
        );
        assert_eq!(
            topic_error(Some(
                RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED
            )),
            Some(RDKafkaErrorCode::TopicAuthorizationFailed)
        );
        assert_eq!(
            topic_error(Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)),
            Some(RDKafkaErrorCode::LeaderNotAvailable)
        );
    }
}
