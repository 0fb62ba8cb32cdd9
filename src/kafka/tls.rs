//! A clear word when a broker's TLS certificate is refused. OpenSSL says only "certificate verify
//! failed", and librdkafka's hint then names `ssl.ca.location` alone, also when the certificate
//! is trusted but made out to another host name (host names are always verified: see
//! `config::compile`).

use std::collections::BTreeSet;
use std::sync::Mutex;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tracing::{debug, error};

/// What the consumer's context does with a librdkafka client error: logs it as rdkafka's default
/// context does and, the first time a broker's certificate is refused, says what it must be.
pub(crate) fn report_client_error(kafka_error: &KafkaError, reason: &str) {
    // The retry consumer asks for end-of-partition events to know when it has caught up; they
    // are not errors.
    if kafka_error.rdkafka_error_code() == Some(RDKafkaErrorCode::PartitionEOF) {
        debug!(target: "librdkafka", "librdkafka: {kafka_error}: {reason}");
        return;
    }
    error!(target: "librdkafka", "librdkafka: {kafka_error}: {reason}");
    static HINTED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    if let Some(broker) = refused_certificate_broker(reason)
        && HINTED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(broker.to_owned())
    {
        error!(
            message = "A Kafka broker's TLS certificate was refused.",
            %broker,
            hint = %certificate_hint(broker)
        );
    }
}

/// The broker (`host:port`) of a librdkafka certificate failure, as in
/// `ssl://localhost:9093/bootstrap: SSL handshake failed: ...certificate verify failed...`.
fn refused_certificate_broker(reason: &str) -> Option<&str> {
    if !reason.contains("certificate verify failed") {
        return None;
    }
    let start = reason.find("ssl://")? + "ssl://".len();
    let rest = &reason[start..];
    let end = rest.find(['/', ' ']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|broker| !broker.is_empty())
}

/// What a broker's certificate must be for `broker` (`host:port`).
fn certificate_hint(broker: &str) -> String {
    let host = broker.rsplit_once(':').map_or(broker, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    format!(
        "the certificate must be signed by a CA the router trusts (kafka.properties \
         ssl.ca.location or ssl.ca.pem, else the system's CA certificates) and be made out to \
         the host name {host:?} as kafka.brokers writes it: host names are always verified"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_broker_of_a_certificate_failure_only() {
        let cases = [
            (
                "ssl://localhost:40653/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: broker certificate could not be verified, verify that ssl.ca.location is correctly configured or root CA certificates are installed (install ca-certificates package) (after 1ms in state SSL_HANDSHAKE)",
                Some("localhost:40653"),
            ),
            (
                "ssl://[::1]:9093/1: error:0A000086:SSL routines::certificate verify failed (after 1ms in state SSL_HANDSHAKE)",
                Some("[::1]:9093"),
            ),
            (
                "ssl://kafka-0.internal:9093/bootstrap: Connect to ipv4#10.0.0.5:9093 failed: Connection refused (after 0ms in state CONNECT)",
                None,
            ),
            ("1/1 brokers are down", None),
        ];
        for (reason, expected) in cases {
            assert_eq!(refused_certificate_broker(reason), expected, "{reason}");
        }
    }

    #[test]
    fn the_hint_names_the_host_to_match_and_where_to_trust_a_ca() {
        let hint = certificate_hint("[::1]:9093");
        assert!(hint.contains("the host name \"::1\""), "{hint}");
        let hint = certificate_hint("localhost:9093");
        assert!(hint.contains("the host name \"localhost\""), "{hint}");
        assert!(hint.contains("ssl.ca.location"), "{hint}");
        assert!(hint.ends_with("host names are always verified"), "{hint}");
    }
}
