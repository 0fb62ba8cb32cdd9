//! Tests of the filter language: the EN examples, an IBM lifecycle notification and the public API.

mod budget;
mod errors;
mod explain;
mod matching;

use serde_json::{Value, json};

use super::{
    CompareOp, Expr, Filter, FilterError, MAX_DEPTH, Operand, Path, Root, Segment, Selector,
};

/// Checks every `(filter, expected)` case against `notification`, reporting all failures at once.
fn assert_cases(notification: &Value, cases: &[(&str, bool)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|&(source, expected)| match Filter::parse(source) {
            Ok(filter) if filter.matches(notification) == expected => None,
            Ok(_) => Some(format!("{source}: expected {expected}")),
            Err(error) => Some(format!("{source}: {error}")),
        })
        .collect();
    assert!(
        failures.is_empty(),
        "failing cases:\n{}",
        failures.join("\n")
    );
}

#[test]
fn en_documented_examples() {
    let notification = json!({"data": {
        "event_sub_type": "in_60_days", "company": "IBM", "region": "dallas",
        "details": [
            {"name": "Alice", "age": 25, "country": "India"},
            {"name": "Bob", "age": 30, "country": "US"}
        ]
    }});
    assert_cases(
        &notification,
        &[
            (r#"$.data.event_sub_type == "in_60_days""#, true),
            (
                r#"$.data.details[1].age > 20 && $.data.company == "IBM""#,
                true,
            ),
            (r#"$.data.region =~ "dallas|london|sydney""#, true),
            (
                r#"$.data.details[?(@.country == "India")].name == "Alice""#,
                true,
            ),
            ("not($.data.details[?(@.name =~ 'Ali*')])", false),
            ("$..details[?(@.age)]", true),
        ],
    );
}

#[test]
fn ibm_resource_lifecycle_notification() {
    let notification = json!({
        "type": "com.ibm.cloud.resource-lifecycle-events.instance:create_failure",
        "ibmenseverity": "HIGH",
        "data": {
            "event_type": "resource-controller.instance.create_failure",
            "event_properties": {
                "region_id": "us-south", "name": "db-1", "resource_group_id": "rg1",
                "last_operation": {"state": "failed"}
            },
            "context": {"activity": {"outcome": "failure", "reason_reasonCode": 500}}
        }
    });
    assert_cases(
        &notification,
        &[
            ("$.type =~ 'instance:.*_failure$'", true),
            (
                "$.data.event_properties.region_id == 'us-south' && $.ibmenseverity == 'HIGH'",
                true,
            ),
            ("$.data.context.activity.reason_reasonCode >= 500", true),
            (
                "$.data.event_properties.last_operation.state == 'failed'",
                true,
            ),
            ("$..outcome == 'failure'", true),
            (
                "$.ibmenseverity == 'HIGH' || $.ibmenseverity == 'MEDIUM'",
                true,
            ),
            (
                "not($.data.event_properties.resource_group_id == 'rg2')",
                true,
            ),
            ("$.*", true),
            (
                "$.type == 'com.ibm.cloud.resource-lifecycle-events.instance:create'",
                false,
            ),
            ("$.data.event_properties.region_id =~ '^eu-'", false),
            ("$.data.event_properties.resource_group_id != 'rg1'", false),
            (
                r"$.data.event_type =~ '^resource-controller\\.key\\.'",
                false,
            ),
        ],
    );
}

#[test]
fn api_parse_from_str_source_and_expr() {
    let filter: Filter = "$.type == 'lit'".parse().expect("a valid filter");
    assert_eq!(filter.source(), "$.type == 'lit'");
    assert_eq!(filter.to_string(), "$.type == 'lit'");
    let type_path = Path {
        root: Root::Document,
        segments: [Segment {
            descendant: false,
            selectors: vec![Selector::Name("type".to_owned())],
        }]
        .into(),
    };
    assert_eq!(type_path.member_names(), Some(vec!["type"]));
    let expected = Expr::Compare {
        left: Operand::Path(type_path),
        op: CompareOp::Eq,
        right: Operand::Literal(json!("lit")),
    };
    assert_eq!(filter.expr(), &expected);
    assert!(filter.clone().matches(&json!({"type": "lit"})));
    assert_eq!(
        "".parse::<Filter>().map(|_| ()),
        Err(FilterError::new(1, "empty filter"))
    );
    assert_eq!(
        FilterError::new(1, "empty filter").to_string(),
        "column 1: empty filter"
    );
}

#[test]
fn member_names_only_for_plain_paths() {
    let names = |source: &str| match Filter::parse(source).map(|filter| filter.expr().clone()) {
        Ok(Expr::Exists(path)) => path.member_names().map(|names| names.join("/")),
        other => panic!("{source}: {other:?}"),
    };
    assert_eq!(
        names("$.data['event_type']"),
        Some("data/event_type".to_owned())
    );
    assert_eq!(names("$"), Some(String::new()));
    assert_eq!(names("$..type"), None);
    assert_eq!(names("$.a[0]"), None);
    assert_eq!(names("$['a','b']"), None);
}

#[test]
fn filter_is_clone_debug_send_sync() {
    fn assert_traits<T: Clone + std::fmt::Debug + Send + Sync>() {}
    assert_traits::<Filter>();
    assert_traits::<FilterError>();
}

#[test]
fn nesting_up_to_the_cap_parses_and_long_chains_do_not_recurse() {
    let nested = format!("{}true{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(Filter::parse(&nested).is_ok_and(|filter| filter.matches(&json!({}))));
    let nots = format!("{}true{}", "not(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(Filter::parse(&nots).is_ok_and(|filter| filter.matches(&json!({}))));
    let chain = vec!["$.a == 1"; 10_000].join(" && ");
    assert!(Filter::parse(&chain).is_ok_and(|filter| filter.matches(&json!({"a": 1}))));
    let hostile = "(".repeat(100_000);
    assert_eq!(
        Filter::parse(&hostile).map(|_| ()).map_err(|e| e.column),
        Err(MAX_DEPTH + 1)
    );
}
