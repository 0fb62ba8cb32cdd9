//! Generated workloads for the benchmarks: realistic lifecycle events and topic files of mixed rule
//! shapes, deterministic for a given size so that runs compare.
//!
//! Topic `i` belongs to a tenant, account `acct-{i / 2}` (two topics per account), and has one
//! rule of one of four shapes, in turn:
//! 0. type equality, plus a notification filter on the account;
//! 1. an alternation of three types, plus account and a regex on `event_properties.region_id`;
//! 2. a regex prefix on the type (every key event), plus account and resource group;
//! 3. a regex on the region as its event type filter, plus account and severity.
//!
//! On top of those, every table has [`GLOBAL_TOPICS`] catch-all topics, as an operations team
//! would have: every failure (a regex suffix on the type, which no lookup can find, so it is
//! evaluated for every event) and high-severity events of inactive resources.

use notification_router::event::{LIFECYCLE_CATALOGUE, Notification, RawRecord, SourceKind};
use notification_router::routing::RoutingTable;
use notification_router::{config, event, render};
use serde_json::{Value, json};

/// The source every generated topic and event belongs to.
pub const SOURCE_ID: &str = "lifecycle";
/// `kafka.internal_key` of the benchmarked router (its retry and dead-letter records).
pub const BENCH_INTERNAL_KEY: &str = "bench-internal-key-0123456789abcdef";
/// Regions events come from; rules of shape 1 ask for two of them.
pub const REGIONS: [&str; 4] = ["us-south", "eu-de", "jp-tok", "au-syd"];
/// Topics present at every size whose rules have no anchor.
pub const GLOBAL_TOPICS: usize = 2;

/// The account of generated topic `i`.
pub fn account(i: usize) -> String {
    format!("acct-{:05}", i / 2)
}

/// How many accounts a table of `topics` generated topics names.
pub fn accounts(topics: usize) -> usize {
    topics.div_ceil(2).max(1)
}

/// The rule of generated topic `i`: (event type filter, notification filter).
pub fn rule(i: usize) -> (String, String) {
    let pair = |n: usize| LIFECYCLE_CATALOGUE[n % LIFECYCLE_CATALOGUE.len()].ce_type;
    let account = account(i);
    match i % 4 {
        0 => (
            format!("$.type == '{}'", pair(i)),
            format!("$.data.account_id == '{account}'"),
        ),
        1 => (
            format!(
                "$.type == '{}' || $.type == '{}' || $.type == '{}'",
                pair(i),
                pair(i + 1),
                pair(i + 2)
            ),
            format!(
                "$.data.account_id == '{account}' && $.data.event_properties.region_id =~ '{}|{}'",
                REGIONS[i % 4],
                REGIONS[(i + 1) % 4]
            ),
        ),
        2 => (
            r"$.type =~ '^com\.ibm\.cloud\.resource-lifecycle-events\.key:'".to_owned(),
            format!(
                "$.data.account_id == '{account}' && $.data.event_properties.resource_group_id == 'rg-{}'",
                i % 3
            ),
        ),
        _ => (
            "$.data.event_properties.region_id =~ '^(us|eu)-'".to_owned(),
            format!("$.data.account_id == '{account}' && $.ibmenseverity != 'LOW'"),
        ),
    }
}

/// The catch-all rules of the [`GLOBAL_TOPICS`].
pub fn global_rule(i: usize) -> String {
    match i % 2 {
        0 => "$.type =~ ':.*_failure$'".to_owned(),
        _ => {
            "not($.data.event_properties.state == 'active') && $.ibmenseverity == 'HIGH'".to_owned()
        }
    }
}

/// A topic file: `name`, the rule of topic `i` (or global rule `i`), `subscriptions` of
/// destination `destination`, named `{name}-{n}`.
pub fn topic_yaml(
    name: &str,
    rule: (&str, Option<&str>),
    subscriptions: usize,
    destination: &str,
) -> String {
    let mut yaml = format!("name: {name}\nsources:\n  - id: {SOURCE_ID}\n    rules:\n");
    yaml.push_str(&format!("      - event_type_filter: {}\n", quoted(rule.0)));
    if let Some(filter) = rule.1 {
        yaml.push_str(&format!(
            "        notification_filter: {}\n",
            quoted(filter)
        ));
    }
    yaml.push_str("subscriptions:\n");
    for n in 0..subscriptions {
        yaml.push_str(&format!(
            "  - {{ name: {name}-{n}, destination: {destination} }}\n"
        ));
    }
    yaml
}

/// A YAML double-quoted string.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string always serialises")
}

/// Every topic file of a table of `topics` generated topics plus the global ones, each with one
/// subscription to `destination`: (file name, YAML).
pub fn topic_files(topics: usize, destination: &str) -> Vec<(String, String)> {
    let generated = (0..topics).map(|i| {
        let (event_type, notification) = rule(i);
        let name = format!("t{i:05}");
        let yaml = topic_yaml(&name, (&event_type, Some(&notification)), 1, destination);
        (format!("{name}.yaml"), yaml)
    });
    let global = (0..GLOBAL_TOPICS).map(|i| {
        let name = format!("global-{i}");
        let yaml = topic_yaml(&name, (&global_rule(i), None), 1, destination);
        (format!("{name}.yaml"), yaml)
    });
    generated.chain(global).collect()
}

/// The account of the events of a load run: no generated topic names it, so only the fan-out
/// topic matches them and every event makes exactly `fanout` deliveries.
pub const LOAD_ACCOUNT: &str = "acct-load";

/// The topic files of a load run: `topics` generated topics with one subscription each (their
/// rules are evaluated for every event but never match it), the global topics without
/// subscriptions, and a `fan-out` topic with `fanout` subscriptions that matches every event of
/// [`LOAD_ACCOUNT`]. Every subscription delivers to `destination`.
pub fn load_topic_files(topics: usize, fanout: usize, destination: &str) -> Vec<(String, String)> {
    let mut files = topic_files(topics, destination);
    for (name, yaml) in files
        .iter_mut()
        .filter(|(name, _)| name.starts_with("global-"))
    {
        let stem = name.trim_end_matches(".yaml");
        let rule = global_rule(stem.trim_start_matches("global-").parse().unwrap_or(0));
        *yaml = topic_yaml(stem, (&rule, None), 0, destination);
    }
    let fan_out = topic_yaml(
        "fan-out",
        (
            r"$.type =~ '^com\.ibm\.cloud\.resource-lifecycle-events\.'",
            Some(&format!("$.data.account_id == '{LOAD_ACCOUNT}'")),
        ),
        fanout,
        destination,
    );
    files.push(("fan-out.yaml".to_owned(), fan_out));
    files
}

/// A raw resource-controller event, as in the seed catalogue: event `n` of a run, of account
/// `account`, stamped `timestamp` (RFC 3339).
pub fn lifecycle_event(n: usize, account: &str, timestamp: &str) -> Value {
    let entry = &LIFECYCLE_CATALOGUE[n % LIFECYCLE_CATALOGUE.len()];
    let region = REGIONS[(n / 3) % REGIONS.len()];
    let state = if n.is_multiple_of(5) {
        "inactive"
    } else {
        "active"
    };
    json!({
        "account_id": account,
        "context": {
            "activity": {
                "action": format!("apprapp.{}.{}", entry.resource_type.as_str(), entry.sub_type),
                "message": format!("App Configuration: {} App Configuration-{n:04}", entry.sub_type),
                "outcome": if entry.sub_type.ends_with("_failure") { "failure" } else { "success" },
                "reason_reasonCode": 201,
                "target_name": format!("App Configuration-{n:04}")
            },
            "subject_id": "IBMid-1000000AB",
            "subject_name": "[email protected]"
        },
        "event_id": format!("bench-{n:08}-6c50-88b1-48c04123494"),
        "event_properties": {
            "created_at": "2022-09-30T16:18:54.926735545Z",
            "created_by": "IBMid-1000000AB",
            "crn": format!("crn:v1:bluemix:public:apprapp:{region}:a/{account}:f4fca3f2-{n:08}::"),
            "guid": format!("a4bcc3f2-dee3-485f-a86b-{n:012}"),
            "last_operation": {
                "description": format!("Completed {} operation", entry.sub_type),
                "state": "succeeded",
                "type": entry.sub_type
            },
            "name": format!("App Configuration-{n:04}"),
            "region_id": region,
            "resource_group_id": format!("rg-{}", n % 3),
            "resource_id": format!("apprapp-{n:08}"),
            "state": state,
            "type": "service_instance",
            "updated_at": "2022-09-30T16:18:55.295780335Z"
        },
        "event_type": entry.event_type,
        "timestamp": timestamp
    })
}

/// Event `n` for a table of `topics` generated topics: its account is one the table names.
pub fn event_for_table(n: usize, topics: usize) -> Value {
    let account = format!("acct-{:05}", (n * 7919) % accounts(topics));
    lifecycle_event(n, &account, "2022-09-30T16:18:55Z")
}

/// The notification of a generated event, as the router builds it.
pub fn notification(event: &Value) -> Notification {
    let bytes = event.to_string();
    let record = RawRecord {
        value: Some(bytes.as_bytes()),
        headers: &[],
    };
    event::normalise(
        SOURCE_ID,
        SourceKind::ResourceLifecycleEvents,
        &record,
        usize::MAX,
    )
    .expect("generated events are valid lifecycle events")
}

/// `router.yaml` for generated topics: the [`SOURCE_ID`] source on Kafka topic `kafka_topic`, and
/// one webhook destination, `receiver`, at `url`.
pub fn router_yaml(brokers: &str, group_id: &str, kafka_topic: &str, url: &str) -> String {
    router_yaml_in_flight(brokers, group_id, kafka_topic, url, 1000)
}

/// [`router_yaml`] with `kafka.max_in_flight` set to `in_flight`.
pub fn router_yaml_in_flight(
    brokers: &str,
    group_id: &str,
    kafka_topic: &str,
    url: &str,
    in_flight: usize,
) -> String {
    router_yaml_with(brokers, group_id, kafka_topic, url, in_flight, &[], &[])
}

/// [`router_yaml_in_flight`], with librdkafka `properties` for the router's clients and more
/// settings of the destination (`limits: {...}`, `signing: {...}`), each a YAML flow-mapping
/// entry.
pub fn router_yaml_with(
    brokers: &str,
    group_id: &str,
    kafka_topic: &str,
    url: &str,
    in_flight: usize,
    properties: &[(String, String)],
    destination: &[String],
) -> String {
    let properties: Vec<String> = properties
        .iter()
        .map(|(key, value)| format!("{key}: {}", quoted(value)))
        .collect();
    let properties = format!("{{ {} }}", properties.join(", "));
    let destination: String = destination.iter().map(|d| format!(", {d}")).collect();
    format!(
        "kafka:\n  brokers: \"{brokers}\"\n  group_id: {group_id}\n  max_in_flight: {in_flight}\n  properties: {properties}\n  \
         commit_interval: 1s\n  internal_key: {BENCH_INTERNAL_KEY}\n\
         sources:\n  - {{ id: {SOURCE_ID}, type: resource-lifecycle-events, enabled: true, \
         kafka_topics: [{kafka_topic}] }}\n\
         http:\n  allow_private_networks: [127.0.0.0/8]\n\
         destinations:\n  - {{ id: receiver, type: webhook, url: \"{url}\", allow_http: true{destination} }}\n"
    )
}

/// The routing table of `topics` generated topics (plus the global ones), compiled as the
/// router compiles its files; its destination is never called.
pub fn routing_table(topics: usize) -> RoutingTable {
    compile_table(topic_files(topics, "receiver"))
}

/// The routing table of a load run (see [`load_topic_files`]).
pub fn load_routing_table(topics: usize, fanout: usize) -> RoutingTable {
    compile_table(load_topic_files(topics, fanout, "receiver"))
}

fn compile_table(files: Vec<(String, String)>) -> RoutingTable {
    use config::files::{RouterFile, TopicFile};
    let yaml = router_yaml(
        "127.0.0.1:9",
        "bench",
        "lifecycle",
        "http://127.0.0.1:9/hook",
    );
    let router: RouterFile = serde_yaml_ng::from_str(&yaml).expect("the bench router file parses");
    let files: Vec<(std::path::PathBuf, TopicFile)> = files
        .into_iter()
        .map(|(name, yaml)| {
            let topic = serde_yaml_ng::from_str(&yaml).expect("generated topic files parse");
            (std::path::PathBuf::from(name), topic)
        })
        .collect();
    config::compile(
        std::path::Path::new("router.yaml"),
        &router,
        files,
        &render::Templates::empty(),
    )
    .expect("generated topics compile")
    .table
}

#[cfg(test)]
mod tests {
    use notification_router::routing::Route;

    use super::*;

    #[test]
    fn generated_tables_compile_and_route_like_the_reference() {
        for topics in [10, 1000] {
            let table = routing_table(topics);
            assert_eq!(table.topics().len(), topics + GLOBAL_TOPICS);
            let stats = table.index().stats();
            // The severity catch-all is found by its `==`; the suffix regex is scanned.
            assert_eq!(stats.scanned, 1, "only one catch-all is scanned");
            let source = table.source_index(SOURCE_ID).expect("the source exists");
            let mut matched = 0;
            for n in 0..500 {
                let body = notification(&event_for_table(n, topics)).body;
                let found = table.matching_topics(source, &body);
                assert_eq!(found, table.matching_topics_by_scan(source, &body));
                matched += found.len();
            }
            assert!(matched > 100, "events match some topics ({matched})");
        }
    }

    #[test]
    fn load_events_make_exactly_fanout_deliveries() {
        let table = load_routing_table(100, 3);
        let source = table.source_index(SOURCE_ID).expect("the source exists");
        for n in 0..100 {
            let event = notification(&lifecycle_event(n, LOAD_ACCOUNT, "2022-09-30T16:18:55Z"));
            match table.route(source, &event) {
                Route::Matched { deliveries, .. } => {
                    assert_eq!(deliveries.len(), 3)
                }
                Route::SourceDisabled => panic!("the source is enabled"),
            }
        }
    }
}
