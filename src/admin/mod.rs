//! The admin HTTP server (axum): health and readiness probes, Prometheus metrics, and an API
//! shaped like Event Notifications' (`/v1/sources`, `/v1/topics`, `/v1/destinations`,
//! `/v1/subscriptions`, with EN's list shape; secrets are never returned), EN's send-notification
//! API ([`notifications`]), destination tests ([`destination_test`]) and the calls that change the
//! live configuration ([`live`]). Calls that change state need the bearer token of `admin.token`
//! ([`auth`]). The operator console is served under `/ui/` ([`ui`]).

mod auth;
mod control;
mod deliveries;
mod destination_test;
mod impact;
mod listings;
mod live;
mod notifications;
mod readiness;
mod silences;
mod tls;
pub mod ui;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rdkafka::producer::FutureProducer;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::channels::HttpClient;
use crate::config::Config;
use crate::control::Control;
use crate::reload::Live;
use crate::secret::Secret;
use crate::telemetry::metrics::{self, Metrics};

pub use auth::{reading, state_changing};
pub use destination_test::{TestStatus, TestStatuses};
pub use notifications::MAX_BODY;
pub use readiness::Readiness;
pub use silences::SilenceDesk;
pub use tls::{TlsError, TlsListener, server_config};

/// What the admin server reads: the live configuration, the metrics and readiness.
pub struct AdminState {
    live: Arc<Live>,
    /// The bearer token calls that change state must present (`admin.token`); none refuses them.
    pub token: Option<Secret>,
    /// The bearer token reads must present (`admin.read_token`, or `token`); none leaves them
    /// open.
    pub read_token: Option<Secret>,
    pub metrics: &'static Metrics,
    /// Whether the router is consuming: `/readyz`.
    pub readiness: Arc<Readiness>,
    /// What sends and destination tests go out through; without them they answer `503`.
    outlets: Option<Outlets>,
    /// The statuses of the last destination tests.
    pub tests: TestStatuses,
    /// The operator console's templates and sessions.
    pub console: ui::Console,
    /// The control topic: runtime changes are written there; none (tests) edits the file.
    pub control: Option<Arc<Control>>,
    /// The delivery ledger as this instance stores it; none when `ledger.enabled` is false.
    pub ledger: Option<Arc<crate::ledger::Store>>,
    /// Where resends go: the retry topic.
    pub retry_topic: Option<crate::retry::RetryTopic>,
}

/// What the admin server sends through: the producer that publishes sent notifications to the
/// sources' Kafka topics, and the HTTP client destination tests are delivered with.
pub struct Outlets {
    pub producer: FutureProducer,
    pub client: HttpClient,
    /// The brokers the router reads from, which impact previews read the recent traffic of.
    pub brokers: String,
    /// Where silences are kept; without it `/v1/silences` answers `503`.
    pub silences: Option<SilenceDesk>,
}

impl AdminState {
    /// Serves `config` as it is, with no router to reload (reloads still read the files).
    pub fn new(
        config: Arc<Config>,
        metrics: &'static Metrics,
        readiness: Arc<Readiness>,
        outlets: Option<Outlets>,
    ) -> Arc<AdminState> {
        Self::with_live(Arc::new(Live::new(config)), metrics, readiness, outlets)
    }

    /// Serves the configuration `live` keeps in effect.
    pub fn with_live(
        live: Arc<Live>,
        metrics: &'static Metrics,
        readiness: Arc<Readiness>,
        outlets: Option<Outlets>,
    ) -> Arc<AdminState> {
        let config = live.config();
        let admin = config.router.admin.as_ref();
        let token = admin
            .and_then(|admin| admin.token.clone())
            .filter(|token| !token.is_empty());
        let read_token = admin
            .and_then(|admin| admin.read_token.clone())
            .filter(|token| !token.is_empty());
        Arc::new(AdminState {
            live,
            token,
            read_token,
            metrics,
            readiness,
            outlets,
            tests: TestStatuses::default(),
            console: ui::Console::new(),
            control: None,
            ledger: None,
            retry_topic: None,
        })
    }
}

impl AdminState {
    /// The configuration in effect, which requests are answered from.
    pub fn config(&self) -> Arc<Config> {
        self.live.config()
    }

    /// Where silences are kept, when the router runs with Kafka.
    pub fn silences(&self) -> Option<&SilenceDesk> {
        self.outlets.as_ref().and_then(|o| o.silences.as_ref())
    }

    /// What reloads the configuration.
    pub fn live(&self) -> &Arc<Live> {
        &self.live
    }
}

/// The admin routes.
pub fn router(state: Arc<AdminState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .merge(reading(
            Router::new()
                .route("/metrics", get(metrics_text))
                .merge(listings::routes())
                .merge(control::reads())
                .merge(deliveries::reads())
                .merge(silences::reads()),
            &state,
        ))
        .merge(state_changing(
            Router::new()
                .route("/v1/notifications", post(notifications::send))
                .route("/v1/impact", post(impact::impact))
                .route(
                    "/v1/destinations/{id}/test",
                    post(destination_test::test_destination),
                )
                .merge(live::routes())
                .merge(control::routes())
                .merge(deliveries::routes())
                .merge(silences::changes()),
            &state,
        ))
        .merge(ui::routes())
        .with_state(state)
}

/// Serves the admin routes on `listener` until `shutdown`, over TLS with `tls`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: Arc<AdminState>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let stop = shutdown.clone();
    match tls {
        Some(tls) => {
            let listener = TlsListener::new(listener, tls, shutdown)?;
            axum::serve(listener, router(state))
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        }
        None => {
            axum::serve(listener, router(state))
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        }
    }
}

async fn readyz(State(state): State<Arc<AdminState>>) -> Response {
    match state.readiness.check() {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response(),
    }
}

async fn metrics_text(State(state): State<Arc<AdminState>>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state.metrics.encode(),
    )
        .into_response()
}

/// EN's error shape: `{"errors": [{"code", "message"}], "status_code"}`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body =
        json!({"errors": [{"code": code, "message": message}], "status_code": status.as_u16()});
    (status, Json(body)).into_response()
}

/// `503`: what the call needs is not there (yet).
fn unavailable(message: &str) -> Response {
    error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
}

fn not_found(kind: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("{kind} {id:?} not found"),
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path as FilePath;

    use serde_json::Value;

    use super::*;

    /// Serves the admin routes for the shipped configuration on a free local port.
    async fn start() -> (String, Arc<AdminState>, CancellationToken) {
        let path = FilePath::new(env!("CARGO_MANIFEST_DIR")).join("router.yaml");
        let config = crate::config::load_with(&path, &|_| None).expect("the shipped config loads");
        let metrics: &'static Metrics = Box::leak(Box::new(Metrics::new()));
        metrics.config_loaded(true);
        let state = AdminState::new(Arc::new(config), metrics, Arc::default(), None);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let shutdown = CancellationToken::new();
        tokio::spawn(serve(listener, None, state.clone(), shutdown.clone()));
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
        state
            .readiness
            .consuming
            .store(true, std::sync::atomic::Ordering::Release);
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
