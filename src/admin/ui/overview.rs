//! The overview: each source (on or off, events per minute, consumer lag), each destination
//! (health, circuit, disabled, queue), deliveries per outcome over the last hour, and the
//! configuration's reload status and warnings.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::chart::{self, OUTCOMES};
use super::session;
use super::{Page, render, sign_in_first};
use crate::admin::{AdminState, listings};
use crate::telemetry::recent::{Kind, MINUTES};

pub(super) async fn page(State(state): State<Arc<AdminState>>, headers: HeaderMap) -> Response {
    let viewer = session::viewer(&state, &headers);
    if !viewer.may_read() {
        return sign_in_first();
    }
    let data = overview(&state);
    render(
        &state,
        &viewer,
        Page {
            nav: "overview",
            title: "Overview",
            template: "overview",
        },
        data,
    )
}

fn overview(state: &AdminState) -> Value {
    let config = state.config();
    let metrics = state.metrics;
    let lag = consumer_lag(&metrics.encode());
    let consumed = metrics.recent.series(Kind::Consumed, 5);
    let sources: Vec<Value> = listings::sources(&config)
        .into_iter()
        .map(|source| {
            let id = source["id"].as_str().unwrap_or_default();
            let counts = consumed.get(id);
            let last = counts.and_then(|c| c.last()).copied().unwrap_or(0);
            let five: u64 = counts.map_or(0, |c| c.iter().sum());
            let topics: Vec<&str> = source["kafka_topics"]
                .as_array()
                .map(|t| t.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let lag: Option<i64> = topics
                .iter()
                .filter_map(|t| lag.get(*t))
                .copied()
                .reduce(|a, b| a + b);
            json!({
                "id": id,
                "name": source["name"],
                "enabled": source["enabled"],
                "this_minute": last,
                "per_minute": format!("{:.1}", five as f64 / 5.0),
                "lag": lag.map_or_else(|| "not measured yet".to_owned(), |l| l.to_string()),
            })
        })
        .collect();

    let deliverer = state.live().deliverer();
    let snapshot = deliverer.as_ref().map(|d| d.snapshot());
    let destinations: Vec<Value> = config
        .destinations
        .iter()
        .enumerate()
        .map(|(index, destination)| {
            let lane = snapshot
                .as_ref()
                .and_then(|s| s.lanes().try_get(index).cloned());
            let (health, health_class, circuit, disabled, queued) = match &lane {
                None => (
                    "not delivering yet".to_owned(),
                    "unknown",
                    "-".to_owned(),
                    "-".to_owned(),
                    "-".to_owned(),
                ),
                Some(lane) => {
                    let disabled = lane.disabled();
                    let (health, class) = match (&disabled, lane.failing_for()) {
                        (Some(_), _) => ("disabled".to_owned(), "bad"),
                        (None, Some(for_)) => (format!("failing for {} s", for_.as_secs()), "warn"),
                        (None, None) => ("healthy".to_owned(), "good"),
                    };
                    (
                        health,
                        class,
                        if lane.circuit_open() {
                            "open"
                        } else {
                            "closed"
                        }
                        .to_owned(),
                        disabled.map_or_else(|| "no".to_owned(), |why| format!("yes: {why}")),
                        (lane.queued() + lane.waiting()).to_string(),
                    )
                }
            };
            json!({
                "id": destination.id(),
                "channel": destination.channel().folder(),
                "health": health,
                "health_class": health_class,
                "circuit": circuit,
                "disabled": disabled,
                "queued": queued,
            })
        })
        .collect();

    let series = metrics.recent.series(Kind::Outcome, MINUTES);
    let outcomes: Vec<Value> = OUTCOMES
        .iter()
        .map(|(outcome, label)| {
            let total: u64 = series.get(*outcome).map_or(0, |s| s.iter().sum());
            json!({"outcome": outcome, "label": label, "total": total})
        })
        .collect();

    let reloaded = metrics.config_last_reload_success_timestamp_seconds.get();
    let reloaded_at = DateTime::<Utc>::from_timestamp(reloaded as i64, 0)
        .filter(|_| reloaded > 0.0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let warnings: Vec<Value> = config
        .warnings
        .iter()
        .map(
            |w| json!({"file": w.file.display().to_string(), "item": w.item, "message": w.message}),
        )
        .collect();
    json!({
        "sources": sources,
        "destinations": destinations,
        "chart": chart::svg(&series, MINUTES),
        "outcomes": outcomes,
        "reload_ok": metrics.config_last_reload_successful.get() == 1,
        "reloaded_at": reloaded_at,
        "config_path": config.path.display().to_string(),
        "warnings": warnings,
        "kafka_connected": metrics.kafka_connected.get() == 1,
        "ready": state.readiness.check().is_ok(),
    })
}

/// The consumer lag per Kafka topic (summed over its partitions), from the metrics text.
fn consumer_lag(text: &str) -> HashMap<String, i64> {
    let mut lag = HashMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("notification_router_consumer_lag{") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once("} ") else {
            continue;
        };
        let topic = labels
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| *name == "topic")
            .map(|(_, value)| value.trim_matches('"').to_owned());
        if let (Some(topic), Ok(value)) = (topic, value.trim().parse::<i64>()) {
            *lag.entry(topic).or_default() += value;
        }
    }
    lag
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_summed_per_topic_from_the_metrics_text() {
        let text = "# TYPE notification_router_consumer_lag gauge\n\
            notification_router_consumer_lag{topic=\"a\",partition=\"0\"} 3\n\
            notification_router_consumer_lag{topic=\"a\",partition=\"1\"} 4\n\
            notification_router_consumer_lag{topic=\"b\",partition=\"0\"} 0\n\
            notification_router_events_consumed_total{source=\"a\"} 9\n";
        let lag = consumer_lag(text);
        assert_eq!(lag["a"], 7);
        assert_eq!(lag["b"], 0);
        assert_eq!(lag.len(), 2);
    }
}
