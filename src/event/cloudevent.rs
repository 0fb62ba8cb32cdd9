//! CloudEvents 1.0 input: structured JSON mode, and Kafka binary mode (`ce_*` headers, data in the value).

use std::fmt;

use serde_json::{Map, Value};

use super::reject::{Field, Rejection};

/// The only CloudEvents version accepted.
pub const SPEC_VERSION: &str = "1.0";

/// Header-name prefix of attributes in the Kafka binary mode.
pub const HEADER_PREFIX: &str = "ce_";

/// The Kafka header carrying `datacontenttype` in binary mode.
pub const CONTENT_TYPE_HEADER: &str = "content-type";

/// EN extensions that, when given, must be strings and are kept as given.
const TEXT_EXTENSIONS: [&str; 4] = [
    "ibmensourceid",
    "ibmenseverity",
    "ibmendefaultshort",
    "ibmendefaultlong",
];

/// A checked CloudEvent: the identifying attributes typed, everything else kept as given.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CloudEvent {
    /// `id`, non-empty.
    pub id: String,
    /// `source`, non-empty.
    pub source: String,
    /// `type`, non-empty.
    pub event_type: String,
    /// Every other attribute: `specversion`, `time`, `subject`, `datacontenttype`, `data` or
    /// `data_base64`, extensions.
    pub attributes: Map<String, Value>,
}

/// Whether the record uses binary mode: it has a `ce_specversion` header.
pub(super) fn is_binary(headers: &[(&str, Option<&[u8]>)]) -> bool {
    headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("ce_specversion"))
}

impl CloudEvent {
    /// Checks a structured-mode event (a JSON object with `specversion`).
    pub(super) fn from_structured(attributes: Map<String, Value>) -> Result<Self, Rejection> {
        CloudEvent::check(Mode::Structured, attributes)
    }

    /// Builds and checks a binary-mode event from the record's headers and its JSON value.
    pub(super) fn from_binary(
        headers: &[(&str, Option<&[u8]>)],
        data: Value,
    ) -> Result<Self, Rejection> {
        let mut attributes = Map::new();
        let mut content_type = None;
        for &(name, value) in headers {
            let attribute = match strip_prefix_ignore_case(name, HEADER_PREFIX) {
                Some("") => return Err(Rejection::invalid(Header(name), "names no attribute")),
                Some(attribute) => Some(attribute.to_ascii_lowercase()),
                None if name.eq_ignore_ascii_case(CONTENT_TYPE_HEADER) => None,
                None => continue,
            };
            let Some(text) = header_text(name, value)? else {
                continue;
            };
            match attribute {
                Some(attribute) => _ = attributes.insert(attribute, Value::String(text.to_owned())),
                None => content_type = Some(text),
            }
        }
        if let Some(content_type) = content_type {
            if !is_json_media_type(content_type) {
                let why = format_args!("is \"{content_type}\", but only JSON data is supported");
                return Err(Rejection::invalid(Header(CONTENT_TYPE_HEADER), why));
            }
            let value = Value::String(content_type.to_owned());
            attributes.insert("datacontenttype".to_owned(), value);
        }
        attributes.insert("data".to_owned(), data);
        CloudEvent::check(Mode::Binary, attributes)
    }

    fn check(mode: Mode, mut attributes: Map<String, Value>) -> Result<Self, Rejection> {
        match attributes.get("specversion") {
            None => return Err(Rejection::missing(mode.name("specversion"))),
            Some(Value::String(v)) if v == SPEC_VERSION => {}
            Some(Value::String(v)) => {
                let why = format_args!("is \"{v}\", expected \"{SPEC_VERSION}\"");
                return Err(Rejection::invalid(mode.name("specversion"), why));
            }
            Some(other) => {
                let name = mode.name("specversion");
                return Err(Rejection::wrong_type(name, other, "the string \"1.0\""));
            }
        }
        let id = take_required(&mut attributes, mode, "id")?;
        let source = take_required(&mut attributes, mode, "source")?;
        let event_type = take_required(&mut attributes, mode, "type")?;
        for name in ["subject", "datacontenttype", "data_base64"] {
            optional_str(&attributes, mode, name)?;
        }
        for name in TEXT_EXTENSIONS {
            optional_str(&attributes, mode, name)?;
        }
        if let Some(time) = optional_str(&attributes, mode, "time")? {
            chrono::DateTime::parse_from_rfc3339(time)
                .map_err(|_| Rejection::not_a_time(mode.name("time"), time))?;
        }
        if attributes.contains_key("data") && attributes.contains_key("data_base64") {
            let why = "is given together with data; an event carries at most one of them";
            return Err(Rejection::invalid(mode.name("data_base64"), why));
        }
        Ok(CloudEvent {
            id,
            source,
            event_type,
            attributes,
        })
    }

    /// The string attribute `name`, when present (checked to be a string or null).
    pub(super) fn text(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(Value::as_str)
    }
}

/// Where the attributes came from, so details name the field or the header.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Structured,
    Binary,
}

impl Mode {
    fn name(self, attribute: &str) -> AttributeName<'_> {
        AttributeName(self, attribute)
    }
}

/// An attribute as the producer wrote it: `field "id"` or `header "ce_id"`.
struct AttributeName<'a>(Mode, &'a str);

impl fmt::Display for AttributeName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttributeName(Mode::Structured, name) => Field("", name).fmt(f),
            AttributeName(Mode::Binary, "datacontenttype") => Header(CONTENT_TYPE_HEADER).fmt(f),
            AttributeName(Mode::Binary, name) => write!(f, "header \"{HEADER_PREFIX}{name}\""),
        }
    }
}

/// A Kafka header named in a detail: `header "ce_source"`.
struct Header<'a>(&'a str);

impl fmt::Display for Header<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "header \"{}\"", self.0)
    }
}

/// The UTF-8 text of header `name`; `None` when the header has no value (treated as absent).
fn header_text<'a>(name: &str, value: Option<&'a [u8]>) -> Result<Option<&'a str>, Rejection> {
    let Some(bytes) = value else {
        return Ok(None);
    };
    std::str::from_utf8(bytes).map(Some).map_err(|e| {
        let why = format_args!("is not UTF-8 (byte offset {})", e.valid_up_to());
        Rejection::invalid(Header(name), why)
    })
}

fn take_required(
    map: &mut Map<String, Value>,
    mode: Mode,
    name: &str,
) -> Result<String, Rejection> {
    match map.remove(name) {
        None => Err(Rejection::missing(mode.name(name))),
        Some(Value::String(s)) if s.is_empty() => {
            Err(Rejection::invalid(mode.name(name), "is empty"))
        }
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(Rejection::wrong_type(mode.name(name), &other, "a string")),
    }
}

fn optional_str<'m>(
    map: &'m Map<String, Value>,
    mode: Mode,
    name: &str,
) -> Result<Option<&'m str>, Rejection> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(Rejection::wrong_type(mode.name(name), other, "a string")),
    }
}

fn strip_prefix_ignore_case<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let head = name.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &name[prefix.len()..])
}

/// `application/json`, `text/json` or any `+json` type, parameters (`; charset=utf-8`) ignored.
fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.eq_ignore_ascii_case("text/json")
        || essence
            .get(essence.len().saturating_sub(5)..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case("+json"))
}
