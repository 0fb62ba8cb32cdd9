//! `POST /v1/notifications`: Event Notifications' send-notification API. A CloudEvent arrives over
//! HTTP, in binary mode (`ce-*` headers, the body is `data`, `content-type` is
//! `datacontenttype`) or in structured mode (`content-type: application/cloudevents+json`), and
//! leaves as a record on its source's Kafka topic, in the same mode (the CloudEvents Kafka
//! binding): the router then consumes it like any other event, with the same guarantees.
//!
//! What is checked before anything is published:
//! - the body is at most [`MAX_BODY`] bytes (`413`);
//! - it is a CloudEvent: `specversion` `1.0`, `id`, `source`, `type`, and `ibmensourceid` naming
//!   the router source it belongs to, as EN's API sources require (`400`);
//! - that source exists (`404`) and is enabled (`422`: the router would drop the event);
//! - the record normalises, with the consumer's own normaliser run on the very bytes and headers
//!   that are published, so the answer's `notification_id` is the one the router assigns (`400`,
//!   or `413` when over `kafka.max_message_bytes`);
//! - a topic of the source has a rule it matches (`422`, as EN answers).
//!
//! Then the record is produced (keyed by the CloudEvent `id`, as `publish` keys events) and the
//! answer, `202 {"notification_id"}`, waits for the broker's acknowledgement (`503` without it).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rdkafka::util::Timeout;
use serde_json::{Value, json};
use tracing::info;

use super::{AdminState, error};
use crate::event::{
    CONTENT_TYPE_HEADER, HEADER_PREFIX, RawRecord, RejectReason, Rejection, normalise,
};

/// The largest body accepted, as Event Notifications' limit: 64 KiB.
pub const MAX_BODY: usize = 64 * 1024;

/// How long a send waits for the broker's acknowledgement.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// The media type of a structured-mode CloudEvent.
const STRUCTURED: &str = "application/cloudevents+json";

/// The Kafka record a request becomes, and the source it names.
#[derive(Debug, PartialEq)]
struct Record {
    /// `ibmensourceid`.
    source_id: String,
    value: Bytes,
    headers: Vec<(String, Vec<u8>)>,
}

pub(super) async fn send(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &format!("the body is over the limit of {MAX_BODY} bytes"),
        );
    };
    let record = match Record::from_http(&headers, body) {
        Ok(record) => record,
        Err(rejection) => return rejected(&rejection),
    };
    let config = state.config();
    let table = &config.table;
    let Some(index) = table.source_index(&record.source_id) else {
        let known: Vec<&str> = table.sources().iter().map(|s| s.id.as_str()).collect();
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!(
                "ibmensourceid names source {:?}, which is not configured; sources: {}",
                record.source_id,
                known.join(", ")
            ),
        );
    };
    let source = table.source(index);
    if !source.enabled {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "source_disabled",
            &format!(
                "source {:?} is disabled: the router would drop the event",
                source.id
            ),
        );
    }
    let Some(kafka_topic) = source.kafka_topics.first() else {
        let why = format!("source {:?} has no Kafka topic", source.id);
        return error(StatusCode::UNPROCESSABLE_ENTITY, "no_kafka_topic", &why);
    };
    let raw_headers: Vec<(&str, Option<&[u8]>)> = record
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), Some(value.as_slice())))
        .collect();
    let raw = RawRecord {
        value: Some(&record.value),
        headers: &raw_headers,
    };
    let max_bytes = config.router.kafka.max_message_bytes;
    let notification = match normalise(&source.id, source.kind, &raw, max_bytes) {
        Ok(notification) => notification,
        Err(rejection) => return rejected(&rejection),
    };
    if table.matching_topics(index, &notification.body).is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_matching_topic",
            &format!(
                "no topic of source {:?} has a rule that matches this event (type {:?})",
                source.id, notification.event_type
            ),
        );
    }
    let Some(outlets) = &state.outlets else {
        return super::unavailable("this admin server has no Kafka producer");
    };
    let key = notification.body["id"].as_str().unwrap_or_default();
    let kafka_headers = record
        .headers
        .iter()
        .fold(OwnedHeaders::new(), |all, (name, value)| {
            all.insert(Header {
                key: name,
                value: Some(value),
            })
        });
    let produced = FutureRecord::<str, [u8]>::to(kafka_topic)
        .key(key)
        .payload(&record.value)
        .headers(kafka_headers);
    match outlets
        .producer
        .send(produced, Timeout::After(ACK_TIMEOUT))
        .await
    {
        Ok(delivery) => {
            info!(message = "Notification sent through the API; published.", notification_id = %notification.id, source = %source.id, r#type = %notification.event_type, topic = %kafka_topic, partition = delivery.partition, offset = delivery.offset);
            (
                StatusCode::ACCEPTED,
                Json(json!({"notification_id": notification.id})),
            )
                .into_response()
        }
        Err((problem, _)) => super::unavailable(&format!(
            "the event was not acknowledged by Kafka (topic {kafka_topic}): {problem}"
        )),
    }
}

/// `400` with the rejection's reason as the code; `413` when the record is too large.
fn rejected(rejection: &Rejection) -> Response {
    let status = match rejection.reason {
        RejectReason::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    error(
        status,
        &rejection.reason.code().replace('-', "_"),
        &rejection.detail,
    )
}

impl Record {
    /// The Kafka record of a request: in structured mode the body as the value with
    /// `content-type: application/cloudevents+json`; in binary mode the body as the value, each
    /// `ce-<name>` header (percent-decoded) as `ce_<name>`, and `content-type` as is.
    fn from_http(headers: &HeaderMap, body: Bytes) -> Result<Record, Rejection> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .map(|value| value.to_str().map_err(|_| not_text(CONTENT_TYPE_HEADER)))
            .transpose()?;
        let essence = content_type
            .and_then(|c| c.split(';').next())
            .map(str::trim)
            .unwrap_or_default();
        if essence.eq_ignore_ascii_case(STRUCTURED) {
            return Record::structured(body);
        }
        let family = "application/cloudevents";
        if essence
            .get(..family.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(family))
        {
            return Err(Rejection::new(
                RejectReason::InvalidField,
                format!(
                    "content-type \"{essence}\" is not supported: send one event, in binary or structured mode"
                ),
            ));
        }
        let mut kafka_headers = Vec::new();
        let mut source_id = None;
        for (name, value) in headers {
            let Some(attribute) = name.as_str().strip_prefix("ce-") else {
                continue;
            };
            let text = value
                .to_str()
                .map_err(|_| not_text(name.as_str()))
                .and_then(|text| percent_decode(name.as_str(), text))?;
            if attribute == "ibmensourceid" {
                source_id = Some(text.clone());
            }
            kafka_headers.push((format!("{HEADER_PREFIX}{attribute}"), text.into_bytes()));
        }
        if !kafka_headers
            .iter()
            .any(|(name, _)| name == "ce_specversion")
        {
            return Err(Rejection::new(
                RejectReason::MissingField,
                format!(
                    "missing header \"ce-specversion\": send a CloudEvent in binary mode (ce-* headers) or with content-type {STRUCTURED}"
                ),
            ));
        }
        if let Some(content_type) = content_type {
            let value = content_type.as_bytes().to_vec();
            kafka_headers.push((CONTENT_TYPE_HEADER.to_owned(), value));
        }
        Ok(Record {
            source_id: required_source_id(source_id, "header \"ce-ibmensourceid\"")?,
            value: body,
            headers: kafka_headers,
        })
    }

    fn structured(body: Bytes) -> Result<Record, Rejection> {
        let event: Value = serde_json::from_slice(&body)
            .map_err(|e| Rejection::new(RejectReason::NotJson, e.to_string()))?;
        let Some(event) = event.as_object() else {
            return Err(Rejection::new(
                RejectReason::InvalidField,
                "a structured-mode CloudEvent is a JSON object",
            ));
        };
        if !event.contains_key("specversion") {
            return Err(Rejection::new(
                RejectReason::MissingField,
                "missing field \"specversion\"",
            ));
        }
        let source_id = match event.get("ibmensourceid") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(_) => {
                return Err(Rejection::new(
                    RejectReason::InvalidField,
                    "field \"ibmensourceid\" is not a string",
                ));
            }
        };
        Ok(Record {
            source_id: required_source_id(source_id, "field \"ibmensourceid\"")?,
            value: body,
            headers: vec![(
                CONTENT_TYPE_HEADER.to_owned(),
                STRUCTURED.as_bytes().to_vec(),
            )],
        })
    }
}

fn required_source_id(id: Option<String>, name: &str) -> Result<String, Rejection> {
    match id {
        Some(id) if !id.is_empty() => Ok(id),
        Some(_) => Err(Rejection::new(
            RejectReason::InvalidField,
            format!("{name} is empty"),
        )),
        None => Err(Rejection::new(
            RejectReason::MissingField,
            format!("missing {name}: it names the router source the event belongs to"),
        )),
    }
}

fn not_text(name: &str) -> Rejection {
    Rejection::new(
        RejectReason::InvalidField,
        format!("header \"{name}\" is not visible ASCII"),
    )
}

/// A binary-mode header value, percent-decoded as the CloudEvents HTTP binding asks.
fn percent_decode(name: &str, text: &str) -> Result<String, Rejection> {
    let bad = |why: &str| {
        Rejection::new(
            RejectReason::InvalidField,
            format!("header \"{name}\" {why}"),
        )
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| bad("has a % not followed by two hex digits"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad("is not UTF-8 once percent-decoded"))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    #[test]
    fn binary_mode_becomes_kafka_binary_mode() {
        let record = Record::from_http(
            &headers(&[
                ("ce-specversion", "1.0"),
                ("ce-id", "e-1"),
                ("ce-ibmensourceid", "api"),
                ("ce-subject", "caf%C3%A9 50%25"),
                ("content-type", "application/json"),
                ("x-other", "ignored"),
            ]),
            Bytes::from_static(b"{}"),
        )
        .expect("a record");
        assert_eq!(record.source_id, "api");
        let header = |name: &str| {
            record
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| String::from_utf8(v.clone()).expect("UTF-8"))
        };
        assert_eq!(header("ce_subject").as_deref(), Some("café 50%"));
        assert_eq!(header("content-type").as_deref(), Some("application/json"));
        assert_eq!(header("x-other"), None);
    }

    #[test]
    fn what_is_not_a_cloudevent_is_refused() {
        let body = Bytes::from_static(b"{\"event_id\": \"x\"}");
        let cases = [
            (
                headers(&[("content-type", "application/json")]),
                "ce-specversion",
            ),
            (
                headers(&[("ce-specversion", "1.0"), ("ce-id", "e")]),
                "ce-ibmensourceid",
            ),
            (
                headers(&[("ce-specversion", "1.0"), ("ce-ibmensourceid", "a%zz")]),
                "two hex digits",
            ),
            (
                headers(&[("content-type", "application/cloudevents+json")]),
                "specversion",
            ),
            (
                headers(&[("content-type", "application/cloudevents-batch+json")]),
                "not supported",
            ),
        ];
        for (headers, expected) in cases {
            let rejection = Record::from_http(&headers, body.clone()).expect_err("refused");
            assert!(rejection.detail.contains(expected), "{rejection}");
        }
        let structured = headers(&[(
            "content-type",
            "application/cloudevents+json; charset=utf-8",
        )]);
        let rejection = Record::from_http(
            &structured,
            Bytes::from_static(b"{\"specversion\": \"1.0\"}"),
        )
        .expect_err("no source");
        assert_eq!(rejection.reason, RejectReason::MissingField);
        assert!(rejection.detail.contains("ibmensourceid"), "{rejection}");
    }
}
