//! Default severity and texts of Activity Tracker events: "Secret db-creds created in project
//! alpha by jane@example.com — success".

use super::catalogue::ResolvedAction;
use super::event::{AuditEvent, Outcome};
use crate::event::catalogue::Severity;
use crate::event::texts::{DefaultTexts, capitalise, push_one_line, push_sentence};

/// The default severity: a failed action is `HIGH`; one that removes something (`delete`,
/// `bulkdelete`, `remove`, `deactivate`, `disable`, `revoke`) is `MEDIUM`; anything else —
/// reads, lists, creations, updates, configurations — is `LOW`. Without an outcome (a
/// CloudEvent whose data is not an audit event) only the verb counts.
pub fn severity(outcome: Option<Outcome>, verb: &str) -> Severity {
    match (outcome, verb) {
        (Some(Outcome::Failure), _) => Severity::High,
        (_, "delete" | "bulkdelete" | "remove" | "deactivate" | "disable" | "revoke") => {
            Severity::Medium
        }
        _ => Severity::Low,
    }
}

/// The past participle of the verbs the catalogues use, and a few common others.
fn past_tense(verb: &str) -> Option<&'static str> {
    Some(match verb {
        "create" => "created",
        "read" | "get" => "read",
        "list" => "listed",
        "update" => "updated",
        "delete" | "bulkdelete" => "deleted",
        "configure" => "configured",
        "validate" => "validated",
        "activate" => "activated",
        "deactivate" => "deactivated",
        "enable" => "enabled",
        "disable" => "disabled",
        "send" => "sent",
        "import" => "imported",
        "export" => "exported",
        "start" => "started",
        "stop" => "stopped",
        "restore" => "restored",
        "rotate" => "rotated",
        "revoke" => "revoked",
        "remove" => "removed",
        "add" => "added",
        _ => return None,
    })
}

/// "Secret created", "Build run could not be created", "Instance: reboot".
fn what_happened(action: &ResolvedAction<'_>, name: Option<&str>, outcome: Outcome) -> String {
    let noun = capitalise(&action.noun());
    let subject = match (action.verb, name) {
        ("list", _) if noun.ends_with('s') => noun,
        ("list", _) => format!("{noun}s"),
        (_, Some(name)) => format!("{noun} {name}"),
        (_, None) => noun,
    };
    match (past_tense(action.verb), outcome) {
        (Some(past), Outcome::Failure) => format!("{subject} could not be {past}"),
        (Some(past), _) => format!("{subject} {past}"),
        (None, _) => format!("{subject}: {}", action.verb),
    }
}

/// The native event's texts.
pub(super) fn for_audit(event: &AuditEvent<'_>) -> DefaultTexts {
    let action = &event.action;
    let outcome = event.outcome;
    let reason = &event.reason;

    let mut line = what_happened(action, event.resource_name(), outcome);
    if let Some((kind, name)) = event.scope() {
        line += &format!(" in {kind} {name}");
    }
    if let Some(who) = event.who() {
        line += &format!(" by {who}");
    }
    line += &format!(" — {}", outcome.as_str());
    if outcome == Outcome::Failure {
        match (reason.for_failure.or(reason.reason_type), reason.code) {
            (Some(why), Some(code)) => line += &format!(": {why} ({code})"),
            (Some(why), None) => line += &format!(": {why}"),
            (None, Some(code)) => line += &format!(": reason code {code}"),
            (None, None) => {}
        }
    }
    let mut short = String::with_capacity(line.len());
    push_one_line(&mut short, &line);

    let mut long = String::with_capacity(320);
    match (event.message, action.entry) {
        (Some(message), _) if !message.trim().is_empty() => push_sentence(&mut long, message),
        (_, Some(entry)) => push_sentence(&mut long, entry.description),
        _ => push_sentence(&mut long, &what_happened(action, None, outcome)),
    }
    match action.aliased {
        true => {
            let sentence = format!(
                "Action: {} (reported as {})",
                action.canonical(),
                action.raw
            );
            push_sentence(&mut long, &sentence);
        }
        false => push_sentence(&mut long, &format!("Action: {}", action.raw)),
    }
    match (event.target.name, event.target.id) {
        (Some(name), Some(id)) => push_sentence(&mut long, &format!("Target: {name} ({id})")),
        (Some(only), None) | (None, Some(only)) => {
            push_sentence(&mut long, &format!("Target: {only}"));
        }
        (None, None) => {}
    }
    let when = event.event_time;
    match event.who() {
        Some(who) => push_sentence(&mut long, &format!("Initiated by {who} at {when}")),
        None => push_sentence(&mut long, &format!("Occurred at {when}")),
    }
    let mut ending = format!("Outcome: {}", outcome.as_str());
    match (reason.code, reason.reason_type) {
        (Some(code), Some(kind)) => ending += &format!(" (reason code {code}, {kind})"),
        (Some(code), None) => ending += &format!(" (reason code {code})"),
        (None, Some(kind)) => ending += &format!(" ({kind})"),
        (None, None) => {}
    }
    push_sentence(&mut long, &ending);
    if let Some(why) = reason.for_failure {
        push_sentence(&mut long, &format!("Reason: {why}"));
    }
    if let Some(id) = event.correlation_id {
        push_sentence(&mut long, &format!("Correlation id: {id}"));
    }
    if event.response_data.is_omitted() {
        push_sentence(
            &mut long,
            "The response was not included for performance and size reasons",
        );
    }

    DefaultTexts {
        severity: severity(Some(outcome), action.verb),
        short,
        long,
    }
}

/// The label of a CloudEvent whose data is not an audit event: "Secret created".
pub(super) fn label(action: &ResolvedAction<'_>) -> String {
    what_happened(action, None, Outcome::Success)
}
