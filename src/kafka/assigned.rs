//! What the readers of a whole topic by assignment (the control, silences and ledger topics)
//! share: after an outage they start over with a new client.
//!
//! A broker that comes back without its data (storage lost, a test broker kept in memory) has
//! the same topics under new topic IDs, or none. A client that was fetching the old ones is not
//! left fetching them: librdkafka 2.12 dereferences the missing topic name of a fetch answer's
//! leader update for a topic it does not know, and the process crashes. So a reader that sees
//! every broker gone drops its client (closed off the runtime's threads) and makes a new one once
//! a broker answers: it finds its topic (creating it again where it creates it at start) and
//! reads it from where it starts reading.

use rdkafka::consumer::StreamConsumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// How a reader's run over one client ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadEnd {
    /// Shutdown: the reader is done.
    Shutdown,
    /// Every broker went away: the client is dropped; start over once one answers.
    Outage,
}

/// Whether `error` says that no broker can be reached.
pub(crate) fn is_outage(error: &KafkaError) -> bool {
    error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown)
}

/// Closes `consumer` on a thread of its own: without a broker the close may wait, and nothing
/// waits for it.
pub(crate) fn close_in_background(consumer: StreamConsumer) {
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
}
