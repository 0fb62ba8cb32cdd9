//! Generated fixtures: one realistic audit event per catalogue entry of the seeds — every Code
//! Engine and Activity Tracker action (and each older spelling), every UbiOps object type with
//! every action — each with the notification type and severity it must get.

use notification_router::event::activity_tracker::{
    ACTIVITY_TRACKER_CATALOGUE, AuditAction, Origin, RESOURCE_ALIASES, RESPONSE_OMITTED,
};
use notification_router::event::ubiops::{UBIOPS_OBJECT_TYPES, UbiopsAction};
use serde_json::{Value, json};

/// One generated event and what its notification must be.
pub struct Generated {
    pub event: Value,
    /// The expected notification `type`.
    pub ce_type: String,
    /// The expected `ibmenseverity`.
    pub severity: &'static str,
    /// A name the event gives the resource, which the short text must show.
    pub name: Option<String>,
}

const ACCOUNT: &str = "8d1e5a0c2b7f4e39a6c4d2f1b0e9a7c3";

/// An Activity Tracker event of `action` (as written, maybe an older spelling) for `entry`. Every
/// fifth one failed; lists of every third one had their response left out for size.
fn activity_tracker_event(action: &str, entry: &AuditAction, i: usize) -> Generated {
    let failed = i % 5 == 4;
    let kubectl = matches!(
        entry.resource,
        "pods"
            | "serviceaccounts"
            | "events"
            | "resourcequotas"
            | "limitranges"
            | "deployments"
            | "servicebindings"
    );
    let (service_crn, target) = match entry.service {
        "codeengine" => (
            format!("crn:v1:bluemix:public:codeengine:us-south:a/{ACCOUNT}::"),
            json!({
                "id": format!("crn:v1:bluemix:public:codeengine:us-south:a/{ACCOUNT}:0f3c1e2a-5b7d-4c9e-8a1f-2d4b6c8e0a13::"),
                "name": "alpha",
                "typeURI": "codeengine/project",
            }),
        ),
        _ => (
            format!("crn:v1:bluemix:public:logdnaat:us-south:a/{ACCOUNT}:4b2e6f8a::"),
            json!({
                "id": format!("crn:v1:bluemix:public:logdnaat:us-south:a/{ACCOUNT}:4b2e6f8a::"),
                "name": "at-us-south",
                "typeURI": "logdnaat/instance",
            }),
        ),
    };
    // The project itself is the target of project actions; everything else is named in the request.
    let name = match (entry.resource, entry.verb) {
        ("project", _) => Some("alpha".to_owned()),
        (_, "list") => None,
        (resource, _) => Some(format!("{resource}-{i}")),
    };
    let mut request = json!({"verb": http_verb(entry.verb)});
    if let Some(name) = name.as_ref().filter(|_| entry.resource != "project") {
        request["name"] = json!(name);
    }
    let response = match (entry.verb, i % 3) {
        ("list", 0) => json!(RESPONSE_OMITTED),
        _ => json!({"status": "ok"}),
    };
    let reason = match failed {
        true => json!({"reasonCode": 409, "reasonType": "Conflict",
                       "reasonForFailure": format!("{action} conflicts with a change in progress")}),
        false => json!({"reasonCode": 200, "reasonType": "OK"}),
    };
    let event = json!({
        "eventTime": format!("2024-10-09T14:{:02}:{:02}.52+0000", i / 60 % 60, i % 60),
        "action": action,
        "outcome": if failed { "failure" } else { "success" },
        "message": format!("{}: {} {}", entry.service, entry.verb, entry.resource),
        "severity": if failed { "warning" } else { "normal" },
        "logSourceCRN": service_crn,
        "initiator": {
            "id": "IBMid-550000ABCD",
            "typeURI": "service/security/account/user",
            "name": "jane@example.com",
            "host": {"address": "203.0.113.7",
                     "agent": if kubectl { "kubectl/v1.29.2" } else { "ibmcloud-cli/2.27.0" }},
        },
        "target": target,
        "reason": reason,
        "requestData": request,
        "responseData": response,
        "correlationId": format!("corr-{i:04}"),
        "observer": {"name": "ActivityTracker"},
    });
    let severity = match (failed, entry.verb) {
        (true, _) => "HIGH",
        (false, "delete" | "deactivate") => "MEDIUM",
        _ => "LOW",
    };
    Generated {
        event,
        ce_type: entry.ce_type.to_owned(),
        severity,
        name,
    }
}

fn http_verb(verb: &str) -> &'static str {
    match verb {
        "create" => "POST",
        "update" => "PATCH",
        "delete" => "DELETE",
        _ => "GET",
    }
}

/// An event for every action of the Activity Tracker catalogue, then one for each verb of each
/// older spelling (which must get the current action's type).
pub fn activity_tracker_events() -> Vec<Generated> {
    let mut all: Vec<Generated> = ACTIVITY_TRACKER_CATALOGUE
        .iter()
        .enumerate()
        .map(|(i, entry)| activity_tracker_event(entry.action, entry, i))
        .collect();
    for (service, old, current) in RESOURCE_ALIASES {
        for verb in ["create", "read", "update", "delete"] {
            let entry = ACTIVITY_TRACKER_CATALOGUE
                .iter()
                .find(|e| e.service == service && e.resource == current && e.verb == verb)
                .expect("each alias stands for catalogue actions");
            assert_eq!(entry.origin, Origin::CodeEngine);
            let i = all.len();
            all.push(activity_tracker_event(
                &format!("{service}.{old}.{verb}"),
                entry,
                i,
            ));
        }
    }
    all
}

/// An event for every UbiOps object type with every action; every fourth object has since been
/// deleted (its name is empty).
pub fn ubiops_events() -> Vec<Generated> {
    let mut all = Vec::new();
    for object in &UBIOPS_OBJECT_TYPES {
        for action in UbiopsAction::ALL {
            let i = all.len();
            let name = (i % 4 != 3).then(|| format!("{}-{i}", object.name.replace('_', "-")));
            let verb = match action {
                UbiopsAction::Create => "Created",
                UbiopsAction::Update => "Updated",
                UbiopsAction::Delete => "Deleted",
                UbiopsAction::Info => "Downloaded",
            };
            let event = json!({
                "id": format!("audit-{i:04}"),
                "date": format!("2024-06-03T08:{:02}:{:02}.118Z", i / 60 % 60, i % 60),
                "action": action.as_str(),
                "user": "jane@example.com",
                "event": format!("{verb} {} '{}'", object.noun, name.as_deref().unwrap_or("something")),
                "object_type": object.name,
                "object_name": name.clone().unwrap_or_default(),
                "project_name": "alpha",
            });
            all.push(Generated {
                event,
                ce_type: format!("com.ubiops.{}:{}", object.name, action.as_str()),
                severity: if action == UbiopsAction::Delete {
                    "MEDIUM"
                } else {
                    "LOW"
                },
                name,
            });
        }
    }
    all
}
