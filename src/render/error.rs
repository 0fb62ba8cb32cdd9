//! Errors of loading templates (per file, with line) and of rendering one notification.

use std::path::PathBuf;

/// A template file that cannot be used: unreadable, too large, not compiling or calling a helper
/// that does not exist. `path` is the file as found under the templates directory.
#[derive(Debug, thiserror::Error)]
#[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct TemplateError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

/// Why a notification could not be rendered; every case fails the delivery the same way on retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// No template of that name was loaded for the channel.
    #[error("unknown template {0:?}")]
    UnknownTemplate(String),
    /// Strict mode: the template reads a field the notification does not have.
    #[error("template {name:?} reads missing field {field:?}")]
    MissingField { name: String, field: String },
    /// Any other failure inside Handlebars (a helper given bad arguments, ...).
    #[error("template {name:?} failed: {message}")]
    Template { name: String, message: String },
    /// The rendering grew past the output cap.
    #[error("template {name:?} rendered more than {limit} bytes")]
    TooLarge { name: String, limit: usize },
    /// The rendered body is not JSON.
    #[error("template {name:?} did not produce valid JSON: {message}")]
    InvalidJson { name: String, message: String },
    /// The rendered JSON is not a message the channel accepts (a Slack message without text or
    /// blocks, a block without a type, ...).
    #[error("template {name:?} did not produce a valid message: {message}")]
    InvalidMessage { name: String, message: String },
}

impl RenderError {
    /// Maps a Handlebars failure of template `name`, keeping the line and column when known.
    pub(super) fn from_handlebars(name: &str, error: &handlebars::RenderError) -> RenderError {
        use handlebars::RenderErrorReason;
        if let RenderErrorReason::MissingVariable(Some(field)) = error.reason() {
            return RenderError::MissingField {
                name: name.to_owned(),
                field: field.clone(),
            };
        }
        let mut message = error.reason().to_string();
        if let (Some(line), Some(column)) = (error.line_no, error.column_no) {
            message.push_str(&format!(" (line {line}, column {column})"));
        }
        RenderError::Template {
            name: name.to_owned(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_error_shows_path_and_line_when_known() {
        let with_line = TemplateError {
            path: PathBuf::from("templates/webhook/a.json.hbs"),
            line: Some(3),
            message: "invalid handlebars syntax".to_owned(),
        };
        assert_eq!(
            with_line.to_string(),
            "templates/webhook/a.json.hbs:3: invalid handlebars syntax"
        );
        let without_line = TemplateError {
            line: None,
            ..with_line
        };
        assert_eq!(
            without_line.to_string(),
            "templates/webhook/a.json.hbs: invalid handlebars syntax"
        );
    }
}
