//! One record of the dead-letter topic as the commands see it: its headers by name, a filter,
//! a line for a person, a JSON object, and the job a replay writes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::dead_letter::header;
use crate::dispatch::{Job, Origin};
use crate::kafka::{InternalKey, Unauthentic};

/// A dead letter read back.
#[derive(Debug, Clone)]
pub struct Entry {
    pub partition: i32,
    pub offset: i64,
    /// When it was written (the record's timestamp).
    pub time: Option<DateTime<Utc>>,
    pub headers: BTreeMap<String, String>,
    pub value: Vec<u8>,
    /// The record's key and its headers as they were, in order: what its authentication code
    /// covers.
    pub key: Option<Vec<u8>>,
    pub raw_headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Which entries a command takes; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub destination: Option<String>,
    pub subscription: Option<String>,
    pub reason: Option<String>,
    pub since: Option<DateTime<Utc>>,
    /// Only the delivery with this `webhook-id` (the console's replay of one record).
    pub webhook_id: Option<String>,
}

impl Filter {
    pub fn matches(&self, entry: &Entry) -> bool {
        let same = |wanted: &Option<String>, name: &str| {
            wanted.as_ref().is_none_or(|w| entry.header(name) == w)
        };
        same(&self.destination, header::DESTINATION)
            && same(&self.subscription, header::SUBSCRIPTION)
            && same(&self.reason, header::REASON)
            && same(&self.webhook_id, header::WEBHOOK_ID)
            && self
                .since
                .is_none_or(|since| entry.time.is_some_and(|t| t >= since))
    }
}

impl Entry {
    /// A header's value, empty when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    /// Whether the router wrote this record to `topic`, unchanged since: a valid
    /// authentication code under `kafka.internal_key`.
    pub fn authentic(&self, key: &InternalKey, topic: &str) -> Result<(), Unauthentic> {
        let headers: Vec<(&str, Option<&[u8]>)> = self
            .raw_headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_deref()))
            .collect();
        key.verify(topic, self.key.as_deref(), Some(&self.value), &headers)
    }

    pub fn is_delivery(&self) -> bool {
        self.header(header::KIND) == "delivery"
    }

    /// One line for a person.
    pub fn line(&self) -> String {
        let time = self.time.map_or_else(
            || "-".to_owned(),
            |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        );
        let mut line = format!(
            "{time}  {}@{}  {}  {}",
            self.partition,
            self.offset,
            self.header(header::KIND),
            self.header(header::REASON)
        );
        if self.is_delivery() {
            line.push_str(&format!(
                "  destination={} subscription={} attempts={} status={} webhook-id={}",
                self.header(header::DESTINATION),
                self.header(header::SUBSCRIPTION),
                self.header(header::ATTEMPTS),
                or_dash(self.header(header::LAST_STATUS)),
                self.header(header::WEBHOOK_ID),
            ));
        } else {
            line.push_str(&format!(
                "  source={}",
                or_dash(self.header(header::SOURCE))
            ));
        }
        line.push_str(&format!(
            "  from={}/{}@{}",
            self.header(header::ORIGINAL_TOPIC),
            self.header(header::ORIGINAL_PARTITION),
            self.header(header::ORIGINAL_OFFSET)
        ));
        let detail = self.header(header::DETAIL);
        if !detail.is_empty() {
            line.push_str(&format!("  {detail}"));
        }
        line
    }

    /// The entry as one JSON object: its place, time, every header and the value (JSON when it
    /// parses, text otherwise).
    pub fn json(&self) -> Value {
        let value = serde_json::from_slice::<Value>(&self.value)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.value).into_owned()));
        json!({
            "partition": self.partition,
            "offset": self.offset,
            "time": self.time.map(|t| t.to_rfc3339()),
            "kind": self.header(header::KIND),
            "reason": self.header(header::REASON),
            "headers": self.headers,
            "value": value,
        })
    }

    /// The job a replay writes to the retry topic: due now, with a fresh horizon, the same
    /// `webhook-id`, and only the recipients or channels that did not get it.
    pub fn to_job(&self, now: DateTime<Utc>) -> Result<Job, NotReplayable> {
        if !self.is_delivery() {
            return Err(NotReplayable::Input);
        }
        let required = |name: &'static str| {
            let value = self.header(name);
            if value.is_empty() {
                Err(NotReplayable::Missing(name))
            } else {
                Ok(value.to_owned())
            }
        };
        let notification: Value =
            serde_json::from_slice(&self.value).map_err(NotReplayable::Value)?;
        let pending = match self.headers.get(header::PENDING) {
            Some(list) => {
                Some(serde_json::from_str::<Vec<String>>(list).map_err(NotReplayable::Pending)?)
            }
            None => None,
        };
        let parse_time = |name: &str| {
            DateTime::parse_from_rfc3339(self.header(name))
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        Ok(Job {
            webhook_id: required(header::WEBHOOK_ID)?,
            subscription: required(header::SUBSCRIPTION)?,
            destination: self.header(header::DESTINATION).to_owned(),
            notification_id: required(header::NOTIFICATION_ID)?,
            source_id: self.header(header::SOURCE).to_owned(),
            notification: std::sync::Arc::new(notification),
            attempts: self.header(header::ATTEMPTS).parse().unwrap_or(0),
            long_retries: 0,
            due: now,
            started_at: now,
            first_attempt_at: parse_time(header::FIRST_ATTEMPT),
            last_attempt_at: parse_time(header::LAST_ATTEMPT),
            last_status: self.header(header::LAST_STATUS).parse().ok(),
            last_error: Some(self.header(header::DETAIL).to_owned()).filter(|d| !d.is_empty()),
            origin: Origin {
                topic: self.header(header::ORIGINAL_TOPIC).to_owned(),
                partition: self
                    .header(header::ORIGINAL_PARTITION)
                    .parse()
                    .unwrap_or(-1),
                offset: self.header(header::ORIGINAL_OFFSET).parse().unwrap_or(-1),
            },
            pending,
            refused: Vec::new(),
            history: Vec::new(),
            digest: serde_json::from_str(self.header(header::DIGEST_MEMBERS)).ok(),
            json: crate::channels::SharedJson::default(),
        })
    }
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

/// Why a dead letter cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum NotReplayable {
    #[error("an input record is not a delivery: fix it and publish it again")]
    Input,
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("the value is not the notification JSON: {0}")]
    Value(#[source] serde_json::Error),
    #[error("the {header} header is not a list: {0}", header = header::PENDING)]
    Pending(#[source] serde_json::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(headers: &[(&str, &str)], value: &str) -> Entry {
        Entry {
            partition: 0,
            offset: 7,
            time: Some(
                DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
                    .unwrap()
                    .into(),
            ),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value: value.as_bytes().to_vec(),
            key: None,
            raw_headers: Vec::new(),
        }
    }

    fn delivery() -> Entry {
        entry(
            &[
                ("dlq-kind", "delivery"),
                ("dlq-reason", "retries-exhausted"),
                ("dlq-detail", "HTTP 503"),
                ("dlq-destination", "hook"),
                ("dlq-subscription", "to-hook"),
                ("dlq-webhook-id", "msg_1"),
                ("dlq-notification-id", "n-1"),
                ("dlq-source", "lifecycle"),
                ("dlq-attempts", "7"),
                ("dlq-last-status", "503"),
                ("dlq-original-topic", "lifecycle"),
                ("dlq-original-partition", "2"),
                ("dlq-original-offset", "40"),
                ("dlq-first-attempt", "2026-11-21T09:00:00+00:00"),
                ("dlq-pending", "[\"b@example.com\"]"),
            ],
            r#"{"id":"e-1"}"#,
        )
    }

    #[test]
    fn filters_match_every_field_set() {
        let entry = delivery();
        let since = |t: &str| Some(DateTime::parse_from_rfc3339(t).unwrap().into());
        let cases = [
            (Filter::default(), true),
            (
                Filter {
                    destination: Some("hook".into()),
                    ..Filter::default()
                },
                true,
            ),
            (
                Filter {
                    destination: Some("other".into()),
                    ..Filter::default()
                },
                false,
            ),
            (
                Filter {
                    subscription: Some("to-hook".into()),
                    reason: Some("retries-exhausted".into()),
                    ..Filter::default()
                },
                true,
            ),
            (
                Filter {
                    reason: Some("render-failed".into()),
                    ..Filter::default()
                },
                false,
            ),
            (
                Filter {
                    since: since("2026-11-21T09:59:59Z"),
                    ..Filter::default()
                },
                true,
            ),
            (
                Filter {
                    since: since("2026-11-21T10:00:01Z"),
                    ..Filter::default()
                },
                false,
            ),
        ];
        for (i, (filter, expected)) in cases.into_iter().enumerate() {
            assert_eq!(filter.matches(&entry), expected, "case {i}: {filter:?}");
        }
    }

    #[test]
    fn a_line_names_the_delivery_and_why() {
        let line = delivery().line();
        assert_eq!(
            line,
            "2026-11-21T10:00:00Z  0@7  delivery  retries-exhausted  destination=hook subscription=to-hook attempts=7 status=503 webhook-id=msg_1  from=lifecycle/2@40  HTTP 503"
        );
        let input = entry(
            &[
                ("dlq-kind", "input"),
                ("dlq-reason", "not-json"),
                ("dlq-source", "lifecycle"),
            ],
            "{",
        );
        assert!(input.line().contains("input  not-json  source=lifecycle"));
        assert_eq!(input.json()["value"], "{");
    }

    #[test]
    fn a_replayed_job_keeps_the_webhook_id_and_sends_only_to_who_is_missing() {
        let now = Utc::now();
        let job = delivery().to_job(now).expect("a delivery");
        assert_eq!(job.webhook_id, "msg_1");
        assert_eq!(job.subscription, "to-hook");
        assert_eq!(job.attempts, 7);
        assert_eq!(job.due, now);
        assert_eq!(job.started_at, now, "a fresh horizon");
        assert_eq!(job.pending, Some(vec!["b@example.com".to_owned()]));
        assert_eq!(job.origin.offset, 40);
        assert!(job.first_attempt_at.is_some());
        let input = entry(&[("dlq-kind", "input")], "{");
        assert!(input.to_job(now).is_err());
    }
}
