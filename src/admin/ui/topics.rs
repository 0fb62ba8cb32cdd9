//! The topics page: each topic's rules per source, with how many events each rule matched in the
//! last hour, and its subscriptions with their destinations and templates.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::session;
use super::{Page, render, sign_in_first};
use crate::admin::{AdminState, listings};
use crate::telemetry::metrics::rule_label;
use crate::telemetry::recent::Kind;

/// Minutes the rule counts cover.
const WINDOW: usize = 60;

pub(super) async fn page(State(state): State<Arc<AdminState>>, headers: HeaderMap) -> Response {
    let viewer = session::viewer(&state, &headers);
    if !viewer.may_read() {
        return sign_in_first();
    }
    let config = state.config();
    let matched = state.metrics.recent.series(Kind::RuleMatched, WINDOW);
    let subscriptions = listings::subscriptions(&config);
    let topics: Vec<Value> = listings::topics(&config)
        .into_iter()
        .map(|mut topic| {
            let name = topic["id"].as_str().unwrap_or_default().to_owned();
            if let Some(sources) = topic["sources"].as_array_mut() {
                for source in sources {
                    let id = source["id"].as_str().unwrap_or_default().to_owned();
                    if let Some(rules) = source["rules"].as_array_mut() {
                        for (n, rule) in rules.iter_mut().enumerate() {
                            let count: u64 = matched
                                .get(&rule_label(&name, &id, n + 1))
                                .map_or(0, |s| s.iter().sum());
                            rule["number"] = json!(n + 1);
                            rule["matched"] = json!(count);
                        }
                    }
                }
            }
            let subs: Vec<Value> = subscriptions
                .iter()
                .filter(|s| s["topic_id"] == name.as_str())
                .cloned()
                .collect();
            topic["subscription_list"] = json!(subs);
            topic
        })
        .collect();
    render(
        &state,
        &viewer,
        Page {
            nav: "topics",
            title: "Topics",
            template: "topics",
        },
        json!({"topics": topics, "window": WINDOW}),
    )
}
