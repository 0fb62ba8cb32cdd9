//! Activity Tracker events: type, severity, texts and data; aliases, unknown actions, the
//! omitted response, CloudEvents carrying audit events.

use serde_json::{Value, json};

use super::{Headers, SOURCE, accept_as, run_as, text, with, without};
use crate::event::activity_tracker::{
    ACTIVITY_TRACKER_CATALOGUE, Origin, RESOURCE_ALIASES, RESPONSE_OMITTED, resolve_action,
};
use crate::event::{SourceKind, notification_id};

const AT: SourceKind = SourceKind::ActivityTracker;
const PROJECT_CRN: &str = "crn:v1:bluemix:public:codeengine:us-south:a/8d1e5a0c:0f3c1e2a::";

/// A Code Engine secret created in project alpha, as Activity Tracker records it.
fn secret_create() -> Value {
    json!({
        "eventTime": "2024-10-09T14:03:27.52+0000",
        "action": "codeengine.secret.create",
        "outcome": "success",
        "message": "Code Engine: create secret db-creds in project alpha",
        "severity": "normal",
        "logSourceCRN": "crn:v1:bluemix:public:codeengine:us-south:a/8d1e5a0c::",
        "initiator": {
            "id": "IBMid-550000ABCD",
            "name": "jane@example.com",
            "typeURI": "service/security/account/user",
            "host": {"address": "203.0.113.7", "agent": "ibmcloud-cli/2.27.0"}
        },
        "target": {"id": PROJECT_CRN, "name": "alpha", "typeURI": "codeengine/project"},
        "reason": {"reasonCode": 201, "reasonType": "Created"},
        "requestData": {"name": "db-creds", "format": "generic", "verb": "POST"},
        "responseData": {"name": "db-creds", "format": "generic"},
        "correlationId": "7a1c4e2b-corr",
        "observer": {"name": "ActivityTracker"},
    })
}

#[test]
fn a_secret_created_in_a_project_becomes_a_notification_with_every_field() {
    let event = secret_create();
    let n = accept_as(AT, &event);
    let id = notification_id(&[
        SOURCE,
        "activity-tracker",
        "codeengine.secret.create",
        "2024-10-09T14:03:27.52+0000",
        PROJECT_CRN,
        "7a1c4e2b-corr",
        "IBMid-550000ABCD",
        "success",
    ]);
    let expected = json!({
        "specversion": "1.0",
        "id": id,
        "source": "crn:v1:bluemix:public:codeengine:us-south:a/8d1e5a0c::",
        "type": "com.ibm.cloud.codeengine.secret:create",
        "time": "2024-10-09T14:03:27.520Z",
        "subject": PROJECT_CRN,
        "datacontenttype": "application/json",
        "ibmensourceid": SOURCE,
        "ibmenseverity": "LOW",
        "ibmendefaultshort": "Secret db-creds created in project alpha by jane@example.com — success",
        "ibmendefaultlong": format!(
            "Code Engine: create secret db-creds in project alpha. \
             Action: codeengine.secret.create. Target: alpha ({PROJECT_CRN}). \
             Initiated by jane@example.com at 2024-10-09T14:03:27.52+0000. \
             Outcome: success (reason code 201, Created). Correlation id: 7a1c4e2b-corr."
        ),
        "notification_id": id,
        "data": event,
    });
    assert_eq!(n.body, expected);
    assert_eq!(n.id, id);
    assert_eq!(n.event_type, "com.ibm.cloud.codeengine.secret:create");
}

#[test]
fn severity_follows_outcome_then_verb() {
    #[rustfmt::skip]
    let table = [
        ("codeengine.secret.create", "success", "LOW"),
        ("codeengine.secret.create", "failure", "HIGH"),
        ("codeengine.secret.delete", "success", "MEDIUM"),
        ("codeengine.secret.delete", "pending", "MEDIUM"),
        ("codeengine.secret.delete", "failure", "HIGH"),
        ("codeengine.pods.read", "success", "LOW"),
        ("codeengine.pods.list", "success", "LOW"),
        ("codeengine.pods.get", "success", "LOW"),
        ("codeengine.job.update", "success", "LOW"),
        ("logdnaat.account-archive-setting.configure", "success", "LOW"),
        ("logdnaat.streaming-configuration.deactivate", "success", "MEDIUM"),
        ("iam-identity.apikey.revoke", "success", "MEDIUM"),
    ];
    for (action, outcome, severity) in table {
        let event = with(secret_create(), "/action", json!(action));
        let event = with(event, "/outcome", json!(outcome));
        let n = accept_as(AT, &event);
        assert_eq!(text(&n, "/ibmenseverity"), severity, "{action} {outcome}");
    }
}

#[test]
fn the_catalogue_is_the_seeds_lists_and_every_entry_resolves_to_itself() {
    let count = |origin| {
        ACTIVITY_TRACKER_CATALOGUE
            .iter()
            .filter(|e| e.origin == origin)
            .count()
    };
    assert_eq!(
        [
            Origin::CodeEngine,
            Origin::CodeEngine2020,
            Origin::ActivityTracker
        ]
        .map(count),
        [64, 2, 28]
    );
    for (i, entry) in ACTIVITY_TRACKER_CATALOGUE.iter().enumerate() {
        let resolved = resolve_action(entry.action).expect("a catalogue action resolves");
        assert_eq!(resolved.entry, Some(entry));
        assert_eq!(resolved.ce_type(), entry.ce_type);
        assert!(!resolved.aliased);
        let earlier = &ACTIVITY_TRACKER_CATALOGUE[..i];
        assert!(
            earlier.iter().all(|e| e.action != entry.action),
            "{} listed twice",
            entry.action
        );
    }
}

#[test]
fn older_spellings_are_aliases_of_the_current_actions() {
    for (service, old, current) in RESOURCE_ALIASES {
        for verb in ["create", "read", "update", "delete"] {
            let raw = format!("{service}.{old}.{verb}");
            let resolved = resolve_action(&raw).expect("an alias resolves");
            let canonical = format!("{service}.{current}.{verb}");
            assert_eq!(resolved.canonical(), canonical);
            assert!(resolved.aliased);
            let entry = resolved
                .entry
                .expect("the current action is in the catalogue");
            assert_eq!(
                (entry.action, entry.origin),
                (canonical.as_str(), Origin::CodeEngine)
            );
        }
    }

    let event = with(
        secret_create(),
        "/action",
        json!("codeengine.appliction.create"),
    );
    let event = with(event, "/requestData/name", json!("web"));
    let n = accept_as(AT, &event);
    assert_eq!(n.event_type, "com.ibm.cloud.codeengine.application:create");
    assert_eq!(
        n.body["data"]["action"], "codeengine.appliction.create",
        "data keeps what arrived"
    );
    assert!(text(&n, "/ibmendefaultshort").starts_with("Application web created in project alpha"));
    let long = text(&n, "/ibmendefaultlong");
    assert!(
        long.contains(
            "Action: codeengine.application.create (reported as codeengine.appliction.create)."
        ),
        "{long}"
    );
}

#[test]
fn actions_outside_the_catalogue_of_the_same_shape_are_accepted() {
    let table = [
        (
            "iam-identity.apikey.create",
            "com.ibm.cloud.iam-identity.apikey:create",
        ),
        (
            "is.instance.instance.create",
            "com.ibm.cloud.is.instance.instance:create",
        ),
        (
            "codeengine.buildrun.update",
            "com.ibm.cloud.codeengine.buildrun:update",
        ),
        (
            "codeengine.domainmapping.create",
            "com.ibm.cloud.codeengine.domainmapping:create",
        ),
    ];
    for (action, ce_type) in table {
        let event = with(secret_create(), "/action", json!(action));
        assert_eq!(accept_as(AT, &event).event_type, ce_type, "{action}");
    }
    let known = resolve_action("codeengine.buildrun.update").expect("resolves");
    assert_eq!(known.entry.map(|e| e.origin), Some(Origin::CodeEngine2020));
    assert_eq!(
        resolve_action("codeengine.domainmapping.create")
            .expect("resolves")
            .entry,
        None
    );
}

#[test]
fn texts_for_failures_targets_and_what_the_event_leaves_out() {
    let failed = with(secret_create(), "/outcome", json!("failure"));
    let failed = with(
        failed,
        "/reason",
        json!({"reasonCode": 409, "reasonType": "Conflict",
               "reasonForFailure": "A secret named db-creds already exists"}),
    );
    let n = accept_as(AT, &failed);
    assert_eq!(
        text(&n, "/ibmendefaultshort"),
        "Secret db-creds could not be created in project alpha by jane@example.com \
         — failure: A secret named db-creds already exists (409)"
    );
    let long = text(&n, "/ibmendefaultlong");
    assert!(
        long.ends_with(
            "Outcome: failure (reason code 409, Conflict). \
             Reason: A secret named db-creds already exists. Correlation id: 7a1c4e2b-corr."
        ),
        "{long}"
    );

    // The target is the project itself: no scope; no message: the catalogue's description.
    let project = with(
        secret_create(),
        "/action",
        json!("codeengine.project.delete"),
    );
    let project = without(without(project, "message"), "requestData");
    let n = accept_as(AT, &project);
    assert_eq!(
        text(&n, "/ibmendefaultshort"),
        "Project alpha deleted by jane@example.com — success"
    );
    assert!(text(&n, "/ibmendefaultlong").starts_with("Delete a project. Action:"));

    // Lists are plural; nothing but the required fields leaves a short text still.
    let list = with(
        secret_create(),
        "/action",
        json!("codeengine.serviceaccounts.list"),
    );
    assert_eq!(
        text(&accept_as(AT, &list), "/ibmendefaultshort"),
        "Service accounts listed in project alpha by jane@example.com — success"
    );
    let bare = json!({"action": "codeengine.jobrun.create", "outcome": "pending",
                      "eventTime": "2024-10-09T14:03:27Z"});
    let n = accept_as(AT, &bare);
    assert_eq!(text(&n, "/ibmendefaultshort"), "Job run created — pending");
    assert_eq!(
        text(&n, "/ibmendefaultlong"),
        "Submit a job run. Action: codeengine.jobrun.create. \
         Occurred at 2024-10-09T14:03:27Z. Outcome: pending."
    );
    assert_eq!(text(&n, "/source"), "/activity-tracker/codeengine");
    assert_eq!(
        text(&n, "/time"),
        "2024-10-09T14:03:27Z",
        "RFC 3339 kept as written"
    );
    assert_eq!(n.body.get("subject"), None);

    // An unknown verb has no participle; an unknown resource reads as words.
    let odd = with(
        bare,
        "/action",
        json!("cloud-object-storage.bucket-cors.frobnicate"),
    );
    let n = accept_as(AT, &odd);
    assert_eq!(
        text(&n, "/ibmendefaultshort"),
        "Bucket cors: frobnicate — pending"
    );
}

#[test]
fn a_response_left_out_for_size_is_accepted_and_said() {
    let event = with(secret_create(), "/action", json!("codeengine.pods.list"));
    let event = with(event, "/responseData", json!(RESPONSE_OMITTED));
    let n = accept_as(AT, &event);
    assert_eq!(n.body["data"]["responseData"], RESPONSE_OMITTED);
    let long = text(&n, "/ibmendefaultlong");
    assert!(
        long.ends_with("The response was not included for performance and size reasons."),
        "{long}"
    );
    let with_object = accept_as(AT, &with(event, "/responseData", json!({"items": []})));
    assert!(!text(&with_object, "/ibmendefaultlong").contains("not included"));
}

#[test]
fn the_2020_documents_transaction_id_stands_in_for_the_correlation_id() {
    let event = without(secret_create(), "correlationId");
    let event = with(event, "/transactionID", json!("tx-9"));
    let long = accept_as(AT, &event).body["ibmendefaultlong"].clone();
    assert!(
        long.as_str()
            .is_some_and(|l| l.ends_with("Correlation id: tx-9.")),
        "{long}"
    );
}

#[test]
fn the_id_is_stable_and_tells_events_apart() {
    let first = accept_as(AT, &secret_create());
    assert_eq!(first.id, accept_as(AT, &secret_create()).id);
    let later = with(secret_create(), "/eventTime", json!("2024-10-09T14:03:28Z"));
    let failed = with(secret_create(), "/outcome", json!("failure"));
    for other in [later, failed] {
        assert_ne!(first.id, accept_as(AT, &other).id);
    }
}

#[test]
fn cloudevents_carrying_audit_events() {
    let structured = json!({
        "specversion": "1.0", "id": "ce-1", "source": "/audit-forwarder",
        "type": "com.ibm.cloud.codeengine.secret:create", "data": secret_create(),
    });
    let n = accept_as(AT, &structured);
    assert_eq!(text(&n, "/id"), "ce-1");
    assert_eq!(
        text(&n, "/ibmendefaultshort"),
        "Secret db-creds created in project alpha by jane@example.com — success",
        "texts from the audit event in data"
    );

    let mismatched = with(
        structured.clone(),
        "/type",
        json!("com.ibm.cloud.codeengine.secret:delete"),
    );
    let n = accept_as(AT, &mismatched);
    assert_eq!(text(&n, "/ibmenseverity"), "MEDIUM");
    assert_eq!(
        text(&n, "/ibmendefaultshort"),
        "Secret deleted: ce-1",
        "texts from the type"
    );
    assert_eq!(
        text(&n, "/ibmendefaultlong"),
        "Delete one or more secrets. Event ce-1 from /audit-forwarder."
    );

    let headers: &Headers<'_> = &[
        ("ce_specversion", Some(b"1.0")),
        ("ce_id", Some(b"b-1")),
        ("ce_source", Some(b"/audit-forwarder")),
        (
            "ce_type",
            Some(b"com.ibm.cloud.logdnaat.exclusion-rule:delete"),
        ),
    ];
    let n = run_as(AT, &json!({"ruleId": "r-1"}), headers).expect("accepted");
    assert_eq!(n.event_type, "com.ibm.cloud.logdnaat.exclusion-rule:delete");
    assert_eq!(
        text(&n, "/ibmendefaultshort"),
        "Exclusion rule deleted: b-1"
    );
    assert_eq!(n.body["data"], json!({"ruleId": "r-1"}));
}
