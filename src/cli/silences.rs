//! `silences add|list|expire`: makes, lists and expires silences through the admin API of a
//! running router (`admin.listen` of router.yaml unless `--url` says otherwise), which keeps them
//! fleet-wide.

use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::config::Config;

/// Where the admin API is and the token that changes state.
#[derive(Debug, clap::Args)]
pub struct SilencesArgs {
    /// The admin API's base URL; by default `admin.listen` of router.yaml.
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// The admin token (`admin.token`), needed by `add` and `expire`.
    #[arg(
        long,
        env = "ROUTER_ADMIN_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub token: Option<String>,
    #[command(subcommand)]
    pub command: SilencesCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum SilencesCommand {
    /// Every silence: id, state, until when, scope, matcher, who, comment.
    List,
    /// Silence the deliveries of the notifications a filter matches, for a while.
    Add {
        /// An EN filter expression over the notification (`$.data.event_properties.region_id
        /// == 'us-south'`).
        #[arg(long)]
        matcher: String,
        /// How long from the start (`2h`, `30m`); or give `--ends-at`.
        #[arg(long = "for", value_parser = humantime_serde::re::humantime::parse_duration, conflicts_with = "ends_at")]
        duration: Option<Duration>,
        /// When it ends (RFC 3339).
        #[arg(long)]
        ends_at: Option<DateTime<Utc>>,
        /// When it starts (RFC 3339); now by default.
        #[arg(long)]
        starts_at: Option<DateTime<Utc>>,
        /// Only deliveries of this topic.
        #[arg(long)]
        topic: Option<String>,
        /// Only deliveries of this subscription.
        #[arg(long)]
        subscription: Option<String>,
        /// Only deliveries to this destination.
        #[arg(long)]
        destination: Option<String>,
        /// Why (shown in listings).
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// End a silence now.
    Expire {
        /// The silence's id, as `list` shows it.
        id: String,
    },
}

/// Runs a `silences` subcommand against the admin API.
pub async fn silences(config: Option<&Config>, args: &SilencesArgs) -> anyhow::Result<()> {
    let base = match (&args.url, config.and_then(|c| c.router.admin.as_ref())) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, Some(admin)) => {
            let scheme = if admin.tls.is_some() { "https" } else { "http" };
            format!("{scheme}://{}", admin.listen)
        }
        (None, None) => bail!("router.yaml has no admin section: give the admin API's --url"),
    };
    let client = reqwest::Client::new();
    let authorised = |request: reqwest::RequestBuilder| match &args.token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    let response = match &args.command {
        SilencesCommand::List => authorised(client.get(format!("{base}/v1/silences"))),
        SilencesCommand::Add {
            matcher,
            duration,
            ends_at,
            starts_at,
            topic,
            subscription,
            destination,
            comment,
        } => {
            let start = starts_at.unwrap_or_else(Utc::now);
            let ends_at = match (ends_at, duration) {
                (Some(at), _) => *at,
                (None, Some(d)) => start + chrono::TimeDelta::from_std(*d)?,
                (None, None) => bail!("give --for (2h) or --ends-at"),
            };
            let body = json!({
                "matcher": matcher,
                "scope": {"topic": topic, "subscription": subscription, "destination": destination},
                "starts_at": start,
                "ends_at": ends_at,
                "comment": comment,
            });
            authorised(client.post(format!("{base}/v1/silences")))
                .header("content-type", "application/json")
                .body(without_nulls(body).to_string())
        }
        SilencesCommand::Expire { id } => {
            authorised(client.delete(format!("{base}/v1/silences/{id}")))
        }
    }
    .send()
    .await
    .with_context(|| format!("cannot reach the admin API at {base}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if !status.is_success() {
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        bail!("the admin API answered {status}: {message}");
    }
    match &args.command {
        SilencesCommand::List => {
            for silence in body["silences"].as_array().into_iter().flatten() {
                println!("{}", line(silence));
            }
        }
        _ => println!("{}", line(&body)),
    }
    Ok(())
}

/// One silence on one line.
fn line(silence: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let scope: Vec<String> = ["topic", "subscription", "destination"]
        .iter()
        .filter_map(|k| silence["scope"][k].as_str().map(|v| format!("{k}={v}")))
        .collect();
    format!(
        "{}  {:<8} until {}  [{}]  {}  by {}  {}",
        text(&silence["id"]),
        text(&silence["state"]),
        text(&silence["ends_at"]),
        if scope.is_empty() {
            "everything".to_owned()
        } else {
            scope.join(" ")
        },
        text(&silence["matcher"]),
        text(&silence["created_by"]),
        text(&silence["comment"]),
    )
}

fn without_nulls(mut value: Value) -> Value {
    if let Some(scope) = value["scope"].as_object_mut() {
        scope.retain(|_, v| !v.is_null());
    }
    value
}
