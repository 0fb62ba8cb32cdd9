//! The files a user writes, as plain serde structs: `router.yaml` and one `topics/*.yaml` per topic.
//! The destinations of `router.yaml` are in [`super::destinations`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

use crate::event::SourceKind;

pub use crate::channels::SubscriptionConfig;

pub use super::destinations::{
    DestinationConfig, EmailDestination, SlackDestination, WebhookDestination,
};
use crate::secret::Secret;

/// `router.yaml`: process settings, sources and destinations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterFile {
    pub kafka: KafkaSettings,
    #[serde(default)]
    pub http: HttpSettings,
    #[serde(default)]
    pub dedup: DedupSettings,
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub destinations: Vec<DestinationConfig>,
    /// Folder of topic files, relative to `router.yaml`.
    #[serde(default = "default_topics_dir")]
    pub topics_dir: PathBuf,
    /// Folder of Handlebars templates, relative to `router.yaml`.
    #[serde(default = "default_templates_dir")]
    pub templates_dir: PathBuf,
    /// The environment variables topic files may use as `${VAR}`; none unless listed. Topic
    /// files are written by topic owners, who must not read the operator's secrets.
    #[serde(default)]
    pub topic_variables: Vec<String>,
    /// The admin HTTP server (probes, metrics, API); off unless set.
    #[serde(default)]
    pub admin: Option<AdminSettings>,
    /// The delivery ledger: every delivery's story in a compacted topic, kept by every
    /// instance in a local store (docs/fleet-state.md).
    #[serde(default)]
    pub ledger: LedgerSettings,
    /// Named time intervals (Alertmanager's syntax) that subscriptions mute or activate by.
    #[serde(default)]
    pub time_intervals: Vec<crate::mute::NamedIntervalConfig>,
}

/// The delivery ledger.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerSettings {
    /// On unless set false: without it the delivery API and the console have no history.
    #[serde(default = "default_ledger_enabled")]
    pub enabled: bool,
    /// The compacted topic of the ledger, keyed by `webhook-id`.
    #[serde(default = "default_ledger_topic")]
    pub topic: String,
    /// The instance's store (a redb file), relative to `router.yaml`'s folder.
    #[serde(default = "default_ledger_store")]
    pub store: PathBuf,
    /// How long a delivery is kept, in the topic (`retention.ms`) and in the store.
    #[serde(default = "default_ledger_retention", with = "humantime_serde")]
    pub retention: Duration,
}

impl Default for LedgerSettings {
    fn default() -> Self {
        Self {
            enabled: default_ledger_enabled(),
            topic: default_ledger_topic(),
            store: default_ledger_store(),
            retention: default_ledger_retention(),
        }
    }
}

fn default_ledger_enabled() -> bool {
    true
}
fn default_ledger_topic() -> String {
    "notification-router.ledger".into()
}
fn default_ledger_store() -> PathBuf {
    "data/ledger.redb".into()
}
fn default_ledger_retention() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}

/// How the router talks to Kafka.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// `host:port,...`, or `embedded` for an in-process broker (librdkafka's mock cluster).
    pub brokers: String,
    #[serde(default = "default_group_id")]
    pub group_id: String,
    #[serde(default = "default_dead_letter_topic")]
    pub dead_letter_topic: String,
    /// Deliveries waiting for their next long retry.
    #[serde(default = "default_retry_topic")]
    pub retry_topic: String,
    /// Notifications waiting in a digest, keyed by subscription and group (docs/noise-control.md).
    #[serde(default = "default_digest_topic")]
    pub digest_topic: String,
    /// The compacted topic of runtime changes every instance reads from its start: sources
    /// turned on or off, destinations disabled and enabled, subscriptions paused, silences
    /// (docs/fleet-state.md). Created when missing.
    #[serde(default = "default_control_topic")]
    pub control_topic: String,
    /// The topic silences were kept in before the control topic: read once at start, when it
    /// exists, to carry its silences into the control topic (docs/fleet-state.md); never
    /// written nor created.
    #[serde(default = "default_silences_topic")]
    pub silences_topic: String,
    /// Retry records held in memory until due; reading the retry topic pauses beyond this.
    #[serde(default = "default_max_pending_retries")]
    pub max_pending_retries: usize,
    /// Records with a larger value go to the dead-letter topic unparsed.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// Records being processed at once; fetching pauses while this many are in flight.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// Records of one partition being processed at once; fetching that partition pauses beyond.
    #[serde(default = "default_max_in_flight_per_partition")]
    pub max_in_flight_per_partition: usize,
    /// How long shutdown and partition revocation wait for in-flight deliveries.
    #[serde(default = "default_drain_timeout", with = "humantime_serde")]
    pub drain_timeout: Duration,
    /// How often stored offsets are committed (`auto.commit.interval.ms`).
    #[serde(default = "default_commit_interval", with = "humantime_serde")]
    pub commit_interval: Duration,
    /// Passed to librdkafka as is (`security.protocol`, `sasl.*`, `ssl.*`, ...). The values
    /// are never logged (`sasl.password` is one of them).
    #[serde(default)]
    pub properties: BTreeMap<String, Secret>,
    /// The key of the authentication code on the records the router writes to its retry and
    /// dead-letter topics (`kafka::InternalKey`): records without a valid one are never
    /// delivered. At least 32 bytes; the same on every instance of a group. Required unless
    /// `brokers` is `embedded` (then a key of the process is made up).
    #[serde(default)]
    pub internal_key: Option<Secret>,
}

impl std::fmt::Debug for KafkaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSettings")
            .field("brokers", &self.brokers)
            .field("group_id", &self.group_id)
            .field("dead_letter_topic", &self.dead_letter_topic)
            .field("retry_topic", &self.retry_topic)
            .field("digest_topic", &self.digest_topic)
            .field("control_topic", &self.control_topic)
            .field("properties", &self.properties.keys().collect::<Vec<_>>())
            .field("internal_key", &self.internal_key)
            .finish_non_exhaustive()
    }
}

/// Where the admin HTTP server listens. It binds to loopback unless told otherwise.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    #[serde(default = "default_admin_listen")]
    pub listen: std::net::SocketAddr,
    /// The bearer token calls that change state must present; without one they are refused.
    #[serde(default)]
    pub token: Option<Secret>,
    /// The bearer token reads (the `/v1/...` listings, with recipient lists, and `/metrics`)
    /// must present (or `token`); without one they are open. The probes are always open.
    #[serde(default)]
    pub read_token: Option<Secret>,
    /// Serve HTTPS with this certificate and key (PEM files, relative to router.yaml's folder).
    #[serde(default)]
    pub tls: Option<AdminTls>,
    /// Serve plain HTTP on an address other machines reach (behind a proxy that adds TLS): a
    /// `listen` other than loopback without `tls` is refused otherwise.
    #[serde(default)]
    pub allow_plaintext: bool,
}

/// The admin server's certificate (chain) and private key, PEM files.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminTls {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

fn default_admin_listen() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 9464))
}

/// Outbound HTTP: defaults, and what webhook and Slack requests may reach.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    #[serde(default = "default_request_timeout", with = "humantime_serde")]
    pub request_timeout: Duration,
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Networks (`127.0.0.0/8`, `10.1.2.3`) that requests may reach although they are not
    /// public: loopback, private, link-local, ... are refused otherwise.
    #[serde(default, deserialize_with = "networks")]
    pub allow_private_networks: Vec<IpNet>,
    /// A proxy every webhook and Slack request goes through (`http://proxy.internal:3128`);
    /// none unless set: the system's proxy variables are never read.
    #[serde(default)]
    pub proxy: Option<Secret>,
}

/// Input de-duplication by notification id (the source and the event's id), in memory.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupSettings {
    /// How long an event id is remembered; `0s` turns de-duplication off.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// The most ids remembered; the oldest are forgotten first.
    pub max_entries: usize,
}

impl Default for DedupSettings {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(600),
            max_entries: 100_000,
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            request_timeout: default_request_timeout(),
            connect_timeout: default_connect_timeout(),
            allow_private_networks: Vec::new(),
            proxy: None,
        }
    }
}

/// Why `http.proxy` cannot be used; no message shows the proxy URL, which may carry credentials.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("is not a URL: {0}")]
    NotAUrl(url::ParseError),
    #[error("scheme {0:?} is not supported: use http or https")]
    Scheme(String),
    #[error(transparent)]
    Refused(#[from] crate::channels::UrlRefused),
}

impl HttpSettings {
    /// How the shared HTTP client is built; fails on a proxy that is not an http(s) URL, or
    /// whose IP address the network policy refuses (the message never shows the proxy URL,
    /// which may carry credentials).
    pub fn options(&self) -> Result<crate::channels::HttpOptions, ProxyError> {
        let proxy = match &self.proxy {
            Some(proxy) if !proxy.is_empty() => {
                let url = url::Url::parse(proxy.expose()).map_err(ProxyError::NotAUrl)?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(ProxyError::Scheme(url.scheme().to_owned()));
                }
                // The proxy is reached like any destination: an IP-literal proxy is checked
                // here (a name is checked when it resolves).
                crate::channels::NetworkPolicy::new(self.allow_private_networks.clone())
                    .check_url(&url)?;
                Some(url)
            }
            _ => None,
        };
        Ok(crate::channels::HttpOptions {
            connect_timeout: self.connect_timeout,
            allow_private_networks: self.allow_private_networks.clone(),
            proxy,
        })
    }
}

/// CIDR networks, or single addresses.
fn networks<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    Vec::<String>::deserialize(deserializer)?
        .iter()
        .map(|text| {
            let text = text.trim();
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "{text:?} is not a network: write a CIDR like 127.0.0.0/8 or an address"
                    ))
                })
        })
        .collect()
}

/// A producer of events, arriving on Kafka topics. Off unless enabled.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: SourceKind,
    #[serde(default)]
    pub enabled: bool,
    pub kafka_topics: Vec<String>,
}

/// `topics/<name>.yaml`: one topic, its rules per source and its subscriptions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicFile {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub sources: Vec<TopicSource>,
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionConfig>,
}

/// The rules for one source; none means every event of the source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSource {
    pub id: String,
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

/// When an event of the source belongs to the topic: both filters must match.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default = "default_event_type_filter")]
    pub event_type_filter: String,
    #[serde(default)]
    pub notification_filter: Option<String>,
}

fn default_topics_dir() -> PathBuf {
    PathBuf::from("topics")
}
fn default_templates_dir() -> PathBuf {
    PathBuf::from("templates")
}
fn default_group_id() -> String {
    "notification-router".into()
}
fn default_dead_letter_topic() -> String {
    "notification-router.dead-letter".into()
}
fn default_control_topic() -> String {
    "notification-router.control".into()
}
fn default_retry_topic() -> String {
    "notification-router.retry".into()
}
fn default_digest_topic() -> String {
    "notification-router.digest".into()
}
fn default_silences_topic() -> String {
    "notification-router.silences".into()
}
fn default_max_pending_retries() -> usize {
    20_000
}
fn default_max_in_flight_per_partition() -> usize {
    500
}
fn default_max_message_bytes() -> usize {
    256 * 1024
}
fn default_max_in_flight() -> usize {
    1000
}
fn default_drain_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_commit_interval() -> Duration {
    Duration::from_secs(1)
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_true() -> bool {
    true
}
fn default_event_type_filter() -> String {
    "$.*".into()
}
