//! The Kafka destination's settings and headers.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::*;

type Destination = KafkaDestination<(), (), ()>;

fn destination(yaml: &str) -> Destination {
    serde_yaml_ng::from_str(&format!("{{id: chain, {yaml}}}")).unwrap()
}

#[test]
fn headers_are_the_cloudevents_binary_mode_attributes() {
    let notification = json!({
        "id": "e-1", "source": "/resource-controller/accounts/a", "type": "t", "time": "2026-11-21T09:30:00Z",
    });
    let names: Vec<&str> = headers(&notification).iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "ce_specversion",
            "ce_id",
            "ce_source",
            "ce_type",
            "ce_time",
            "content-type"
        ]
    );
}

#[test]
fn the_cluster_is_the_routers_unless_brokers_names_another() {
    let router = BTreeMap::from([("security.protocol".to_owned(), Secret::from("SSL"))]);
    let same = destination("topic: out")
        .settings(Duration::from_secs(5), "k:9092", &router)
        .unwrap();
    assert_eq!(
        (same.brokers.as_str(), same.properties.len()),
        ("k:9092", 1)
    );
    let other = destination("topic: out, brokers: other:9092")
        .settings(Duration::from_secs(5), "k:9092", &router)
        .unwrap();
    assert_eq!(
        (other.brokers.as_str(), other.properties.len()),
        ("other:9092", 0)
    );
    let cases = [
        ("topic: 'a b'", "topic"),
        (
            "topic: out, properties: {acks: '0'}, brokers: o:1",
            "properties",
        ),
        ("topic: out, properties: {x: y}", "properties"),
        ("topic: out, brokers: ' '", "brokers"),
    ];
    for (yaml, field) in cases {
        let error = destination(yaml)
            .settings(Duration::from_secs(5), "k:9092", &router)
            .unwrap_err();
        assert_eq!(error.0, field, "{yaml}: {}", error.1);
    }
    let embedded = destination("topic: out").settings(Duration::from_secs(5), "embedded", &router);
    assert_eq!(embedded.unwrap_err().0, "brokers");
}

/// A destination's own cluster gets the checks `kafka.properties` gets: no library loaded, no
/// command run, certificates verified, no password in clear off this machine.
#[test]
fn a_destinations_own_properties_cannot_load_code_or_weaken_transport() {
    let router = BTreeMap::new();
    let refused = [
        (
            "plugin.library.paths: /tmp/evil.so",
            "plugin.library.paths: is refused",
        ),
        (
            "ssl.engine.location: /tmp/evil.so",
            "ssl.engine.location: is refused",
        ),
        ("ssl.providers: evil", "ssl.providers: is refused"),
        (
            "'Sasl.Kerberos.Kinit.Cmd': 'touch /tmp/x'",
            "Sasl.Kerberos.Kinit.Cmd: is refused",
        ),
        (
            "sasl.kerberos.principal: 'a; touch /tmp/x'",
            "sasl.kerberos.principal: may not hold",
        ),
        (
            "enable.ssl.certificate.verification: 'false'",
            "enable.ssl.certificate.verification: may only be `true`",
        ),
        (
            "ssl.endpoint.identification.algorithm: none",
            "ssl.endpoint.identification.algorithm: may only be `https`",
        ),
        (
            "security.protocol: SASL_PLAINTEXT, sasl.mechanisms: PLAIN, sasl.password: pw",
            "sasl.mechanisms: PLAIN over security.protocol SASL_PLAINTEXT",
        ),
    ];
    for (properties, reason) in refused {
        let yaml =
            format!("topic: out, brokers: partner.example:9092, properties: {{{properties}}}");
        let error = destination(&yaml)
            .settings(Duration::from_secs(5), "k:9092", &router)
            .unwrap_err();
        assert_eq!(error.0, "properties", "{properties}");
        assert!(error.1.starts_with(reason), "{properties}: {}", error.1);
    }
    let allowed = [
        "topic: out, brokers: 127.0.0.1:9092, properties: {security.protocol: SASL_PLAINTEXT, sasl.mechanisms: PLAIN}",
        "topic: out, brokers: partner.example:9093, properties: {security.protocol: SASL_SSL, sasl.mechanisms: PLAIN}",
        "topic: out, brokers: partner.example:9093, properties: {enable.ssl.certificate.verification: 'true'}",
    ];
    for yaml in allowed {
        let settings = destination(yaml).settings(Duration::from_secs(5), "k:9092", &router);
        assert!(settings.is_ok(), "{yaml}: {:?}", settings.err());
    }
}
