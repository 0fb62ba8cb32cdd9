//! The read-only part of the API, in Event Notifications' list shape: sources, topics,
//! destinations (secrets masked, signing public keys) and subscriptions.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use axum::Router;
use axum::routing::get;

use super::{AdminState, error, not_found};
use crate::channels::{Destination, SlackTarget, Subscription, redacted};
use crate::config::Config;
use crate::routing::{RoutingTable, Topic};

/// The read-only API routes.
pub(super) fn routes() -> Router<Arc<AdminState>> {
    Router::new()
        .route("/v1/sources", get(list_sources))
        .route("/v1/sources/{id}", get(get_source))
        .route("/v1/topics", get(list_topics))
        .route("/v1/topics/{id}", get(get_topic))
        .route("/v1/destinations", get(list_destinations))
        .route("/v1/destinations/{id}/public_key", get(public_key))
        .route("/v1/subscriptions", get(list_subscriptions))
}

/// EN's paging parameters: `offset` (default 0) and `limit` (default 10, at most 100).
#[derive(Debug, Deserialize)]
pub(super) struct Paging {
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    10
}

/// EN's list shape: `{"total_count", "offset", "limit", "<name>": [...]}`.
pub(super) fn page(name: &str, items: Vec<Value>, paging: &Paging) -> Json<Value> {
    let limit = paging.limit.clamp(1, 100);
    let total = items.len();
    let shown: Vec<Value> = items.into_iter().skip(paging.offset).take(limit).collect();
    let mut body = json!({"total_count": total, "offset": paging.offset, "limit": limit});
    body[name] = Value::Array(shown);
    Json(body)
}

pub(super) fn sources(config: &Config) -> Vec<Value> {
    config
        .table
        .sources()
        .iter()
        .zip(&config.router.sources)
        .map(|(source, file)| {
            let topics = config
                .table
                .topics()
                .iter()
                .filter(|t| {
                    t.sources
                        .iter()
                        .any(|ts| config.table.source(ts.source).id == source.id)
                })
                .count();
            json!({
                "id": source.id,
                "name": source.name,
                "description": file.description,
                "type": source.kind.as_str(),
                "enabled": source.enabled,
                "kafka_topics": source.kafka_topics,
                "topic_count": topics,
            })
        })
        .collect()
}

pub(super) async fn list_sources(
    State(state): State<Arc<AdminState>>,
    Query(paging): Query<Paging>,
) -> Json<Value> {
    page("sources", sources(&state.config()), &paging)
}

pub(super) async fn get_source(
    State(state): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> Response {
    match source(&state.config(), &id) {
        Some(source) => Json(source).into_response(),
        None => not_found("source", &id),
    }
}

/// One source as `GET /v1/sources/{id}` answers it.
pub(super) fn source(config: &Config, id: &str) -> Option<Value> {
    sources(config).into_iter().find(|s| s["id"] == id)
}

pub(super) fn topics(config: &Config) -> Vec<Value> {
    let table = &config.table;
    table.topics().iter().map(|t| topic(table, t)).collect()
}

/// One topic as `GET /v1/topics/{id}` answers it.
fn topic(table: &RoutingTable, topic: &Topic) -> Value {
    let sources: Vec<Value> = topic
        .sources
        .iter()
        .map(|ts| {
            let rules: Vec<Value> = ts
                .rules
                .iter()
                .map(|rule| {
                    json!({
                        "enabled": rule.enabled,
                        "event_type_filter": rule.event_type_filter.source(),
                        "notification_filter": rule.notification_filter.as_ref().map(|f| f.source()),
                    })
                })
                .collect();
            json!({"id": table.source(ts.source).id, "rules": rules})
        })
        .collect();
    let subscriptions: Vec<&str> = topic
        .subscriptions
        .iter()
        .map(|&s| table.subscriptions()[s].name.as_str())
        .collect();
    json!({
        "id": topic.name,
        "name": topic.name,
        "description": topic.description,
        "file": topic.file,
        "source_count": sources.len(),
        "sources": sources,
        "subscription_count": subscriptions.len(),
        "subscriptions": subscriptions,
    })
}

pub(super) async fn list_topics(
    State(state): State<Arc<AdminState>>,
    Query(paging): Query<Paging>,
) -> Json<Value> {
    page("topics", topics(&state.config()), &paging)
}

pub(super) async fn get_topic(
    State(state): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> Response {
    let config = state.config();
    match config.table.topics().iter().find(|t| t.name == id) {
        Some(found) => Json(topic(&config.table, found)).into_response(),
        None => not_found("topic", &id),
    }
}

/// A destination's settings as shown: URLs without their secret parts, no tokens or passwords.
fn destinations(config: &Config) -> Vec<Value> {
    config
        .destinations
        .iter()
        .map(|destination| {
            let (kind, settings) = match destination {
                Destination::Webhook(webhook) => {
                    let webhook = &webhook.settings;
                    (
                    "webhook",
                    json!({
                        "url": redacted(&webhook.url),
                        "verb": format!("{:?}", webhook.verb).to_lowercase(),
                        "custom_headers": webhook.custom_headers.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
                        "sensitive_headers": webhook.sensitive_headers.iter().map(|(n, _)| json!({"name": n, "value": "****"})).collect::<Vec<_>>(),
                    }),
                )
                }
                Destination::Email(email) => {
                    let email = &email.settings;
                    (
                    "smtp_custom",
                    json!({
                        "server": email.server(),
                        "from": email.from.to_string(),
                        "reply_to": email.reply_to.as_ref().map(ToString::to_string),
                        "username": email.username,
                        "password": email.password.as_ref().map(|_| "****"),
                        "batch_size": email.batch_size,
                    }),
                )
                }
                Destination::Slack(slack) => (
                    "slack",
                    match &slack.settings.target {
                        SlackTarget::IncomingWebhook { .. } => json!({"type": "incoming_webhook", "url": "****"}),
                        SlackTarget::Bot { api_url, .. } => json!({"type": "bot", "token": "****", "api_url": redacted(api_url)}),
                    },
                ),
                Destination::PagerDuty(pagerduty) => (
                    "pagerduty",
                    json!({"url": redacted(&pagerduty.settings.url), "routing_key": "****"}),
                ),
                Destination::Teams(_) => ("teams", json!({"url": "****"})),
                Destination::Kafka(kafka) => (
                    "kafka",
                    json!({"topic": kafka.settings.topic, "brokers": kafka.settings.brokers}),
                ),
            };
            json!({"id": destination.id(), "type": kind, "config": {"params": settings}})
        })
        .collect()
}

/// EN's public key endpoint: the `whpk_` keys a webhook destination signs `v1a` signatures with,
/// for receivers to verify with. 404 for an unknown destination or one without keys.
pub(super) async fn public_key(
    State(state): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> Response {
    match state.config().destinations.public_keys(&id) {
        Ok(keys) => {
            Json(json!({"id": id, "public_keys": keys, "public_key": keys[0]})).into_response()
        }
        Err(problem) => error(StatusCode::NOT_FOUND, "not_found", &problem.to_string()),
    }
}

pub(super) async fn list_destinations(
    State(state): State<Arc<AdminState>>,
    Query(paging): Query<Paging>,
) -> Json<Value> {
    page("destinations", destinations(&state.config()), &paging)
}

pub(super) fn subscriptions(config: &Config) -> Vec<Value> {
    let table = &config.table;
    let mut listed: Vec<(usize, Value)> = Vec::with_capacity(table.subscriptions().len());
    for destination in config.destinations.iter() {
        let id = destination.id();
        let folder = destination.channel().folder();
        let mut list = |index: usize, template: &Option<String>, attributes: Value| {
            let subscription = &table.subscriptions()[index];
            let shown = json!({
                "id": subscription.name,
                "name": subscription.name,
                "topic_id": table.topics()[subscription.topic].name,
                "destination_id": id,
                "destination_type": folder,
                "template": template,
                "attributes": attributes,
            });
            listed.push((index, shown));
        };
        match destination {
            Destination::Webhook(webhook) => {
                for s in &webhook.subscriptions {
                    let attributes = json!({"signing_enabled": s.attributes.signing_enabled});
                    list(s.index, &s.template, attributes);
                }
            }
            Destination::Email(email) => {
                for s in &email.subscriptions {
                    list(s.index, &s.template, email_attributes(s));
                }
            }
            Destination::Slack(slack) => {
                for s in &slack.subscriptions {
                    let attributes = json!({
                        "channels": s.attributes.channels,
                        "attachment_color": s.attributes.attachment_color,
                    });
                    list(s.index, &s.template, attributes);
                }
            }
            Destination::PagerDuty(pagerduty) => {
                for s in &pagerduty.subscriptions {
                    let attributes = json!({
                        "dedup_key": s.attributes.dedup_key.as_ref().map(|t| t.source()),
                        "resolve_on": s.attributes.resolve_on.source(),
                    });
                    list(s.index, &s.template, attributes);
                }
            }
            Destination::Teams(teams) => {
                for s in &teams.subscriptions {
                    list(s.index, &s.template, json!({}));
                }
            }
            Destination::Kafka(kafka) => {
                for s in &kafka.subscriptions {
                    list(s.index, &s.template, json!({}));
                }
            }
        }
    }
    // In the table's order, as the topic files list them.
    listed.sort_unstable_by_key(|(index, _)| *index);
    listed.into_iter().map(|(_, shown)| shown).collect()
}

fn email_attributes(subscription: &Subscription<crate::channels::email::Attributes>) -> Value {
    let attributes = &subscription.attributes;
    json!({
        "recipients": attributes.recipients.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "add_notification_payload": attributes.add_notification_payload,
        "reply_to": attributes.reply_to.as_ref().map(ToString::to_string),
        "from_name": attributes.from_name,
    })
}

pub(super) async fn list_subscriptions(
    State(state): State<Arc<AdminState>>,
    Query(paging): Query<Paging>,
) -> Json<Value> {
    page("subscriptions", subscriptions(&state.config()), &paging)
}
