//! Template helpers: EN's `equal` and `contains`, and `json` to embed a value as compact JSON,
//! escaped for where it lands like any other value (see [`Json`]).

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason, ScopedJson,
};
use serde_json::Value;

use super::Format;

/// Helpers this crate registers, in addition to Handlebars' built-ins.
pub(super) const CUSTOM: [&str; 3] = ["equal", "contains", "json"];

/// Handlebars' built-in helpers (handlebars 6, default features).
pub(super) const BUILT_IN: [&str; 17] = [
    "if", "unless", "each", "with", "lookup", "raw", "log", "eq", "ne", "gt", "gte", "lt", "lte",
    "and", "or", "not", "len",
];

/// True when `name` can be called as a helper in a template of a registry set up by [`register`].
pub(super) fn is_known(name: &str) -> bool {
    CUSTOM.contains(&name) || BUILT_IN.contains(&name)
}

/// Registers [`CUSTOM`] on `registry`, whose templates render `format`.
pub(super) fn register(registry: &mut Handlebars<'static>, format: Format) {
    registry.register_helper("equal", Box::new(Equal));
    registry.register_helper("contains", Box::new(Contains));
    registry.register_helper("json", Box::new(Json { format }));
}

/// `{{#if (equal a b)}}`: true when both values are equal (numbers compared by value, so `1 == 1.0`).
struct Equal;

impl HelperDef for Equal {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let [a, b] = two_params("equal", h, r)?;
        Ok(ScopedJson::Derived(Value::Bool(same(a, b))))
    }
}

/// `{{#if (contains haystack needle)}}`: an array holding the value, or a string holding the substring.
struct Contains;

impl HelperDef for Contains {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let [haystack, needle] = two_params("contains", h, r)?;
        let found = match (haystack, needle) {
            (Value::Array(items), needle) => items.iter().any(|item| same(item, needle)),
            (Value::String(text), Value::String(part)) => text.contains(part.as_str()),
            _ => false,
        };
        Ok(ScopedJson::Derived(Value::Bool(found)))
    }
}

/// `{{json value}}`: the value as compact JSON, escaped for the registry's output like any
/// value from an event: every string in it with Slack's `& < >` escaping in Slack templates (so
/// event text cannot mention or link) and Teams' markdown escaping in Teams templates (no link,
/// no emphasis), the whole text HTML-escaped in email HTML parts, and U+2028 and U+2029 escaped
/// in JSON templates. Email text parts and subjects get it as is.
struct Json {
    format: Format,
}

impl HelperDef for Json {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        if h.params().len() != 1 {
            return Err(arity("json", 1, h.params().len()));
        }
        let value = param("json", h, r, 0)?;
        let text = json_for(self.format, value).map_err(RenderErrorReason::SerdeError)?;
        out.write(&text)?;
        Ok(())
    }
}

/// `value` as compact JSON, escaped for `format` (see [`Json`]).
pub(super) fn json_for(format: Format, value: &Value) -> Result<String, serde_json::Error> {
    use super::escape::{adaptive_text, slack_text};
    let text = match format {
        Format::SlackJson => serde_json::to_string(&escape_strings(value, &slack_text))?,
        Format::TeamsJson => serde_json::to_string(&escape_strings(value, &adaptive_text))?,
        _ => serde_json::to_string(value)?,
    };
    Ok(match format {
        Format::WebhookJson | Format::SlackJson | Format::TeamsJson => text
            .replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029"),
        Format::EmailHtml => handlebars::html_escape(&text),
        Format::EmailText => text,
    })
}

/// `value` with `escape` applied to every string, object keys included.
fn escape_strings(value: &Value, escape: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::String(text) => Value::String(escape(text)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| escape_strings(item, escape))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (escape(key), escape_strings(item, escape)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn two_params<'a>(
    helper: &'static str,
    h: &'a Helper<'_>,
    r: &Handlebars<'_>,
) -> Result<[&'a Value; 2], RenderError> {
    if h.params().len() != 2 {
        return Err(arity(helper, 2, h.params().len()));
    }
    Ok([param(helper, h, r, 0)?, param(helper, h, r, 1)?])
}

/// Parameter `index`; in strict mode a path that selects nothing is an error, as for `{{path}}`.
fn param<'a>(
    helper: &'static str,
    h: &'a Helper<'_>,
    r: &Handlebars<'_>,
    index: usize,
) -> Result<&'a Value, RenderError> {
    let p = h
        .param(index)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex(helper, index))?;
    if r.strict_mode() && p.is_value_missing() {
        return Err(RenderError::strict_error(p.relative_path()));
    }
    Ok(p.value())
}

fn arity(helper: &str, expected: usize, got: usize) -> RenderError {
    RenderErrorReason::Other(format!("{helper} takes {expected} argument(s), got {got}")).into()
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}
