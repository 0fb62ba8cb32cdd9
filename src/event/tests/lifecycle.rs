//! Raw resource-controller events: the seed example, every catalogue pair, texts and ids.

use serde_json::{Value, json};
use uuid::Uuid;

use super::{SOURCE, accept, fixture, raw_event, run, run_json, text, with};
use crate::event::{LIFECYCLE_CATALOGUE, NOTIFICATION_ID_NAMESPACE};

#[test]
fn seed_example_becomes_a_notification_with_every_field() {
    let event = fixture("instance-create.json");
    let n = accept(&event);
    let crn = "crn:v1:staging:public:apprapp:us-south:a/abcdf222595g44d598c178525i60jc77:f4fca3f2-fdd3-485e-b86c-1234dd3eabc4::";
    let id = Uuid::new_v5(
        &NOTIFICATION_ID_NAMESPACE,
        b"rc-lifecycle\n7ca39870-eb1b-6c50-88b1-48c04123494",
    )
    .to_string();
    let long = format!(
        "App Configuration: create instance App Configuration-0001. \
         Resource: App Configuration-z0 (CRN {crn}, region us-south, \
         resource group ee24533eed37412e988179fe694062bc). \
         Initiated by jane.doe@example.com at 2022-09-30T16:18:55Z. \
         Outcome: success (reason code 201)."
    );
    let expected = json!({
        "specversion": "1.0",
        "id": "7ca39870-eb1b-6c50-88b1-48c04123494",
        "source": "/resource-controller/accounts/abcdef2595f4d598c1725d60fc77",
        "type": "com.ibm.cloud.resource-lifecycle-events.instance:create",
        "time": "2022-09-30T16:18:55Z",
        "subject": crn,
        "datacontenttype": "application/json",
        "data": event,
        "ibmensourceid": "rc-lifecycle",
        "ibmenseverity": "LOW",
        "ibmendefaultshort": "instance create: App Configuration-0001 (success)",
        "ibmendefaultlong": long,
        "notification_id": id,
    });
    assert_eq!(n.body, expected);
    assert_eq!(n.id, id);
    assert_eq!(n.source_id, SOURCE);
    assert_eq!(
        n.event_type,
        "com.ibm.cloud.resource-lifecycle-events.instance:create"
    );
}

#[test]
fn every_catalogue_pair_gets_its_type_and_severity() {
    #[rustfmt::skip]
    let table = [
        ("instance", "apply_promo_code", "LOW"), ("instance", "create", "LOW"),
        ("instance", "create_failure", "HIGH"), ("instance", "create_inprogress", "LOW"),
        ("instance", "delete", "MEDIUM"), ("instance", "delete_failure", "HIGH"),
        ("instance", "delete_inprogress", "MEDIUM"), ("instance", "restore", "LOW"),
        ("instance", "schedule_reclaim", "MEDIUM"), ("instance", "update", "LOW"),
        ("instance", "update_failure", "HIGH"), ("instance", "update_inprogress", "LOW"),
        ("instance", "update_plan", "LOW"), ("instance", "update_plan_failure", "HIGH"),
        ("instance", "update_plan_inprogress", "LOW"), ("instance", "update_state", "LOW"),
        ("instance", "update_state_failure", "HIGH"),
        ("key", "create", "LOW"), ("key", "create_failure", "HIGH"),
        ("key", "delete", "MEDIUM"), ("key", "delete_failure", "HIGH"),
        ("resource_group", "create", "LOW"), ("resource_group", "delete", "MEDIUM"),
        ("resource_group", "update", "LOW"),
    ];
    assert_eq!(LIFECYCLE_CATALOGUE.len(), table.len());
    for ((type_name, sub_type, severity), entry) in table.into_iter().zip(&LIFECYCLE_CATALOGUE) {
        let event_type = format!("resource-controller.{type_name}.{sub_type}");
        let ce_type = format!("com.ibm.cloud.resource-lifecycle-events.{type_name}:{sub_type}");
        assert_eq!(
            (entry.event_type, entry.ce_type),
            (event_type.as_str(), ce_type.as_str())
        );
        let n = accept(&raw_event(&event_type));
        assert_eq!(n.event_type, ce_type);
        assert_eq!(text(&n, "/type"), ce_type);
        assert_eq!(text(&n, "/ibmenseverity"), severity, "{event_type}");
        let short = format!("{type_name} {sub_type}: event evt-1");
        assert_eq!(text(&n, "/ibmendefaultshort"), short);
    }
}

#[test]
fn type_is_accepted_in_any_case_and_normalised() {
    let table = [
        (
            "resource-controller.Resource_group.create",
            "resource_group:create",
        ),
        (
            "resource-controller.RESOURCE_GROUP.delete",
            "resource_group:delete",
        ),
        ("resource-controller.Instance.update", "instance:update"),
        (
            "resource-controller.KEY.create_failure",
            "key:create_failure",
        ),
    ];
    for (event_type, pair) in table {
        let event = raw_event(event_type);
        let n = accept(&event);
        assert_eq!(
            n.event_type,
            format!("com.ibm.cloud.resource-lifecycle-events.{pair}")
        );
        assert_eq!(n.body["data"], event, "data is kept as given");
    }
}

#[test]
fn texts_leave_out_what_the_event_does_not_say() {
    let minimal = raw_event("resource-controller.instance.create");
    let by_id = with(minimal.clone(), "/context/subject_id", json!("IBMid-42"));
    let failed = with(by_id.clone(), "/context/activity/outcome", json!("failure"));
    let coded = with(
        failed.clone(),
        "/context/activity/reason_reasonCode",
        json!(500),
    );
    let crn_only = with(minimal.clone(), "/event_properties/crn", json!("crn:v1:x"));
    let named = with(
        crn_only.clone(),
        "/context/activity/target_name",
        json!("db\nprod"),
    );
    let at = "2024-01-02T03:04:05Z";
    let table: [(&Value, &str, String); 6] = [
        (
            &minimal,
            "instance create: event evt-1",
            format!("A service instance was created. Occurred at {at}."),
        ),
        (
            &by_id,
            "instance create: event evt-1",
            format!("A service instance was created. Initiated by IBMid-42 at {at}."),
        ),
        (
            &failed,
            "instance create: event evt-1 (failure)",
            format!(
                "A service instance was created. Initiated by IBMid-42 at {at}. Outcome: failure."
            ),
        ),
        (
            &coded,
            "instance create: event evt-1 (failure)",
            format!(
                "A service instance was created. Initiated by IBMid-42 at {at}. Outcome: failure (reason code 500)."
            ),
        ),
        (
            &crn_only,
            "instance create: crn:v1:x",
            format!("A service instance was created. Resource: CRN crn:v1:x. Occurred at {at}."),
        ),
        (
            &named,
            "instance create: db prod",
            format!(
                "A service instance was created. Resource: db\nprod (CRN crn:v1:x). Occurred at {at}."
            ),
        ),
    ];
    for (event, short, long) in table {
        let n = accept(event);
        assert_eq!(text(&n, "/ibmendefaultshort"), short);
        assert_eq!(text(&n, "/ibmendefaultlong"), long);
    }
    assert_eq!(
        accept(&minimal).body.get("subject"),
        None,
        "no CRN, no subject"
    );
}

#[test]
fn unknown_fields_and_nulls_are_preserved_in_data() {
    let event = with(
        raw_event("resource-controller.key.delete"),
        "/extra",
        json!({"a": [1, 2]}),
    );
    let event = with(event, "/context", Value::Null);
    let event = with(event, "/event_properties/future_field", json!(true));
    assert_eq!(accept(&event).body["data"], event);
}

#[test]
fn notification_id_is_stable_per_source_and_event() {
    let event = fixture("instance-create.json");
    let bytes = event.to_string();
    let first = run(SOURCE, bytes.as_bytes(), &[]).expect("accepted");
    let again = run(SOURCE, bytes.as_bytes(), &[]).expect("accepted");
    let retried = run_json(&with(
        event.clone(),
        "/timestamp",
        json!("2022-09-30T16:19:00Z"),
    ));
    let other_source = run("rc-lifecycle-eu", bytes.as_bytes(), &[]).expect("accepted");
    let other_event = run_json(&with(event, "/event_id", json!("another-event")));
    let parsed = Uuid::parse_str(&first.id).expect("a UUID");
    assert_eq!(parsed.get_version_num(), 5);
    assert_eq!(first.id, again.id);
    assert_eq!(
        first.id,
        retried.expect("accepted").id,
        "a producer retry keeps the id"
    );
    assert_ne!(first.id, other_source.id);
    assert_ne!(first.id, other_event.expect("accepted").id);
    assert_eq!(text(&first, "/notification_id"), first.id);
}
