//! A Kafka destination as `router.yaml` writes it, checked into [`KafkaSettings`]: the topic,
//! and the cluster (the router's own unless `brokers` names another).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::KafkaSettings;
use crate::secret::Secret;

/// Where notifications are produced. `Retry`, `Limits` and `Breaker` are the delivery settings
/// every destination has; their types are the dispatcher's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaDestination<Retry, Limits, Breaker> {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub topic: String,
    /// Another cluster's `host:port,...`; the router's own cluster (with its `kafka.properties`)
    /// unless set.
    #[serde(default)]
    pub brokers: Option<String>,
    /// librdkafka producer properties for the cluster named by `brokers` (TLS, SASL); values
    /// are secrets. Only with `brokers`.
    #[serde(default)]
    pub properties: BTreeMap<String, Secret>,
    /// How long a record may wait for the cluster's acknowledgement.
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub retry: Retry,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub circuit_breaker: Breaker,
}

/// Properties the destination sets itself.
const RESERVED: [&str; 4] = [
    "bootstrap.servers",
    "acks",
    "message.timeout.ms",
    "enable.idempotence",
];

impl<Retry, Limits, Breaker> KafkaDestination<Retry, Limits, Breaker> {
    /// The checked settings; `router` is the router's own cluster (`kafka.brokers` and its
    /// producer properties). On error the field and the reason.
    pub fn settings(
        &self,
        default_timeout: Duration,
        router_brokers: &str,
        router_properties: &BTreeMap<String, Secret>,
    ) -> Result<KafkaSettings, (&'static str, String)> {
        let topic = self.topic.trim();
        let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if topic.is_empty()
            || topic.len() > 249
            || !topic.chars().all(valid)
            || topic == "."
            || topic == ".."
        {
            let why = format!(
                "{:?} is not a Kafka topic name (letters, digits, . _ -, at most 249)",
                self.topic
            );
            return Err(("topic", why));
        }
        let (brokers, properties) = match &self.brokers {
            Some(brokers) if brokers.trim().is_empty() => {
                return Err((
                    "brokers",
                    "is empty: leave it out for the router's cluster".to_owned(),
                ));
            }
            Some(brokers) => (brokers.trim().to_owned(), self.properties.clone()),
            None => {
                if !self.properties.is_empty() {
                    let why = "are for the cluster named by `brokers`: the router's own cluster uses kafka.properties";
                    return Err(("properties", why.to_owned()));
                }
                if router_brokers.trim() == "embedded" {
                    let why = "is needed: the router's kafka.brokers is `embedded`, which no destination can reach";
                    return Err(("brokers", why.to_owned()));
                }
                (router_brokers.to_owned(), router_properties.clone())
            }
        };
        if let Some(name) = self
            .properties
            .keys()
            .find(|k| RESERVED.contains(&k.as_str()))
        {
            return Err(("properties", format!("{name:?} is set by the router")));
        }
        if let Some(brokers) = &self.brokers {
            let refused = crate::kafka::refused_properties(brokers, &self.properties);
            if let Some((key, why)) = refused.into_iter().next() {
                return Err(("properties", format!("{key}: {why}")));
            }
        }
        Ok(KafkaSettings {
            topic: topic.to_owned(),
            brokers,
            properties,
            timeout: self.timeout.unwrap_or(default_timeout),
        })
    }
}

/// A Kafka subscription's attributes: none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attributes;
