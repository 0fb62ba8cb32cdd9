//! The admin HTTP server (axum): health and readiness probes, Prometheus metrics, and a read-only
//! API shaped like Event Notifications' (`/v1/sources`, `/v1/topics`, `/v1/destinations`,
//! `/v1/subscriptions`, with EN's list shape). Secrets are never returned.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::deliver::{SlackTarget, redacted};
use crate::metrics::{self, Metrics};
use crate::routing::{ChannelAttributes, DestinationKind};

/// What the admin server reads: the running configuration, the metrics and readiness.
pub struct AdminState {
    pub config: Arc<Config>,
    pub metrics: &'static Metrics,
    /// Set once the consumer has subscribed to the enabled sources' topics (or found none to
    /// consume).
    pub consuming: Arc<AtomicBool>,
}

impl AdminState {
    pub fn new(
        config: Arc<Config>,
        metrics: &'static Metrics,
        consuming: Arc<AtomicBool>,
    ) -> Arc<AdminState> {
        Arc::new(AdminState {
            config,
            metrics,
            consuming,
        })
    }
}

/// The admin routes.
pub fn router(state: Arc<AdminState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/v1/sources", get(list_sources))
        .route("/v1/sources/{id}", get(get_source))
        .route("/v1/topics", get(list_topics))
        .route("/v1/topics/{id}", get(get_topic))
        .route("/v1/destinations", get(list_destinations))
        .route("/v1/destinations/{id}/public_key", get(public_key))
        .route("/v1/subscriptions", get(list_subscriptions))
        .with_state(state)
}

/// Serves the admin routes on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AdminState>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

async fn readyz(State(state): State<Arc<AdminState>>) -> Response {
    if state.consuming.load(Ordering::Acquire) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not consuming yet\n").into_response()
    }
}

async fn metrics_text(State(state): State<Arc<AdminState>>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state.metrics.encode(),
    )
        .into_response()
}

/// EN's paging parameters: `offset` (default 0) and `limit` (default 10, at most 100).
#[derive(Debug, Deserialize)]
struct Paging {
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    10
}

/// EN's list shape: `{"total_count", "offset", "limit", "<name>": [...]}`.
fn page(name: &str, items: Vec<Value>, paging: &Paging) -> Json<Value> {
    let limit = paging.limit.clamp(1, 100);
    let total = items.len();
    let shown: Vec<Value> = items.into_iter().skip(paging.offset).take(limit).collect();
    let mut body = json!({"total_count": total, "offset": paging.offset, "limit": limit});
    body[name] = Value::Array(shown);
    Json(body)
}

fn not_found(kind: &str, id: &str) -> Response {
    let body = json!({"errors": [{"code": "not_found", "message": format!("{kind} {id:?} not found")}], "status_code": 404});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

fn sources(config: &Config) -> Vec<Value> {
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

async fn list_sources(
    State(state): State<Arc<AdminState>>,
    Query(paging): Query<Paging>,
) -> Json<Value> {
    page("sources", sources(&state.config), &paging)
}

async fn get_source(State(state): State<Arc<AdminState>>, Path(id): Path<String>) -> Response {
    match sources(&state.config)
        .into_iter()
        .find(|s| s["id"] == id.as_str())
    {
        Some(source) => Json(source).into_response(),
        None => not_found("source", &id),
    }
}

fn topics(config: &Config) -> Vec<Value> {
    let table = &config.table;
    table
        .topics()
        .iter()
        .map(|topic| {
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
        })
        .collect()
}

async fn list_topics(
    State(state): State<Arc<AdminState>>,
    Query(paging): Query<Paging>,
) -> Json<Value> {
    page("topics", topics(&state.config), &paging)
}

async fn get_topic(State(state): State<Arc<AdminState>>, Path(id): Path<String>) -> Response {
    match topics(&state.config)
        .into_iter()
        .find(|t| t["id"] == id.as_str())
    {
        Some(topic) => Json(topic).into_response(),
        None => not_found("topic", &id),
    }
}

/// A destination's settings as shown: URLs without their secret parts, no tokens or passwords.
fn destinations(config: &Config) -> Vec<Value> {
    config
        .table
        .destinations()
        .iter()
        .map(|destination| {
            let (kind, settings) = match &destination.kind {
                DestinationKind::Webhook(webhook) => (
                    "webhook",
                    json!({
                        "url": redacted(&webhook.url),
                        "verb": format!("{:?}", webhook.verb).to_lowercase(),
                        "custom_headers": webhook.custom_headers.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
                        "sensitive_headers": webhook.sensitive_headers.iter().map(|(n, _)| json!({"name": n, "value": "****"})).collect::<Vec<_>>(),
                    }),
                ),
                DestinationKind::Email(email) => (
                    "smtp_custom",
                    json!({
                        "server": email.server(),
                        "from": email.from.to_string(),
                        "reply_to": email.reply_to.as_ref().map(ToString::to_string),
                        "username": email.username,
                        "password": email.password.as_ref().map(|_| "****"),
                        "batch_size": email.batch_size,
                    }),
                ),
                DestinationKind::Slack(slack) => (
                    "slack",
                    match &slack.target {
                        SlackTarget::IncomingWebhook { .. } => json!({"type": "incoming_webhook", "url": "****"}),
                        SlackTarget::Bot { api_url, .. } => json!({"type": "bot", "token": "****", "api_url": api_url.as_str()}),
                    },
                ),
            };
            json!({"id": destination.id, "type": kind, "config": {"params": settings}})
        })
        .collect()
}

/// EN's public key endpoint: the `whpk_` keys a webhook destination signs `v1a` signatures with,
/// for receivers to verify with. 404 for an unknown destination or one without keys.
async fn public_key(State(state): State<Arc<AdminState>>, Path(id): Path<String>) -> Response {
    match crate::commands::public_keys(&state.config, &id) {
        Ok(keys) => {
            Json(json!({"id": id, "public_keys": keys, "public_key": keys[0]})).into_response()
        }
        Err(error) => {
            let body = json!({"errors": [{"code": "not_found", "message": error.to_string()}], "status_code": 404});
            (StatusCode::NOT_FOUND, Json(body)).into_response()
        }
    }
}

async fn list_destinations(
    State(state): State<Arc<AdminState>>,
    Query(paging): Query<Paging>,
) -> Json<Value> {
    page("destinations", destinations(&state.config), &paging)
}

fn subscriptions(config: &Config) -> Vec<Value> {
    let table = &config.table;
    table
        .subscriptions()
        .iter()
        .map(|subscription| {
            let destination = &table.destinations()[subscription.destination];
            let attributes = match &subscription.channel {
                ChannelAttributes::Webhook(webhook) => {
                    json!({"signing_enabled": webhook.signing_enabled})
                }
                ChannelAttributes::Email(email) => json!({
                    "recipients": email.recipients.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "add_notification_payload": email.add_notification_payload,
                    "reply_to": email.reply_to.as_ref().map(ToString::to_string),
                    "from_name": email.from_name,
                }),
                ChannelAttributes::Slack(slack) => json!({
                    "channels": slack.channels,
                    "attachment_color": slack.attachment_color,
                }),
            };
            json!({
                "id": subscription.name,
                "name": subscription.name,
                "topic_id": table.topics()[subscription.topic].name,
                "destination_id": destination.id,
                "destination_type": destination.kind.channel().folder(),
                "template": subscription.template,
                "attributes": attributes,
            })
        })
        .collect()
}

async fn list_subscriptions(
    State(state): State<Arc<AdminState>>,
    Query(paging): Query<Paging>,
) -> Json<Value> {
    page("subscriptions", subscriptions(&state.config), &paging)
}

#[cfg(test)]
mod tests {
    use std::path::Path as FilePath;

    use super::*;

    /// Serves the admin routes for the shipped configuration on a free local port.
    async fn start() -> (String, Arc<AdminState>, CancellationToken) {
        let path = FilePath::new(env!("CARGO_MANIFEST_DIR")).join("router.yaml");
        let config = crate::config::load_with(&path, &|_| None).expect("the shipped config loads");
        let metrics: &'static Metrics = Box::leak(Box::new(Metrics::new()));
        metrics.config_loaded(true);
        let state = AdminState::new(Arc::new(config), metrics, Arc::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let shutdown = CancellationToken::new();
        tokio::spawn(serve(listener, state.clone(), shutdown.clone()));
        (base, state, shutdown)
    }

    async fn get(url: &str) -> (u16, String) {
        let response = reqwest::get(url).await.expect("the admin server answers");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a body"))
    }

    #[tokio::test]
    async fn probes_and_metrics() {
        let (base, state, shutdown) = start().await;
        assert_eq!(get(&format!("{base}/healthz")).await, (200, "ok\n".into()));
        assert_eq!(get(&format!("{base}/readyz")).await.0, 503);
        state.consuming.store(true, Ordering::Release);
        assert_eq!(get(&format!("{base}/readyz")).await.0, 200);
        state.metrics.consumed("resource-lifecycle-events");
        let (status, text) = get(&format!("{base}/metrics")).await;
        assert_eq!(status, 200);
        assert!(
            text.contains("notification_router_config_last_reload_successful 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "notification_router_events_consumed_total{source=\"resource-lifecycle-events\"} 1\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
        shutdown.cancel();
    }

    #[tokio::test]
    async fn lists_have_en_shape_and_hide_secrets() {
        let (base, _state, shutdown) = start().await;
        let (status, body) = get(&format!("{base}/v1/sources?limit=2&offset=1")).await;
        assert_eq!(status, 200);
        let list: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(list["total_count"], 4);
        assert_eq!(
            (list["offset"].clone(), list["limit"].clone()),
            (json!(1), json!(2))
        );
        let ids: Vec<&str> = list["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .map(|s| s["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids, ["activity-tracker", "ubiops-audit"]);

        let (status, body) = get(&format!("{base}/v1/sources/ubiops-audit")).await;
        assert_eq!(status, 200);
        let source: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(
            (source["type"].clone(), source["enabled"].clone()),
            (json!("ubiops-audit"), json!(false))
        );
        assert_eq!(get(&format!("{base}/v1/sources/nope")).await.0, 404);

        let (_, body) = get(&format!("{base}/v1/destinations?limit=100")).await;
        for secret in ["local-test-token", "9000/slack"] {
            assert!(!body.contains(secret), "{secret} shown in {body}");
        }
        let list: Value = serde_json::from_str(&body).expect("JSON");
        let destination = |id: &str| {
            list["destinations"]
                .as_array()
                .expect("destinations")
                .iter()
                .find(|d| d["id"] == id)
                .unwrap_or_else(|| panic!("no destination {id}"))
                .clone()
        };
        assert_eq!(
            destination("oncall-slack")["config"]["params"]["url"],
            "****"
        );
        assert_eq!(
            destination("platform-webhook")["config"]["params"]["sensitive_headers"],
            json!([{"name": "authorization", "value": "****"}])
        );
        assert_eq!(destination("oncall-email")["type"], "smtp_custom");
        let (status, body) = get(&format!("{base}/v1/destinations/oncall-slack/public_key")).await;
        assert_eq!(status, 404, "only webhooks sign: {body}");
        assert!(body.contains("not a webhook destination"), "{body}");
        let (_, body) = get(&format!("{base}/v1/topics/instance-failures")).await;
        let topic: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(topic["subscription_count"], 3);
        let (_, body) = get(&format!("{base}/v1/subscriptions?limit=100")).await;
        let list: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(list["total_count"], 11);
        shutdown.cancel();
    }
}
