//! The destinations of `router.yaml` as plain serde structs: webhook, email (SMTP), Slack,
//! PagerDuty, Teams and Kafka, each channel's own (in its `config`) with the delivery settings every
//! destination has.

use serde::Deserialize;

use crate::channels::http::SLACK_CHANNEL_RATE;
pub(super) use crate::channels::{RateLimit, SlackConfig};
use crate::dispatch::RetryPolicy;
use crate::dispatch::lanes::{BreakerSettings, LaneLimits};

/// An HTTP endpoint.
pub type WebhookDestination =
    crate::channels::WebhookDestination<RetryPolicy, LaneLimits, BreakerSettings>;
/// An SMTP server and the sender its messages come from.
pub type EmailDestination =
    crate::channels::EmailDestination<RetryPolicy, LaneLimits, BreakerSettings>;
/// A Slack workspace, reached by an incoming webhook or a bot token.
pub type SlackDestination =
    crate::channels::SlackDestination<RetryPolicy, LaneLimits, BreakerSettings>;

/// A PagerDuty service, reached by the Events API v2.
pub(super) type PagerDutyDestination =
    crate::channels::PagerDutyDestination<RetryPolicy, LaneLimits, BreakerSettings>;

/// A Microsoft Teams channel, reached by a Workflows webhook.
pub(super) type TeamsDestination =
    crate::channels::TeamsDestination<RetryPolicy, LaneLimits, BreakerSettings>;

/// A topic of the router's Kafka cluster or another.
pub(super) type KafkaDestination =
    crate::channels::KafkaDestination<RetryPolicy, LaneLimits, BreakerSettings>;

/// Where and how to deliver.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DestinationConfig {
    Webhook(WebhookDestination),
    Email(EmailDestination),
    Slack(SlackDestination),
    #[serde(rename = "pagerduty")]
    PagerDuty(PagerDutyDestination),
    Teams(TeamsDestination),
    Kafka(KafkaDestination),
}

impl DestinationConfig {
    pub fn id(&self) -> &str {
        match self {
            DestinationConfig::Webhook(webhook) => &webhook.id,
            DestinationConfig::Email(email) => &email.id,
            DestinationConfig::Slack(slack) => &slack.id,
            DestinationConfig::PagerDuty(pagerduty) => &pagerduty.id,
            DestinationConfig::Teams(teams) => &teams.id,
            DestinationConfig::Kafka(kafka) => &kafka.id,
        }
    }

    pub fn retry(&self) -> &RetryPolicy {
        match self {
            DestinationConfig::Webhook(webhook) => &webhook.retry,
            DestinationConfig::Email(email) => &email.retry,
            DestinationConfig::Slack(slack) => &slack.retry,
            DestinationConfig::PagerDuty(pagerduty) => &pagerduty.retry,
            DestinationConfig::Teams(teams) => &teams.retry,
            DestinationConfig::Kafka(kafka) => &kafka.retry,
        }
    }

    /// How fast the destination may be called: its `rate_limit`; for a Slack incoming webhook
    /// (one channel) Slack's one message a second unless set (a bot paces each channel
    /// itself); none for email and Kafka.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        match self {
            DestinationConfig::Webhook(webhook) => webhook.rate_limit,
            DestinationConfig::Email(_) => None,
            DestinationConfig::Slack(slack) => match (&slack.rate_limit, &slack.slack) {
                (Some(rate), _) => Some(*rate),
                (None, SlackConfig::IncomingWebhook { .. }) => Some(SLACK_CHANNEL_RATE),
                (None, SlackConfig::Bot { .. }) => None,
            },
            DestinationConfig::PagerDuty(pagerduty) => pagerduty.rate_limit,
            DestinationConfig::Teams(teams) => teams.rate_limit,
            DestinationConfig::Kafka(_) => None,
        }
    }

    pub fn limits(&self) -> &LaneLimits {
        match self {
            DestinationConfig::Webhook(webhook) => &webhook.limits,
            DestinationConfig::Email(email) => &email.limits,
            DestinationConfig::Slack(slack) => &slack.limits,
            DestinationConfig::PagerDuty(pagerduty) => &pagerduty.limits,
            DestinationConfig::Teams(teams) => &teams.limits,
            DestinationConfig::Kafka(kafka) => &kafka.limits,
        }
    }

    pub fn circuit_breaker(&self) -> &BreakerSettings {
        match self {
            DestinationConfig::Webhook(webhook) => &webhook.circuit_breaker,
            DestinationConfig::Email(email) => &email.circuit_breaker,
            DestinationConfig::Slack(slack) => &slack.circuit_breaker,
            DestinationConfig::PagerDuty(pagerduty) => &pagerduty.circuit_breaker,
            DestinationConfig::Teams(teams) => &teams.circuit_breaker,
            DestinationConfig::Kafka(kafka) => &kafka.circuit_breaker,
        }
    }
}
