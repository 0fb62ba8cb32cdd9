//! The rule index against the reference: on random rules and notifications, indexed matching finds
//! exactly the topics that evaluating every rule finds.

use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::RuleIndex;
use crate::filter::Filter;
use crate::routing::{Rule, SourceIndex, Topic, TopicSource, matching_topics_by_scan};

const PATHS: &[&str] = &[
    "$.type",
    "$['type']",
    "$.data.region",
    "$.data.account",
    "$.data.n",
    "$.data.tags[0]",
    "$..region",
    "$.missing",
    "$.data",
];
const STRINGS: &[&str] = &["a", "ab", "abc", "b", "A", "", "bc", "ac", "xab"];
const PATTERNS: &[&str] = &[
    "^a", "^ab", "^(a|b)c", "^a|^b", "(?i)^a", "(?m)^b", "b$", "a", "^", "^.*b", "^abc$", "^[ab]",
    "^a?b",
];

fn atom() -> impl Strategy<Value = String> {
    let path = prop::sample::select(PATHS);
    let text = prop::sample::select(STRINGS);
    let pattern = prop::sample::select(PATTERNS);
    prop_oneof![
        4 => (path.clone(), text.clone()).prop_map(|(p, s)| format!("{p} == '{s}'")),
        1 => (path.clone(), text.clone()).prop_map(|(p, s)| format!("'{s}' == {p}")),
        1 => (path.clone(), text.clone()).prop_map(|(p, s)| format!("{p} != '{s}'")),
        1 => (path.clone(), text).prop_map(|(p, s)| format!("{p} > '{s}'")),
        3 => (path.clone(), pattern).prop_map(|(p, r)| format!("{p} =~ '{r}'")),
        1 => path.clone().prop_map(str::to_owned),
        1 => path.prop_map(|p| format!("{p} == 1")),
        1 => prop::bool::ANY.prop_map(|b| b.to_string()),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    atom().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) && ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) || ({b})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("{a} || {b} || {c}")),
            inner.prop_map(|a| format!("not({a})")),
        ]
    })
}

fn rule() -> impl Strategy<Value = Rule> {
    (prop::bool::weighted(0.85), expr(), prop::option::of(expr())).prop_map(
        |(enabled, event_type, notification)| Rule {
            enabled,
            event_type_filter: Filter::parse(&event_type).expect("generated filters parse"),
            notification_filter: notification
                .map(|f| Filter::parse(&f).expect("generated filters parse")),
        },
    )
}

fn topic() -> impl Strategy<Value = Topic> {
    let topic_source =
        (0..2usize, prop::collection::vec(rule(), 0..4)).prop_map(|(source, rules)| TopicSource {
            source: SourceIndex(source),
            rules,
        });
    prop::collection::vec(topic_source, 1..3).prop_map(|sources| Topic {
        name: "t".into(),
        description: None,
        file: PathBuf::from("t.yaml"),
        sources,
        subscriptions: Vec::new(),
    })
}

fn text() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => prop::sample::select(STRINGS).prop_map(Value::from),
        1 => Just(Value::from("a\nb")),
        1 => Just(json!(1)),
    ]
}

fn notification() -> impl Strategy<Value = Value> {
    (
        prop::option::of(text()),
        prop::option::of(text()),
        text(),
        prop::option::of(text()),
    )
        .prop_map(|(kind, region, account, tag)| {
            let mut data = json!({ "account": account, "n": 1 });
            if let Some(region) = region {
                data["region"] = region;
            }
            if let Some(tag) = tag {
                data["tags"] = json!([tag]);
            }
            let mut body = json!({ "data": data });
            if let Some(kind) = kind {
                body["type"] = kind;
            }
            body
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_index_finds_exactly_what_evaluating_every_rule_finds(
        topics in prop::collection::vec(topic(), 1..12),
        notifications in prop::collection::vec(notification(), 1..8),
    ) {
        let index = RuleIndex::build(&topics, 2);
        for notification in &notifications {
            for source in [SourceIndex(0), SourceIndex(1)] {
                prop_assert_eq!(
                    index.matching_topics(&topics, source, notification),
                    matching_topics_by_scan(&topics, source, notification),
                    "{}", notification
                );
            }
        }
    }
}

fn parsed(event_type: &str, notification: Option<&str>) -> Rule {
    Rule {
        enabled: true,
        event_type_filter: Filter::parse(event_type).expect("test filter parses"),
        notification_filter: notification.map(|f| Filter::parse(f).expect("test filter parses")),
    }
}

fn topic_of(rules: Vec<Rule>) -> Topic {
    Topic {
        name: "t".into(),
        description: None,
        file: PathBuf::from("t.yaml"),
        sources: vec![TopicSource {
            source: SourceIndex(0),
            rules,
        }],
        subscriptions: Vec::new(),
    }
}

#[test]
fn files_each_rule_under_its_rarest_anchor_and_scans_the_rest() {
    let mut topics: Vec<Topic> = (0..100)
        .map(|i| {
            topic_of(vec![parsed(
                "$.type == 'create'",
                Some(&format!("$.data.account == 'acc-{i}'")),
            )])
        })
        .collect();
    topics.push(topic_of(vec![parsed("$.type =~ 'failure$'", None)]));
    topics.push(topic_of(vec![parsed("$.type =~ '^cre'", None)]));
    let index = RuleIndex::build(&topics, 1);
    let stats = index.stats();
    assert_eq!((stats.rules, stats.scanned, stats.fields), (102, 1, 2));
    let event = json!({ "type": "create", "data": { "account": "acc-7" } });
    assert_eq!(
        index.matching_topics(&topics, SourceIndex(0), &event),
        [7, 101]
    );
}
