//! Handlebars templates per channel, loaded once and rendered against a notification.
//!
//! Each channel has its own registry because Handlebars has one escape function per registry:
//! webhook bodies are JSON, so `{{value}}` is escaped for the inside of a JSON string literal.
//! All registries run in strict mode (a missing field is an error) and know the helpers `equal`,
//! `contains` and `json` besides Handlebars' built-ins.

mod check;
mod error;
mod escape;
mod helpers;
mod load;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use handlebars::Handlebars;

pub use error::{RenderError, TemplateError};
pub use load::MAX_TEMPLATE_BYTES;

/// A delivery channel with its own templates folder and escaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Webhook,
}

impl Channel {
    /// The folder under the templates directory, and the first segment of template names.
    pub fn folder(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
        }
    }
}

/// Compiled templates of every channel; cheap to clone and shared across tasks.
#[derive(Clone)]
pub struct Templates {
    webhook: Arc<Handlebars<'static>>,
}

impl Templates {
    /// Loads and compiles every `*.hbs` under `<dir>/webhook/` (recursively), named by the path
    /// relative to `dir` (`webhook/lifecycle-summary.json.hbs`). A missing directory or channel
    /// folder means no templates. Returns every problem found, not just the first.
    pub fn load(dir: &Path) -> Result<Templates, Vec<TemplateError>> {
        let mut webhook = registry(Channel::Webhook);
        let errors = load::load_folder(dir, Channel::Webhook.folder(), &mut webhook);
        if errors.is_empty() {
            Ok(Templates {
                webhook: Arc::new(webhook),
            })
        } else {
            Err(errors)
        }
    }

    /// No templates: every notification uses its channel's default rendering.
    pub fn empty() -> Templates {
        Templates {
            webhook: Arc::new(registry(Channel::Webhook)),
        }
    }

    /// The names of the channel's templates, sorted.
    pub fn names(&self, channel: Channel) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .registry(channel)
            .get_templates()
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        names
    }

    pub fn contains(&self, channel: Channel, name: &str) -> bool {
        self.registry(channel).has_template(name)
    }

    /// Renders a webhook body from template `name`; the result is checked to be JSON.
    pub fn render_webhook(
        &self,
        name: &str,
        notification: &serde_json::Value,
    ) -> Result<Vec<u8>, RenderError> {
        let registry = self.registry(Channel::Webhook);
        if !registry.has_template(name) {
            return Err(RenderError::UnknownTemplate(name.to_owned()));
        }
        let body = registry
            .render(name, notification)
            .map_err(|e| RenderError::from_handlebars(name, &e))?;
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&body) {
            return Err(RenderError::InvalidJson {
                name: name.to_owned(),
                message: e.to_string(),
            });
        }
        Ok(body.into_bytes())
    }

    fn registry(&self, channel: Channel) -> &Handlebars<'static> {
        match channel {
            Channel::Webhook => &self.webhook,
        }
    }
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templates")
            .field("webhook", &self.names(Channel::Webhook))
            .finish()
    }
}

/// A registry with the channel's escaping, strict mode and our helpers.
fn registry(channel: Channel) -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    match channel {
        Channel::Webhook => registry.register_escape_fn(escape::json_string_content),
    }
    helpers::register(&mut registry);
    registry
}
