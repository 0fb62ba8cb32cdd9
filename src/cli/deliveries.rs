//! `deliveries`: the delivery history through a running router's admin API — list with filters,
//! show one delivery with its attempts, resend one (through the retry topic, same `webhook-id`).
//! The API's address and token come from `router.yaml`'s `admin:` section unless given.

use anyhow::{Context, bail};
use serde_json::Value;

use crate::config::Config;

#[derive(Debug, Clone, clap::Args)]
pub struct DeliveriesArgs {
    /// The admin API, e.g. `http://127.0.0.1:9464`; by default `admin.listen` of router.yaml.
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// The admin token (reads need `admin.read_token` when one is set); by default the
    /// configuration's.
    #[arg(
        long,
        global = true,
        env = "ROUTER_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    #[command(subcommand)]
    pub command: DeliveriesCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum DeliveriesCommand {
    /// Deliveries, newest state of each, one per line.
    List {
        #[arg(long)]
        subscription: Option<String>,
        #[arg(long)]
        destination: Option<String>,
        /// `retrying`, `delivered`, `dead_lettered` or `paused`.
        #[arg(long)]
        status: Option<String>,
        /// Only those updated since this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// The `next` cursor a previous page printed.
        #[arg(long)]
        cursor: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// One delivery with its attempts, as JSON.
    Show { webhook_id: String },
    /// Deliver it again, with the same `webhook-id`.
    Resend { webhook_id: String },
}

/// Runs `args` against the admin API of `config`'s router.
pub async fn deliveries(config: &Config, args: &DeliveriesArgs) -> anyhow::Result<()> {
    let admin = config.router.admin.as_ref();
    let base = match (&args.url, admin) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, Some(admin)) => {
            let scheme = if admin.tls.is_some() { "https" } else { "http" };
            format!("{scheme}://{}", admin.listen)
        }
        (None, None) => bail!("router.yaml has no admin: section; give the API with --url"),
    };
    let token = args.token.clone().or_else(|| {
        admin
            .and_then(|a| a.token.as_ref().or(a.read_token.as_ref()))
            .map(|t| t.expose().to_owned())
            .filter(|t| !t.is_empty())
    });
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .context("cannot build the HTTP client")?;
    let call = |method: reqwest::Method, path: String| {
        let request = client.request(method, format!("{base}{path}"));
        match &token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    };
    match &args.command {
        DeliveriesCommand::List {
            subscription,
            destination,
            status,
            since,
            cursor,
            limit,
        } => {
            let mut query = vec![("limit", limit.to_string())];
            for (name, value) in [
                ("subscription", subscription),
                ("destination", destination),
                ("status", status),
                ("since", since),
                ("cursor", cursor),
            ] {
                if let Some(value) = value {
                    query.push((name, value.clone()));
                }
            }
            let page =
                answer(call(reqwest::Method::GET, "/v1/deliveries".into()).query(&query)).await?;
            for d in page["deliveries"].as_array().into_iter().flatten() {
                let last = d["history"]
                    .as_array()
                    .and_then(|h| h.last())
                    .map(|a| {
                        a["status"].as_u64().map_or_else(
                            || a["error"].as_str().unwrap_or("-").to_owned(),
                            |s| s.to_string(),
                        )
                    })
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{:<40} {:<13} {:<24} {:<20} attempts {:<3} last {:<6} {}",
                    text(&d["webhook_id"]),
                    text(&d["state"]),
                    text(&d["subscription"]),
                    text(&d["destination"]),
                    d["attempts"],
                    last,
                    text(&d["updated_at"]),
                );
            }
            if let Some(next) = page["next_cursor"].as_str() {
                println!("more: --cursor {next}");
            }
        }
        DeliveriesCommand::Show { webhook_id } => {
            let delivery = answer(call(
                reqwest::Method::GET,
                format!("/v1/deliveries/{webhook_id}"),
            ))
            .await?;
            println!("{}", serde_json::to_string_pretty(&delivery)?);
        }
        DeliveriesCommand::Resend { webhook_id } => {
            answer(call(
                reqwest::Method::POST,
                format!("/v1/deliveries/{webhook_id}/resend"),
            ))
            .await?;
            println!(
                "{webhook_id} handed to the retry topic: it is delivered again with the same webhook-id."
            );
        }
    }
    Ok(())
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("-")
}

/// The JSON of a successful answer, or the API's error messages.
async fn answer(request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let response = request
        .send()
        .await
        .context("the admin API cannot be reached")?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !status.is_success() {
        let messages: Vec<&str> = body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["message"].as_str())
            .collect();
        bail!("the admin API answered {status}: {}", messages.join("; "));
    }
    Ok(body)
}
