//! The example event files in `fixtures/`: each one normalises as a person would expect.

use serde_json::Value;

use super::{SOURCE, fixture, fixture_bytes, run, text};

#[test]
fn every_fixture_normalises() {
    #[rustfmt::skip]
    let table = [
        ("instance-create.json", "instance:create", "LOW", "instance create: App Configuration-0001 (success)"),
        ("instance-create-failure.json", "instance:create_failure", "HIGH", "instance create_failure: App Configuration-0001 (failure)"),
        ("key-delete.json", "key:delete", "MEDIUM", "key delete: billing-db-writer (success)"),
        ("resource-group-update.json", "resource_group:update", "LOW", "resource_group update: platform-prod (success)"),
        ("cloudevent-structured.json", "instance:delete", "MEDIUM", "instance delete: orders-db (success)"),
    ];
    for (name, pair, severity, short) in table {
        let n = run(SOURCE, &fixture_bytes(name), &[]).unwrap_or_else(|r| panic!("{name}: {r}"));
        let ce_type = format!("com.ibm.cloud.resource-lifecycle-events.{pair}");
        assert_eq!(n.event_type, ce_type, "{name}");
        assert_eq!(text(&n, "/ibmenseverity"), severity, "{name}");
        assert_eq!(text(&n, "/ibmendefaultshort"), short, "{name}");
        assert_eq!(text(&n, "/ibmensourceid"), SOURCE, "{name}");
        assert!(text(&n, "/ibmendefaultlong").ends_with('.'), "{name}");
    }
}

#[test]
fn fixtures_keep_their_data_and_subject() {
    let failure = fixture("instance-create-failure.json");
    let n = run(SOURCE, failure.to_string().as_bytes(), &[]).expect("accepted");
    assert_eq!(n.body["data"], failure);
    assert_eq!(n.body["subject"], failure["event_properties"]["crn"]);
    let long = text(&n, "/ibmendefaultlong");
    assert!(
        long.contains("Initiated by jane.doe@example.com at 2024-03-12T09:41:09Z."),
        "{long}"
    );
    assert!(
        long.ends_with("Outcome: failure (reason code 409)."),
        "{long}"
    );

    let structured = fixture("cloudevent-structured.json");
    let n = run(SOURCE, structured.to_string().as_bytes(), &[]).expect("accepted");
    for (key, value) in structured.as_object().expect("an object") {
        assert_eq!(&n.body[key], value, "attribute {key} kept as given");
    }
    assert_eq!(
        n.body["traceparent"],
        Value::from("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    );
}
