//! `explain`: what the current configuration does with one event, and why. It answers the most
//! common support question, "why did my notification not arrive?", without sending anything.

use std::fmt::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::config::Config;
use crate::event::Notification;
use crate::routing::{Route, SourceIndex, Topic, accepting_source};
use crate::silence::Silences;

/// Arguments of `explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A file holding one event, as it would arrive on a source's Kafka topic.
    #[arg(long)]
    pub event: PathBuf,
    /// The source the event comes from; by default the first source in `router.yaml` that
    /// accepts it.
    #[arg(long)]
    pub source: Option<String>,
}

/// Prints the explanation of `args.event` under `config`, with the silences of the running
/// router when its admin API answers.
pub async fn explain(config: &Config, args: &ExplainArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.event)
        .with_context(|| format!("cannot read {}", args.event.display()))?;
    let (source, notification) = normalised(config, &bytes, args.source.as_deref())
        .with_context(|| format!("{}", args.event.display()))?;
    let silences = running_silences(config).await;
    print!("{}", explanation(config, source, &notification, &silences));
    Ok(())
}

/// The silences of the router whose admin API `router.yaml` names (with `ROUTER_READ_TOKEN` or
/// `ROUTER_ADMIN_TOKEN` when set); `None` without an admin section, or why they are not known.
async fn running_silences(config: &Config) -> Option<Result<Arc<Silences>, String>> {
    let admin = config.router.admin.as_ref()?;
    let scheme = if admin.tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}/v1/silences", admin.listen);
    let token = std::env::var("ROUTER_READ_TOKEN")
        .or_else(|_| std::env::var("ROUTER_ADMIN_TOKEN"))
        .ok();
    let fetched = async {
        let mut request = reqwest::Client::new()
            .get(&url)
            .timeout(std::time::Duration::from_secs(3));
        if let Some(token) = &token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{} answered {}", url, response.status()));
        }
        let text = response.text().await.map_err(|e| e.to_string())?;
        let body: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let silences = Silences::new();
        for value in body["silences"].as_array().into_iter().flatten() {
            if let Ok(silence) = serde_json::from_value(value.clone()) {
                let _ = silences.put(silence);
            }
        }
        Ok(silences)
    };
    Some(
        fetched
            .await
            .map_err(|why| format!("not known: the admin API at {url} did not answer ({why})")),
    )
}

/// The event normalised as `wanted` would, or as the first source that accepts it.
fn normalised(
    config: &Config,
    bytes: &[u8],
    wanted: Option<&str>,
) -> anyhow::Result<(SourceIndex, Notification)> {
    Ok(accepting_source(
        &config.table,
        config.router.kafka.max_message_bytes,
        bytes,
        wanted,
    )?)
}

/// The whole explanation as text.
pub(super) fn explanation(
    config: &Config,
    source: SourceIndex,
    notification: &Notification,
    silences: &Option<Result<Arc<Silences>, String>>,
) -> String {
    let table = &config.table;
    let source_config = table.source(source);
    let mut out = String::new();
    let body = &notification.body;
    let text = |field: &str| body.get(field).and_then(|v| v.as_str()).unwrap_or("");
    let _ = writeln!(
        out,
        "Source: {} ({}), {}",
        source_config.id,
        source_config.kind.as_str(),
        if source_config.enabled {
            "enabled"
        } else {
            "DISABLED: its events are dropped before any topic sees them; set `enabled: true`"
        }
    );
    let _ = writeln!(out, "Notification {}:", notification.id);
    let _ = writeln!(out, "  type:     {}", notification.event_type);
    let catalogue = match source_config.kind.known_types() {
        Some(known) if known.contains(&notification.event_type) => {
            format!("listed in the {} catalogue", source_config.kind.as_str())
        }
        Some(_) => format!(
            "not in the {} catalogue (accepted: it has the catalogue's shape)",
            source_config.kind.as_str()
        ),
        None => "any type is accepted from this source".to_owned(),
    };
    let _ = writeln!(out, "            {catalogue}");
    let _ = writeln!(out, "  severity: {}", text("ibmenseverity"));
    let _ = writeln!(out, "  short:    {}", text("ibmendefaultshort"));
    let _ = writeln!(
        out,
        "  body:     {}",
        serde_json::to_string_pretty(body)
            .unwrap_or_default()
            .replace('\n', "\n            ")
    );

    let _ = writeln!(out, "\nTopics:");
    for topic in table.topics() {
        explain_topic(&mut out, config, topic, source, notification);
    }

    let _ = writeln!(out, "\nDeliveries:");
    match table.route(source, notification) {
        Route::SourceDisabled => {
            let _ = writeln!(out, "  none: the source is disabled");
        }
        Route::Matched { deliveries, .. } if deliveries.is_empty() => {
            let _ = writeln!(out, "  none: no topic with a subscription matched");
        }
        Route::Matched { deliveries, .. } => {
            for delivery in deliveries {
                let destination = config.destinations.get(delivery.subscription.destination);
                let channel = destination.channel().folder();
                let index = table.subscription_index(&delivery.subscription.name);
                let template = index
                    .and_then(|index| destination.template(index))
                    .unwrap_or("the default rendering");
                let _ = writeln!(
                    out,
                    "  {} (topic {}) → {} ({channel}, {template}), delivery id {}",
                    delivery.subscription.name,
                    delivery.topic.name,
                    delivery.destination.id,
                    delivery.webhook_id
                );
                if let Some(note) = index.and_then(|i| destination.explain(i, body)) {
                    let _ = writeln!(out, "      {channel}: {note}");
                }
                let now = chrono::Utc::now();
                if let Some(line) = delivery
                    .subscription
                    .mute
                    .as_ref()
                    .and_then(|m| m.explain(now))
                {
                    let _ = writeln!(out, "      {line}");
                }
                if let Some(digest) = &delivery.subscription.digest {
                    let _ = writeln!(out, "      {}", digest.explain(body));
                }
                if let Some(Ok(silences)) = silences {
                    let scoped = crate::silence::Delivery {
                        topic: &delivery.topic.name,
                        subscription: &delivery.subscription.name,
                        destination: &delivery.destination.id,
                    };
                    if let Some(silence) = silences.muting(&notification.body, scoped, now) {
                        let _ = writeln!(
                            out,
                            "      silenced now by {} ({}, until {}, by {}): not sent",
                            silence.id,
                            silence.matcher,
                            silence.ends_at.to_rfc3339(),
                            silence.created_by
                        );
                    }
                }
            }
        }
    }
    if let Some(Err(why)) = silences {
        let _ = writeln!(out, "\nSilences: {why}");
    }
    if !config.warnings.is_empty() {
        let _ = writeln!(out, "\nConfiguration warnings:");
        for warning in &config.warnings {
            let _ = writeln!(out, "  {warning}");
        }
    }
    out
}

/// One topic: not for this source, or each rule with how its filters evaluated.
fn explain_topic(
    out: &mut String,
    config: &Config,
    topic: &Topic,
    source: SourceIndex,
    notification: &Notification,
) {
    let subscriptions = topic.subscriptions.len();
    let Some(rules) = topic.sources.iter().find(|ts| ts.source == source) else {
        let ids: Vec<&str> = topic
            .sources
            .iter()
            .map(|ts| config.table.source(ts.source).id.as_str())
            .collect();
        let _ = writeln!(
            out,
            "  - {}: not for this source (its sources: {})",
            topic.name,
            ids.join(", ")
        );
        return;
    };
    let matched =
        rules.rules.is_empty() || rules.rules.iter().any(|r| r.matches(&notification.body));
    let _ = writeln!(
        out,
        "  {} {} ({}, {subscriptions} subscription(s))",
        if matched { "✓" } else { "✗" },
        topic.name,
        topic.file.display()
    );
    if rules.rules.is_empty() {
        let _ = writeln!(out, "      no rules: every event of the source belongs");
    }
    for (n, rule) in rules.rules.iter().enumerate() {
        let state = match (rule.enabled, rule.matches(&notification.body)) {
            (false, _) => "disabled",
            (true, true) => "matches",
            (true, false) => "does not match",
        };
        let _ = writeln!(out, "      rule {}: {state}", n + 1);
        let _ = writeln!(out, "        event_type_filter:");
        out.push_str(&rule.event_type_filter.explain(&notification.body).lines(10));
        if let Some(filter) = &rule.notification_filter {
            let _ = writeln!(out, "        notification_filter:");
            out.push_str(&filter.explain(&notification.body).lines(10));
        }
    }
}
