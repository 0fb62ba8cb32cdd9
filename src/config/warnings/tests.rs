//! A filter naming an event type no catalogue of its source kind lists is a warning, with a guess.

use super::*;
use crate::config::load_with;

const ROUTER: &str = "\
kafka: { brokers: embedded }
sources:
  - { id: lifecycle, type: resource-lifecycle-events, kafka_topics: [lifecycle] }
  - { id: audit, type: activity-tracker, kafka_topics: [audit] }
  - { id: ubiops, type: ubiops-audit, kafka_topics: [ubiops] }
  - { id: api, type: cloudevents, kafka_topics: [api] }
destinations:
  - { id: hook, type: webhook, url: 'https://hooks.example.com/hook' }
";

/// Loads [`ROUTER`] with one topic file per (name, sources YAML); returns the warnings as
/// printed, with the folder written as `$DIR`.
fn warnings_of(topics: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("router.yaml"), ROUTER).expect("write router.yaml");
    std::fs::create_dir(dir.path().join("topics")).expect("mkdir topics");
    for (name, sources) in topics {
        let text = format!(
            "name: {name}\nsources:\n{sources}\nsubscriptions:\n  - {{ name: {name}-hook, destination: hook }}\n"
        );
        let file = dir.path().join("topics").join(format!("{name}.yaml"));
        std::fs::write(file, text).expect("write topic");
    }
    let config = load_with(&dir.path().join("router.yaml"), &|_| None)
        .unwrap_or_else(|e| panic!("config invalid:\n{e}"));
    let prefix = dir.path().display().to_string();
    config
        .warnings
        .iter()
        .map(|w| w.to_string().replace(&prefix, "$DIR"))
        .collect()
}

#[test]
fn each_unknown_type_of_a_rule_is_a_warning_naming_file_topic_rule_and_guess() {
    let found = warnings_of(&[
        (
            "secrets",
            "  - id: audit\n    rules:\n      \
             - event_type_filter: \"$.type == 'com.ibm.cloud.codeengine.secrets:create' || $.type == 'com.ibm.cloud.codeengine.secret:update'\"\n      \
             - event_type_filter: \"$.type =~ '^com\\\\.ibm\\\\.cloud\\\\.codeengine\\\\.(secret|confgmap):delete$'\"\n      \
             - event_type_filter: \"$.type =~ 'codeengine\\\\.secrets:'\"\n      \
             - event_type_filter: $.*\n        notification_filter: \"not($.type == 'com.ibm.cloud.codeengine.pod:delete') && $.data.outcome == 'failure'\"",
        ),
        (
            "ubiops",
            "  - id: ubiops\n    rules:\n      - event_type_filter: \"$['type'] == 'com.ubiops.deployments:delete'\"",
        ),
    ]);
    let expected = [
        "$DIR/topics/secrets.yaml: sources[0].rules[0].event_type_filter: topic \"secrets\", source \"audit\": type \"com.ibm.cloud.codeengine.secrets:create\" is not one the activity-tracker catalogue lists, so the rule may never match; did you mean \"com.ibm.cloud.codeengine.secret:create\"?",
        "$DIR/topics/secrets.yaml: sources[0].rules[1].event_type_filter: topic \"secrets\", source \"audit\": pattern '^com\\.ibm\\.cloud\\.codeengine\\.confgmap:delete$' matches no type the activity-tracker catalogue lists, so the rule may never match; did you mean \"com.ibm.cloud.codeengine.configmap:delete\"?",
        "$DIR/topics/secrets.yaml: sources[0].rules[2].event_type_filter: topic \"secrets\", source \"audit\": pattern 'codeengine\\.secrets:' matches no type the activity-tracker catalogue lists, so the rule may never match",
        "$DIR/topics/secrets.yaml: sources[0].rules[3].notification_filter: topic \"secrets\", source \"audit\": type \"com.ibm.cloud.codeengine.pod:delete\" is not one the activity-tracker catalogue lists, so the rule may never match; did you mean \"com.ibm.cloud.codeengine.pods:delete\"?",
        "$DIR/topics/ubiops.yaml: sources[0].rules[0].event_type_filter: topic \"ubiops\", source \"ubiops\": type \"com.ubiops.deployments:delete\" is not one the ubiops-audit catalogue lists, so the rule may never match; did you mean \"com.ubiops.deployment:delete\"?",
    ];
    assert_eq!(found, expected);
}

#[test]
fn known_types_other_comparisons_and_catalogue_free_sources_are_not_warned_about() {
    let found = warnings_of(&[
        (
            "known",
            "  - id: lifecycle\n    rules:\n      \
             - event_type_filter: \"$.type == 'com.ibm.cloud.resource-lifecycle-events.instance:create'\"\n      \
             - event_type_filter: \"$.type =~ 'resource-lifecycle-events\\\\.key:(create|delete)'\"\n  \
             - id: audit\n    rules:\n      \
             - event_type_filter: \"'com.ibm.cloud.codeengine.appliction:create' != $.type\"\n      \
             - event_type_filter: \"$.data.type == 'com.nothing'\"\n      \
             - event_type_filter: \"$.type =~ '^com\\\\.ibm\\\\.cloud\\\\.codeengine\\\\.'\"\n      \
             - event_type_filter: \"'com.ibm.cloud.logdnaat.account-archive-setting:configure' == $.type\"\n  \
             - id: ubiops\n    rules:\n      - event_type_filter: \"$.type =~ ':delete$'\"",
        ),
        (
            "api",
            "  - id: api\n    rules:\n      - event_type_filter: \"$.type == 'anything.at.all'\"",
        ),
    ]);
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn alternatives_of_a_pattern() {
    #[rustfmt::skip]
    let table: [(&str, &[&str]); 9] = [
        ("^a(b|c)d$", &["^abd$", "^acd$"]),
        ("^(?:a|b)$", &["^a$", "^b$"]),
        ("x|y", &["x", "y"]),
        ("\\.key:(create|delete)", &["\\.key:create", "\\.key:delete"]),
        ("^a(b|(c|d))$", &["^a(b|(c|d))$"]),
        ("^(a|b)(c|d)$", &["^(a|b)(c|d)$"]),
        ("[(|]x", &["[(|]x"]),
        ("a\\|b", &["a\\|b"]),
        ("^(ab)$", &["^(ab)$"]),
    ];
    for (pattern, expected) in table {
        assert_eq!(alternatives(pattern), expected, "{pattern}");
    }
}

#[test]
fn plain_names_of_anchored_literal_patterns() {
    let table = [
        ("^com\\.ibm\\.x:create$", Some("com.ibm.x:create")),
        ("^com.ibm$", None),
        ("com\\.x", None),
        ("^a\\d$", None),
        ("^a+$", None),
    ];
    for (pattern, expected) in table {
        assert_eq!(plain_name(pattern).as_deref(), expected, "{pattern}");
    }
}

#[test]
fn a_queue_not_below_max_in_flight_is_a_warning_and_the_default_is_below() {
    let dir = tempfile::tempdir().expect("temp dir");
    let router = "\
kafka: { brokers: embedded, max_in_flight: 500 }
sources:
  - { id: lifecycle, type: resource-lifecycle-events, kafka_topics: [lifecycle] }
destinations:
  - { id: shipped, type: webhook, url: 'https://hooks.example.com/a' }
  - { id: wide, type: webhook, url: 'https://hooks.example.com/b', limits: { queue: 500 } }
";
    std::fs::write(dir.path().join("router.yaml"), router).expect("write router.yaml");
    std::fs::create_dir(dir.path().join("topics")).expect("mkdir topics");
    let config = load_with(&dir.path().join("router.yaml"), &|_| None)
        .unwrap_or_else(|e| panic!("config invalid:\n{e}"));
    let prefix = dir.path().display().to_string();
    let warnings: Vec<String> = config
        .warnings
        .iter()
        .map(|w| w.to_string().replace(&prefix, "$DIR"))
        .collect();
    assert_eq!(
        warnings,
        [
            "$DIR/router.yaml: destinations[1] (wide).limits.queue: 500 is not below kafka.max_in_flight (500): the queue can never be full, so a slow destination holds up the others instead of handing its deliveries to the retry topic"
        ]
    );
    assert!(
        warnings_of(&[]).is_empty(),
        "the default queue is below the default max_in_flight"
    );
}
