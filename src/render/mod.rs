//! Handlebars templates per channel, loaded once and rendered against a notification.
//!
//! Each output format has its own registry because Handlebars has one escape function per
//! registry:
//! - `webhook/*.hbs`: JSON bodies; `{{value}}` is escaped for the inside of a JSON string literal.
//! - `slack/*.hbs`: Slack message JSON; `{{value}}` gets Slack's `& < >` escaping (so event text
//!   can never mention or link), then JSON string escaping.
//! - `email/NAME.html.hbs`: the HTML part, HTML-escaped.
//! - `email/NAME.text.hbs` and `email/NAME.subject.hbs`: the plain-text part and the subject,
//!   not escaped. An email template is the set of the three, named `email/NAME`.
//! - `kafka/*.hbs`: the JSON value of a Kafka record; escaped as webhook JSON.
//! - `pagerduty/*.hbs`: a JSON object of Events API v2 payload fields; escaped as webhook JSON.
//! - `teams/*.hbs`: a Teams message or Adaptive Card; `{{value}}` gets the Adaptive Card markdown
//!   escaping (a backslash before `* _ [ ] ( )` and list markers), then JSON string escaping.
//!
//! Short templates written inline in a subscription (a PagerDuty `dedup_key`) are
//! [`InlineTemplate`]s: plain text, not escaped, with the same helpers and strict mode.
//!
//! A rendering larger than [`MAX_OUTPUT_BYTES`] is cut off and fails with
//! [`RenderError::TooLarge`], so a template looping over event data cannot grow without bound.
//!
//! All registries run in strict mode (a missing field is an error) and know the helpers `equal`,
//! `contains` and `json` besides Handlebars' built-ins. `{{json value}}` is escaped for the
//! registry's output too (Slack's `& < >` in each string, HTML for the HTML part), and
//! `{{{value}}}`, which skips escaping, is a load error in Slack templates and HTML parts. A template may include another of its
//! registry as a partial, named literally by its path (`{{> email/layout.html.hbs}}`); unknown
//! partials and partials that include each other are load errors.

mod check;
mod defaults;
mod digest;
mod error;
mod escape;
mod helpers;
mod inline;
mod load;
mod partials;

#[cfg(test)]
pub(crate) mod tests;

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use handlebars::Handlebars;
use serde_json::Value;

pub use defaults::{default_email, payload_appendix, text_field};
pub use digest::{
    IN_FULL, default_digest_email, digest_context, digest_group_line, digest_headline,
    digest_notifications,
};
pub use error::{RenderError, TemplateError};
pub use escape::adaptive_text as escape_adaptive_text;
pub use escape::slack_text as escape_slack_text;
pub use inline::InlineTemplate;
pub use load::MAX_TEMPLATE_BYTES;

/// The rendered content of a notification email. Line ends in the bodies are sent as CRLF,
/// as SMTP requires (lettre turns a bare LF into CRLF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContent {
    /// One line: any CR or LF in it is sent as a space.
    pub subject: String,
    /// The text/plain part.
    pub text: String,
    /// The text/html part, already escaped by its template.
    pub html: String,
}

/// A delivery channel with its own templates folder and escaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Webhook,
    Email,
    Slack,
    PagerDuty,
    Teams,
    Kafka,
}

impl Channel {
    /// The folder under the templates directory, and the first segment of template names.
    pub fn folder(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Email => "email",
            Channel::Slack => "slack",
            Channel::PagerDuty => "pagerduty",
            Channel::Teams => "teams",
            Channel::Kafka => "kafka",
        }
    }
}

/// The largest output one template may render (1 MiB); larger is a render error.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;

/// The three files of an email template, by their suffix after `email/NAME`.
const EMAIL_PARTS: [&str; 3] = [".subject.hbs", ".text.hbs", ".html.hbs"];

/// One registry per output format, see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    WebhookJson,
    SlackJson,
    TeamsJson,
    EmailText,
    EmailHtml,
}

/// Compiled templates of every channel; cheap to clone and shared across tasks.
#[derive(Clone)]
pub struct Templates {
    webhook: Arc<Handlebars<'static>>,
    slack: Arc<Handlebars<'static>>,
    email_text: Arc<Handlebars<'static>>,
    email_html: Arc<Handlebars<'static>>,
    pagerduty: Arc<Handlebars<'static>>,
    teams: Arc<Handlebars<'static>>,
    kafka: Arc<Handlebars<'static>>,
}

impl Templates {
    /// Loads and compiles every `*.hbs` under `<dir>/webhook/`, `<dir>/slack/`, `<dir>/email/`,
    /// `<dir>/pagerduty/`, `<dir>/teams/` and `<dir>/kafka/` (recursively), named by the path relative to `dir`
    /// (`webhook/lifecycle-summary.json.hbs`).
    /// A missing directory or channel folder means no templates. Returns every problem found.
    pub fn load(dir: &Path) -> Result<Templates, Vec<TemplateError>> {
        let mut errors = Vec::new();
        let webhook = load::load_folder(dir, Channel::Webhook.folder(), &mut errors);
        let slack = load::load_folder(dir, Channel::Slack.folder(), &mut errors);
        let pagerduty = load::load_folder(dir, Channel::PagerDuty.folder(), &mut errors);
        let teams = load::load_folder(dir, Channel::Teams.folder(), &mut errors);
        let kafka = load::load_folder(dir, Channel::Kafka.folder(), &mut errors);
        let (mut email_text, mut email_html) = (Vec::new(), Vec::new());
        for loaded in load::load_folder(dir, Channel::Email.folder(), &mut errors) {
            if loaded.name.ends_with(".html.hbs") {
                email_html.push(loaded);
            } else if loaded.name.ends_with(".text.hbs") || loaded.name.ends_with(".subject.hbs") {
                email_text.push(loaded);
            } else {
                errors.push(TemplateError {
                    path: loaded.path,
                    line: None,
                    message: "an email template file is named NAME.subject.hbs, NAME.text.hbs \
                              or NAME.html.hbs"
                        .to_owned(),
                });
            }
        }
        let sets = [
            (Format::WebhookJson, webhook),
            (Format::SlackJson, slack),
            (Format::EmailText, email_text),
            (Format::EmailHtml, email_html),
            (Format::WebhookJson, pagerduty),
            (Format::TeamsJson, teams),
            (Format::WebhookJson, kafka),
        ];
        let mut registries = Vec::new();
        for (format, loaded) in sets {
            errors.extend(partials::check(&loaded));
            if matches!(
                format,
                Format::SlackJson | Format::TeamsJson | Format::EmailHtml
            ) {
                errors.extend(raw_output_errors(&loaded));
            }
            let mut registry = registry(format);
            for template in loaded {
                registry.register_template(&template.name, template.template);
            }
            registries.push(Arc::new(registry));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let [
            webhook,
            slack,
            email_text,
            email_html,
            pagerduty,
            teams,
            kafka,
        ] = <[Arc<Handlebars<'static>>; 7]>::try_from(registries)
            .unwrap_or_else(|_| unreachable!("seven registries"));
        Ok(Templates {
            webhook,
            slack,
            email_text,
            email_html,
            pagerduty,
            teams,
            kafka,
        })
    }

    /// No templates: every notification uses its channel's default rendering.
    pub fn empty() -> Templates {
        Templates {
            webhook: Arc::new(registry(Format::WebhookJson)),
            slack: Arc::new(registry(Format::SlackJson)),
            email_text: Arc::new(registry(Format::EmailText)),
            email_html: Arc::new(registry(Format::EmailHtml)),
            pagerduty: Arc::new(registry(Format::WebhookJson)),
            teams: Arc::new(registry(Format::TeamsJson)),
            kafka: Arc::new(registry(Format::WebhookJson)),
        }
    }

    /// The names a subscription of the channel can use, sorted: file names for webhook and
    /// Slack, `email/NAME` for email templates with all three parts.
    pub fn names(&self, channel: Channel) -> Vec<String> {
        let mut names: Vec<String> = match channel {
            Channel::Webhook => self.webhook.get_templates().keys().cloned().collect(),
            Channel::Slack => self.slack.get_templates().keys().cloned().collect(),
            Channel::PagerDuty => self.pagerduty.get_templates().keys().cloned().collect(),
            Channel::Teams => self.teams.get_templates().keys().cloned().collect(),
            Channel::Kafka => self.kafka.get_templates().keys().cloned().collect(),
            Channel::Email => self
                .email_html
                .get_templates()
                .keys()
                .filter_map(|name| name.strip_suffix(".html.hbs"))
                .filter(|stem| self.email_parts_missing(stem).is_empty())
                .map(str::to_owned)
                .collect(),
        };
        names.sort_unstable();
        names
    }

    /// True when a subscription of the channel can use template `name`.
    pub fn contains(&self, channel: Channel, name: &str) -> bool {
        match channel {
            Channel::Webhook => self.webhook.has_template(name),
            Channel::Slack => self.slack.has_template(name),
            Channel::PagerDuty => self.pagerduty.has_template(name),
            Channel::Teams => self.teams.has_template(name),
            Channel::Kafka => self.kafka.has_template(name),
            Channel::Email => {
                name.starts_with("email/") && self.email_parts_missing(name).is_empty()
            }
        }
    }

    /// The files email template `stem` (`email/NAME`) lacks, of its subject, text and HTML parts.
    pub fn email_parts_missing(&self, stem: &str) -> Vec<String> {
        EMAIL_PARTS
            .iter()
            .map(|suffix| format!("{stem}{suffix}"))
            .filter(|name| {
                let registry = if name.ends_with(".html.hbs") {
                    &self.email_html
                } else {
                    &self.email_text
                };
                !registry.has_template(name)
            })
            .collect()
    }

    /// Renders a webhook body from template `name`; the result is checked to be JSON.
    pub fn render_webhook(&self, name: &str, notification: &Value) -> Result<Vec<u8>, RenderError> {
        let body = render(&self.webhook, name, notification)?;
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&body) {
            return Err(RenderError::InvalidJson {
                name: name.to_owned(),
                message: e.to_string(),
            });
        }
        Ok(body.into_bytes())
    }

    /// Renders a Slack message from template `name`: it must be JSON. Whether it has a
    /// message's shape is the Slack channel's to check.
    pub fn render_slack(&self, name: &str, notification: &Value) -> Result<Value, RenderError> {
        let body = render(&self.slack, name, notification)?;
        serde_json::from_str(&body).map_err(|e| RenderError::InvalidJson {
            name: name.to_owned(),
            message: e.to_string(),
        })
    }

    /// Renders a Kafka record value from template `name`; the result is checked to be JSON.
    pub fn render_kafka(&self, name: &str, notification: &Value) -> Result<Vec<u8>, RenderError> {
        let body = render(&self.kafka, name, notification)?;
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&body) {
            return Err(RenderError::InvalidJson {
                name: name.to_owned(),
                message: e.to_string(),
            });
        }
        Ok(body.into_bytes())
    }

    /// Renders a Teams message or Adaptive Card from template `name`: it must be JSON. Whether
    /// it has a card's shape is the Teams channel's to check.
    pub fn render_teams(&self, name: &str, notification: &Value) -> Result<Value, RenderError> {
        let body = render(&self.teams, name, notification)?;
        serde_json::from_str(&body).map_err(|e| RenderError::InvalidJson {
            name: name.to_owned(),
            message: e.to_string(),
        })
    }

    /// Renders PagerDuty template `name`: it must be a JSON object. Which fields it may hold is
    /// the PagerDuty channel's to check.
    pub fn render_pagerduty(
        &self,
        name: &str,
        notification: &Value,
    ) -> Result<serde_json::Map<String, Value>, RenderError> {
        let body = render(&self.pagerduty, name, notification)?;
        match serde_json::from_str(&body) {
            Ok(Value::Object(fields)) => Ok(fields),
            Ok(_) => Err(RenderError::InvalidMessage {
                name: name.to_owned(),
                message: "a PagerDuty template renders a JSON object of payload fields".to_owned(),
            }),
            Err(e) => Err(RenderError::InvalidJson {
                name: name.to_owned(),
                message: e.to_string(),
            }),
        }
    }

    /// Renders email template `stem` (`email/NAME`): subject (folded onto one line), text, HTML.
    pub fn render_email(
        &self,
        stem: &str,
        notification: &Value,
    ) -> Result<EmailContent, RenderError> {
        let subject = render(
            &self.email_text,
            &format!("{stem}.subject.hbs"),
            notification,
        )?;
        Ok(EmailContent {
            subject: one_line(&subject),
            text: render(&self.email_text, &format!("{stem}.text.hbs"), notification)?,
            html: render(&self.email_html, &format!("{stem}.html.hbs"), notification)?,
        })
    }
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templates")
            .field("webhook", &self.names(Channel::Webhook))
            .field("slack", &self.names(Channel::Slack))
            .field("email", &self.names(Channel::Email))
            .field("pagerduty", &self.names(Channel::PagerDuty))
            .field("teams", &self.names(Channel::Teams))
            .field("kafka", &self.names(Channel::Kafka))
            .finish()
    }
}

pub(crate) fn render(
    registry: &Handlebars<'static>,
    name: &str,
    notification: &Value,
) -> Result<String, RenderError> {
    if !registry.has_template(name) {
        return Err(RenderError::UnknownTemplate(name.to_owned()));
    }
    let mut output = CappedOutput::default();
    let rendered = registry.render_to_write(name, notification, &mut output);
    if output.exceeded {
        return Err(RenderError::TooLarge {
            name: name.to_owned(),
            limit: MAX_OUTPUT_BYTES,
        });
    }
    rendered.map_err(|e| RenderError::from_handlebars(name, &e))?;
    // Handlebars writes whole `str`s, so the bytes are UTF-8.
    String::from_utf8(output.bytes).map_err(|e| RenderError::Template {
        name: name.to_owned(),
        message: e.to_string(),
    })
}

/// A writer that refuses to grow past [`MAX_OUTPUT_BYTES`].
#[derive(Default)]
struct CappedOutput {
    bytes: Vec<u8>,
    exceeded: bool,
}

impl io::Write for CappedOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_OUTPUT_BYTES {
            self.exceeded = true;
            return Err(io::Error::other(
                "the rendering is larger than the output cap",
            ));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Slack and HTML templates may not write a value unescaped: `{{{value}}}` would let event text
/// mention a channel, disguise a link or add markup.
fn raw_output_errors(loaded: &[load::Loaded]) -> Vec<TemplateError> {
    loaded
        .iter()
        .flat_map(|template| {
            template.raw_outputs.iter().map(|line| TemplateError {
                path: template.path.clone(),
                line: *line,
                message: "{{{ }}} writes a value unescaped, which Slack and Teams templates and \
                          email HTML parts do not allow: write {{ }} (and {{json ...}} for JSON)"
                    .to_owned(),
            })
        })
        .collect()
}

/// Every run of whitespace, line breaks included, as one space; trimmed.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A registry with the format's escaping, strict mode and our helpers.
pub(crate) fn registry(format: Format) -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    match format {
        Format::WebhookJson => registry.register_escape_fn(escape::json_string_content),
        Format::SlackJson => registry.register_escape_fn(escape::slack_json_string_content),
        Format::TeamsJson => registry.register_escape_fn(escape::teams_json_string_content),
        Format::EmailText => registry.register_escape_fn(handlebars::no_escape),
        Format::EmailHtml => registry.register_escape_fn(handlebars::html_escape),
    }
    helpers::register(&mut registry, format);
    registry
}
