//! A short template written inline in a configuration file (a PagerDuty `dedup_key`): plain
//! text, not escaped, strict, with the crate's helpers.

use std::fmt;
use std::sync::Arc;

use handlebars::Handlebars;
use serde_json::Value;

use super::{Format, RenderError, registry, render};

/// The name the one template of an inline registry is registered under.
const NAME: &str = "inline";

/// An inline template, compiled once; cheap to clone.
#[derive(Clone)]
pub struct InlineTemplate {
    source: Arc<str>,
    registry: Arc<Handlebars<'static>>,
}

impl InlineTemplate {
    /// Compiles `source`; the error says why it is not a template.
    pub fn compile(source: &str) -> Result<InlineTemplate, String> {
        let mut registry = registry(Format::EmailText);
        registry
            .register_template_string(NAME, source)
            .map_err(|e| e.to_string())?;
        Ok(InlineTemplate {
            source: source.into(),
            registry: Arc::new(registry),
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders it against `notification`; errors name the template by its text.
    pub fn render(&self, notification: &Value) -> Result<String, RenderError> {
        render(&self.registry, NAME, notification).map_err(|error| rename(error, &self.source))
    }
}

impl fmt::Debug for InlineTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("InlineTemplate").field(&self.source).finish()
    }
}

/// `error` naming the template by its text rather than its registry name.
fn rename(error: RenderError, source: &str) -> RenderError {
    let name = source.to_owned();
    match error {
        RenderError::MissingField { field, .. } => RenderError::MissingField { name, field },
        RenderError::Template { message, .. } => RenderError::Template { name, message },
        RenderError::TooLarge { limit, .. } => RenderError::TooLarge { name, limit },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn renders_plain_text_strictly() {
        let template = InlineTemplate::compile("{{subject}}/{{type}} & <x>").unwrap();
        let notification = json!({"subject": "crn:v1:a&b", "type": "t"});
        assert_eq!(
            template.render(&notification).unwrap(),
            "crn:v1:a&b/t & <x>"
        );
        let missing = template.render(&json!({"type": "t"})).unwrap_err();
        assert_eq!(
            missing,
            RenderError::MissingField {
                name: "{{subject}}/{{type}} & <x>".into(),
                field: "subject".into()
            }
        );
    }

    #[test]
    fn refuses_what_does_not_compile() {
        assert!(InlineTemplate::compile("{{#if x}}open").is_err());
    }
}
