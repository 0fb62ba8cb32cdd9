//! Checks of single values (names, Kafka topic names, webhook settings) and the problem list.

use std::path::Path;
use std::time::Duration;

use super::error::ConfigError;
use lettre::message::Mailbox;

use super::files::{EmailDestination, SlackConfig, SlackDestination, WebhookDestination};
use crate::channels::{
    EmailSettings, NetworkPolicy, Signer, SlackSettings, SlackTarget, WebhookSettings, redacted,
};
use crate::filter::Filter;

/// The problems found so far in one compile.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<ConfigError>);

impl Problems {
    pub fn add(&mut self, file: &Path, item: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigError::new(file, item, message));
    }

    /// Parses a filter, recording its error (with the column) against `item`.
    pub fn filter(&mut self, source: &str, file: &Path, item: &str) -> Option<Filter> {
        Filter::parse(source)
            .map_err(|why| self.add(file, item, format!("{why}, in: {source}")))
            .ok()
    }
}

/// Ids and names: letters, digits, `-`, `_` and `.`, so they read well in logs, headers and URLs.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if !name.chars().all(is_name_char) {
        return Err(format!(
            "{name:?} may only contain letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

/// The characters of names here, which are also Kafka's for topic names.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Kafka's own rule for topic names.
pub fn check_kafka_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 249 || name == "." || name == ".." {
        return Err(format!(
            "{name:?} is not a Kafka topic name (1 to 249 characters, not '.' or '..')"
        ));
    }
    if !name.chars().all(is_name_char) {
        return Err(format!(
            "{name:?} is not a Kafka topic name: use letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

/// Checks a webhook destination; on error returns the field and the reason.
pub fn webhook_settings(
    webhook: &WebhookDestination,
    default_timeout: Duration,
    policy: &NetworkPolicy,
) -> Result<WebhookSettings, (&'static str, String)> {
    // The URL is not quoted: it may carry a credential in its path or query.
    let url =
        url::Url::parse(webhook.url.expose()).map_err(|e| ("url", format!("is not a URL: {e}")))?;
    check_outbound_url(&url, webhook.allow_http, policy, &redacted(&url))
        .map_err(|why| ("url", why))?;
    let listed = |list: &[String], name: &str| list.iter().any(|s| s.eq_ignore_ascii_case(name));
    // Fail closed: a header's value is secret unless `public_headers` says otherwise.
    let mut custom_headers = Vec::new();
    let mut sensitive_headers = Vec::new();
    for (name, value) in &webhook.custom_headers {
        if listed(&webhook.public_headers, name) {
            custom_headers.push((name.clone(), value.expose().clone()));
        } else {
            sensitive_headers.push((name.clone(), value.clone()));
        }
    }
    let lists = [
        ("sensitive_headers", &webhook.sensitive_headers),
        ("public_headers", &webhook.public_headers),
    ];
    for (field, names) in lists {
        for name in names {
            if !webhook
                .custom_headers
                .keys()
                .any(|h| h.eq_ignore_ascii_case(name))
            {
                let names: Vec<&str> = webhook.custom_headers.keys().map(String::as_str).collect();
                let why = format!(
                    "{name:?} is not one of custom_headers; valid: {}",
                    choices(&names)
                );
                return Err((field, why));
            }
        }
    }
    if let Some(both) = webhook
        .public_headers
        .iter()
        .find(|name| listed(&webhook.sensitive_headers, name))
    {
        let why = format!("{both:?} is also in sensitive_headers: a header is one or the other");
        return Err(("public_headers", why));
    }
    let signer = match &webhook.signing {
        None => Signer::default(),
        Some(signing) => {
            Signer::new(&signing.secrets, &signing.keys).map_err(|why| ("signing", why))?
        }
    };
    let settings = WebhookSettings {
        url,
        verb: webhook.verb,
        custom_headers,
        sensitive_headers,
        timeout: webhook.timeout.unwrap_or(default_timeout),
        signer,
    };
    settings.check().map_err(|why| ("custom_headers", why))?;
    Ok(settings)
}

/// The rules every webhook and Slack URL follows at load: http or https, https unless
/// `allow_http`, no credentials, and no IP-literal host the network policy refuses (names are
/// checked when they resolve). `shown` is the URL as errors may show it.
pub fn check_outbound_url(
    url: &url::Url,
    allow_http: bool,
    policy: &NetworkPolicy,
    shown: &str,
) -> Result<(), String> {
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(format!(
                "{shown} uses http, so deliveries could be read and changed on the way: use \
                 https, or set `allow_http: true` on the destination"
            ));
        }
        other => {
            return Err(format!(
                "scheme {other:?} is not supported: use http or https"
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not carry credentials (user:password@): send them in a header listed in \
             sensitive_headers"
                .into(),
        );
    }
    policy
        .check_url(url)
        .map_err(|why| format!("{shown}: {why}"))
}

/// The Slack Web API unless a bot destination names another (a proxy, or a test server).
const SLACK_API_URL: &str = "https://slack.com/api/";

/// Checks an email destination; on error returns the field and the reason.
pub fn email_settings(
    email: &EmailDestination,
    default_connect_timeout: Duration,
) -> Result<EmailSettings, (&'static str, String)> {
    let smtp = &email.smtp;
    let url = url::Url::parse(&smtp.url)
        .map_err(|e| ("smtp.url", format!("{:?} is not a URL: {e}", smtp.url)))?;
    let from = mailbox(&email.from).map_err(|why| ("from", why))?;
    let reply_to = email
        .reply_to
        .as_deref()
        .map(mailbox)
        .transpose()
        .map_err(|why| ("reply_to", why))?;
    let settings = EmailSettings {
        url,
        starttls: smtp.starttls,
        // `${SMTP_USERNAME:-}` leaves an empty string: no authentication.
        username: smtp.username.clone().filter(|u| !u.is_empty()),
        password: smtp.password.clone().filter(|p| !p.is_empty()),
        from,
        reply_to,
        batch_size: email.batch_size,
        connect_timeout: smtp.connect_timeout.unwrap_or(default_connect_timeout),
        send_timeout: smtp.send_timeout,
        max_connections: smtp.max_connections,
    };
    settings.check().map_err(|why| ("smtp", why))?;
    Ok(settings)
}

/// Checks a Slack destination; on error returns the field and the reason.
pub fn slack_settings(
    slack: &SlackDestination,
    default_timeout: Duration,
    policy: &NetworkPolicy,
) -> Result<SlackSettings, (&'static str, String)> {
    // The URL and token are secrets: errors never quote them.
    let target = match &slack.slack {
        SlackConfig::IncomingWebhook { url } => {
            let url = url::Url::parse(url.expose())
                .map_err(|e| ("slack.url", format!("is not a URL: {e}")))?;
            let shown = SlackTarget::IncomingWebhook { url: url.clone() }.shown_url();
            check_outbound_url(&url, slack.allow_http, policy, &shown)
                .map_err(|why| ("slack.url", why))?;
            SlackTarget::IncomingWebhook { url }
        }
        SlackConfig::Bot { token, api_url } => {
            let api_url = api_url.as_deref().unwrap_or(SLACK_API_URL);
            let mut api_url = url::Url::parse(api_url)
                .map_err(|e| ("slack.api_url", format!("{api_url:?} is not a URL: {e}")))?;
            if !api_url.path().ends_with('/') {
                let path = format!("{}/", api_url.path());
                api_url.set_path(&path);
            }
            let shown = redacted(&api_url);
            check_outbound_url(&api_url, slack.allow_http, policy, &shown)
                .map_err(|why| ("slack.api_url", why))?;
            SlackTarget::Bot {
                token: token.clone(),
                api_url,
            }
        }
    };
    let settings = SlackSettings {
        target,
        timeout: slack.timeout.unwrap_or(default_timeout),
    };
    settings.check().map_err(|why| ("slack", why))?;
    Ok(settings)
}

/// An address with an optional display name: `a@example.com` or `Name <a@example.com>`.
pub fn mailbox(text: &str) -> Result<Mailbox, String> {
    text.parse::<Mailbox>()
        .map_err(|e| format!("{text:?} is not an email address: {e}"))
}

/// The valid names, once each, for an error message.
pub fn choices(names: &[&str]) -> String {
    let mut unique: Vec<&str> = Vec::new();
    for name in names {
        if !unique.contains(name) {
            unique.push(name);
        }
    }
    if unique.is_empty() {
        "none defined".into()
    } else {
        unique.join(", ")
    }
}
