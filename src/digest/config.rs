//! A subscription's `digest:` as a topic file writes it ([`DigestConfig`]), checked and compiled
//! into a [`Digest`]: the paths that group its notifications and the timing of its messages.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::filter::{self, Path};

/// The most notifications one digest may carry (`max_items`).
pub(crate) const MAX_ITEMS: usize = 1000;

/// `digest:` of a subscription.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestConfig {
    /// EN paths whose values make a group; `[]` (the default) is one group.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// How long the first notification of a group waits for company.
    #[serde(default = "default_wait", with = "humantime_serde")]
    pub wait: Duration,
    /// The least time between two messages of one group.
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// A group this full is sent at once.
    #[serde(default = "default_max_items")]
    pub max_items: usize,
}

fn default_wait() -> Duration {
    Duration::from_secs(30)
}

fn default_interval() -> Duration {
    Duration::from_secs(300)
}

fn default_max_items() -> usize {
    100
}

/// A checked `digest:`.
#[derive(Debug, Clone)]
pub struct Digest {
    /// Each `group_by` path with its text (the group's field names).
    pub group_by: Vec<(String, Path)>,
    pub wait: Duration,
    pub interval: Duration,
    pub max_items: usize,
}

/// What is wrong with a `digest:`: the field (under `digest`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct DigestProblem {
    pub field: String,
    pub why: String,
}

impl DigestConfig {
    /// Checks and compiles it; every problem is reported.
    pub fn compile(&self) -> Result<Digest, Vec<DigestProblem>> {
        let mut problems = Vec::new();
        let mut problem = |field: String, why: String| problems.push(DigestProblem { field, why });
        if self.wait.is_zero() {
            problem(
                "wait".into(),
                "must be more than 0s: the first notification of a group waits this long for company".into(),
            );
        }
        if self.max_items == 0 || self.max_items > MAX_ITEMS {
            problem(
                "max_items".into(),
                format!("must be from 1 to {MAX_ITEMS}, not {}", self.max_items),
            );
        }
        let mut group_by = Vec::new();
        for (i, source) in self.group_by.iter().enumerate() {
            match filter::parse_path(source) {
                Ok(path) => group_by.push((source.clone(), path)),
                Err(error) => problem(
                    format!("group_by[{i}]"),
                    format!("{source:?} is not an EN path: {error}"),
                ),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Digest {
            group_by,
            wait: self.wait,
            interval: self.interval,
            max_items: self.max_items,
        })
    }
}

impl Digest {
    /// What a digest template would see for `notification` alone: a digest of one, for
    /// previews (`render`, the console's Explain page).
    pub fn context_of_one(&self, notification: &Value) -> Value {
        crate::render::digest_context(vec![notification.clone()], self.group_of(notification))
    }

    /// How a delivery of `notification` is sent, for `explain`.
    pub fn explain(&self, notification: &Value) -> String {
        let group = Value::Object(self.group_of(notification));
        format!(
            "in a digest: group {group}, sent {} after the group's first notification, at most one per {}, at once with {}",
            humantime_serde::re::humantime::format_duration(self.wait),
            humantime_serde::re::humantime::format_duration(self.interval),
            self.max_items
        )
    }
    /// The group of `notification`: each `group_by` path with the value it selects (`null` for
    /// none, an array for several).
    pub fn group_of(&self, notification: &Value) -> Map<String, Value> {
        self.group_by
            .iter()
            .map(|(name, path)| {
                let mut values = path.values(notification);
                let value = match values.len() {
                    0 => Value::Null,
                    1 => values.remove(0),
                    _ => Value::Array(values),
                };
                (name.clone(), value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(yaml: &str) -> DigestConfig {
        serde_yaml_ng::from_str(yaml).expect("a digest config")
    }

    #[test]
    fn defaults_are_30s_5m_and_100() {
        let digest = config("{}").compile().expect("valid");
        assert!(digest.group_by.is_empty());
        assert_eq!(digest.wait, Duration::from_secs(30));
        assert_eq!(digest.interval, Duration::from_secs(300));
        assert_eq!(digest.max_items, 100);
    }

    #[test]
    fn each_bad_setting_is_named_with_the_reason() {
        let problems = config("{wait: 0s, max_items: 0, group_by: [$.type, 'data.x', '$.a == 1']}")
            .compile()
            .expect_err("invalid");
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["wait", "max_items", "group_by[1]", "group_by[2]"]);
        assert!(
            problems[2].why.contains("is not an EN path"),
            "{problems:?}"
        );
        assert!(
            config("{max_items: 1001}").compile().is_err(),
            "at most {MAX_ITEMS}"
        );
    }

    #[test]
    fn a_group_holds_the_value_each_path_selects() {
        let digest =
            config("{group_by: [$.data.region, $.type, $.data.missing, '$.data.tags[*]']}")
                .compile()
                .expect("valid");
        let notification = json!({"type": "t", "data": {"region": "us-south", "tags": ["a", "b"]}});
        let group = digest.group_of(&notification);
        assert_eq!(
            Value::Object(group),
            json!({"$.data.region": "us-south", "$.type": "t", "$.data.missing": null,
                   "$.data.tags[*]": ["a", "b"]})
        );
    }

    #[test]
    fn explain_and_a_preview_show_the_group_of_one_notification() {
        let digest = config("{group_by: [$.data.region], wait: 30s, interval: 5m}")
            .compile()
            .expect("valid");
        let notification = json!({"data": {"region": "eu-de"}});
        assert_eq!(
            digest.explain(&notification),
            "in a digest: group {\"$.data.region\":\"eu-de\"}, sent 30s after the group's first notification, at most one per 5m, at once with 100"
        );
        let context = digest.context_of_one(&notification);
        assert_eq!(context["count"], 1);
        assert_eq!(context["notifications"][0], notification);
        assert_eq!(context["group"]["$.data.region"], "eu-de");
    }
}
