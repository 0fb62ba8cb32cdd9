//! The explain page: an event pasted (or one of the shipped examples) → the notification, each
//! topic and rule with every clause marked as holding or failing, and what each subscription
//! would send, rendered as its delivery would be (an HTML email shown in a sandboxed frame).
//! Nothing is sent.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::session::{self, Viewer};
use super::{Page, render, sign_in_first, url_escape};
use crate::admin::AdminState;
use crate::channels::{HttpClient, Message};
use crate::config::Config;
use crate::event::Notification;
use crate::filter::Explanation;
use crate::routing::{Route, SourceIndex, accepting_source, delivery_id};

/// The shipped example events, by file name under `examples/events/`.
const EXAMPLES: [(&str, &str); 6] = [
    (
        "instance-create.json",
        include_str!("../../../examples/events/instance-create.json"),
    ),
    (
        "instance-create-failure.json",
        include_str!("../../../examples/events/instance-create-failure.json"),
    ),
    (
        "key-delete.json",
        include_str!("../../../examples/events/key-delete.json"),
    ),
    (
        "resource-group-update.json",
        include_str!("../../../examples/events/resource-group-update.json"),
    ),
    (
        "activity-tracker/secret-create.json",
        include_str!("../../../examples/events/activity-tracker/secret-create.json"),
    ),
    (
        "cloudevents/build-finished.json",
        include_str!("../../../examples/events/cloudevents/build-finished.json"),
    ),
];

/// `GET /ui/explain[?example=NAME]`: the form, with the example's text in it.
pub(super) async fn form(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let viewer = session::viewer(&state, &headers);
    if !viewer.may_read() {
        return sign_in_first();
    }
    let example = query.get("example").map(String::as_str);
    let event = example
        .and_then(|name| EXAMPLES.iter().find(|(n, _)| *n == name))
        .map_or("", |(_, text)| *text);
    show(&state, &viewer, event, example, None, Value::Null)
}

/// `POST /ui/explain` with `event` (and `source`): the explanation under the form.
pub(super) async fn explain(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let viewer = session::viewer(&state, &headers);
    if !viewer.may_read() {
        return sign_in_first();
    }
    let event = form.get("event").map_or("", String::as_str);
    let source = form
        .get("source")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    let config = state.config();
    let max = config.router.kafka.max_message_bytes;
    let result = match accepting_source(&config.table, max, event.as_bytes(), source) {
        Ok((index, notification)) => explanation(&state, &config, index, &notification),
        Err(error) => json!({"rejected": error.to_string()}),
    };
    show(&state, &viewer, event, None, source, result)
}

fn show(
    state: &AdminState,
    viewer: &Viewer,
    event: &str,
    example: Option<&str>,
    source: Option<&str>,
    result: Value,
) -> Response {
    let config = state.config();
    let examples: Vec<Value> = EXAMPLES
        .iter()
        .map(|(name, _)| json!({"name": name, "selected": Some(*name) == example}))
        .collect();
    let sources: Vec<Value> = config
        .table
        .sources()
        .iter()
        .map(|s| json!({"id": s.id, "selected": Some(s.id.as_str()) == source}))
        .collect();
    render(
        state,
        viewer,
        Page {
            nav: "explain",
            title: "Explain",
            template: "explain",
        },
        json!({
            "event": event,
            "examples": examples,
            "sources": sources,
            "result": result,
            "has_result": !result.is_null(),
        }),
    )
}

/// The explanation of `notification` from `source` under `config`, as the template shows it.
fn explanation(
    state: &AdminState,
    config: &Config,
    source: SourceIndex,
    notification: &Notification,
) -> Value {
    let table = &config.table;
    let source_config = table.source(source);
    let topics: Vec<Value> = table
        .topics()
        .iter()
        .map(|topic| {
            let Some(rules) = topic.sources.iter().find(|ts| ts.source == source) else {
                return json!({"name": topic.name, "for_source": false});
            };
            let matched = rules.rules.is_empty()
                || rules.rules.iter().any(|r| r.matches(&notification.body));
            let rules: Vec<Value> = rules
                .rules
                .iter()
                .enumerate()
                .map(|(n, rule)| {
                    let state = match (rule.enabled, rule.matches(&notification.body)) {
                        (false, _) => "disabled",
                        (true, true) => "matches",
                        (true, false) => "does not match",
                    };
                    json!({
                        "number": n + 1,
                        "state": state,
                        "matches": rule.enabled && rule.matches(&notification.body),
                        "event_type_filter": tree(&rule.event_type_filter.explain(&notification.body)),
                        "notification_filter": rule.notification_filter.as_ref().map(|f| tree(&f.explain(&notification.body))),
                    })
                })
                .collect();
            json!({
                "name": topic.name,
                "for_source": true,
                "matched": matched,
                "no_rules": rules.is_empty(),
                "rules": rules,
                "subscriptions": topic.subscriptions.len(),
            })
        })
        .collect();
    let deliveries: Vec<Value> = match table.route(source, notification) {
        Route::SourceDisabled => Vec::new(),
        Route::Matched { deliveries, .. } => deliveries
            .iter()
            .map(|delivery| {
                let name = &delivery.subscription.name;
                let (preview, html) = preview(state, config, name, notification);
                json!({
                    "subscription": name,
                    "topic": delivery.topic.name,
                    "destination": delivery.destination.id,
                    "webhook_id": delivery.webhook_id,
                    "muted": delivery.subscription.mute.as_ref().and_then(|m| m.explain(chrono::Utc::now())),
                    "digest": delivery.subscription.digest.as_ref().map(|d| d.explain(&notification.body)),
                    "silenced": silenced_by(state, notification, delivery),
                    "silence_href": silence_link(&notification.event_type, name),
                    "preview": preview,
                    "html": html,
                })
            })
            .collect(),
    };
    json!({
        "source": source_config.id,
        "source_enabled": source_config.enabled,
        "id": notification.id,
        "type": notification.event_type,
        "body": serde_json::to_string_pretty(&notification.body).unwrap_or_default(),
        "topics": topics,
        "deliveries": deliveries,
    })
}

/// What subscription `name` would send: the preview text, and an email's HTML part.
fn preview(
    state: &AdminState,
    config: &Config,
    name: &str,
    notification: &Notification,
) -> (String, Option<String>) {
    let Some(index) = config.table.subscription_index(name) else {
        return ("the subscription is not configured".into(), None);
    };
    let client = match state.outlets.as_ref() {
        Some(outlets) => outlets.client.clone(),
        None => match config.router.http.options().map(|o| HttpClient::new(&o)) {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => return (format!("no HTTP client: {error}"), None),
            Err(error) => return (format!("no HTTP client: {error}"), None),
        },
    };
    let target = match config.destinations.target(index, &client) {
        Ok(Some(target)) => target,
        Ok(None) => return ("the subscription has no destination".into(), None),
        Err(error) => return (format!("cannot build its target: {error}"), None),
    };
    let rendered = match &config.table.subscriptions()[index].digest {
        Some(digest) => target.render_digest(
            &config.templates,
            &digest.context_of_one(&notification.body),
        ),
        None => target.render(&config.templates, &notification.body),
    };
    let message = match rendered {
        Ok(message) => message,
        Err(error) => return (format!("its template fails: {error}"), None),
    };
    let html = match &message {
        Message::Email(email) => Some(email.content.html.clone()),
        _ => None,
    };
    let id = delivery_id(&notification.id, name);
    match message.preview(&notification.id, &id) {
        Ok(text) => (text, html),
        Err(error) => (format!("cannot preview: {error}"), html),
    }
}

/// An explanation as the `explanation` partial shows it: each part holding or failing, what its
/// paths selected, and its parts.
fn tree(explanation: &Explanation) -> Value {
    json!({
        "text": explanation.text,
        "holds": explanation.holds,
        "selected": explanation.selected.iter().map(|(path, values)| json!({
            "path": path,
            "values": if values.is_empty() { "selects nothing".to_owned() } else { format!("is {}", values.join(", ")) },
        })).collect::<Vec<_>>(),
        "parts": explanation.parts.iter().map(tree).collect::<Vec<_>>(),
    })
}

/// The silences page's form, pre-filled with a matcher for events of `event_type` and
/// `subscription` as the scope.
fn silence_link(event_type: &str, subscription: &str) -> String {
    let matcher = format!("$.type == '{}'", event_type.replace('\'', "\\'"));
    format!(
        "/ui/silences?matcher={}&subscription={}&duration=2h#new-silence",
        url_escape(&matcher),
        url_escape(subscription)
    )
}

/// Which silence would mute `delivery` of `notification` now, as a line for the page.
fn silenced_by(
    state: &AdminState,
    notification: &Notification,
    delivery: &crate::routing::Delivery<'_>,
) -> Option<String> {
    let desk = state.silences()?;
    let scoped = crate::silence::Delivery {
        topic: &delivery.topic.name,
        subscription: &delivery.subscription.name,
        destination: &delivery.destination.id,
    };
    let silence = desk
        .silences
        .muting(&notification.body, scoped, chrono::Utc::now())?;
    Some(format!(
        "silenced now by {} (matcher {}, until {}, by {}): not sent",
        silence.id,
        silence.matcher,
        silence.ends_at.to_rfc3339(),
        silence.created_by
    ))
}
