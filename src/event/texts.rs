//! Default texts a person reads (`ibmendefaultshort`, `ibmendefaultlong`) and default severity.

use std::fmt::Write as _;

use super::catalogue::{CatalogueEntry, Severity};
use super::cloudevent::CloudEvent;
use super::lifecycle::LifecycleEvent;

/// The derived `ibmenseverity`, `ibmendefaultshort` and `ibmendefaultlong` of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultTexts {
    /// Default severity of the event's sub-type.
    pub severity: Severity,
    /// One line, e.g. `instance create_failure: App Configuration-0001 (failure)`.
    pub short: String,
    /// A few sentences: what, which resource, who, when, outcome; absent parts are left out.
    pub long: String,
}

impl DefaultTexts {
    /// Texts for a raw lifecycle event, from its context and properties.
    pub fn for_lifecycle(event: &LifecycleEvent<'_>) -> Self {
        let kind = event.kind;
        let activity = &event.context.activity;
        let props = &event.properties;

        let mut short = format!("{} {}: ", kind.resource_type, kind.sub_type);
        match activity
            .target_name
            .or(props.name)
            .or(props.crn)
            .or(props.guid)
        {
            Some(name) => push_one_line(&mut short, name),
            None => push_one_line(&mut short, &format!("event {}", event.event_id)),
        }
        if let Some(outcome) = activity.outcome {
            short.push_str(" (");
            push_one_line(&mut short, outcome);
            short.push(')');
        }

        let mut long = String::with_capacity(256);
        match activity.message {
            Some(message) if !message.trim().is_empty() => push_sentence(&mut long, message),
            _ => push_sentence(&mut long, kind.summary),
        }
        let details: Vec<String> = [
            props.crn.map(|crn| format!("CRN {crn}")),
            props.region_id.map(|region| format!("region {region}")),
            props
                .resource_group_id
                .map(|group| format!("resource group {group}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        match (props.name.or(activity.target_name), details.is_empty()) {
            (Some(name), true) => push_sentence(&mut long, &format!("Resource: {name}")),
            (Some(name), false) => {
                let sentence = format!("Resource: {name} ({})", details.join(", "));
                push_sentence(&mut long, &sentence);
            }
            (None, false) => push_sentence(&mut long, &format!("Resource: {}", details.join(", "))),
            (None, true) => {}
        }
        let when = event.timestamp;
        match event.initiator() {
            Some(who) => push_sentence(&mut long, &format!("Initiated by {who} at {when}")),
            None => push_sentence(&mut long, &format!("Occurred at {when}")),
        }
        match (activity.outcome, activity.reason_code) {
            (Some(outcome), Some(code)) => {
                push_sentence(
                    &mut long,
                    &format!("Outcome: {outcome} (reason code {code})"),
                );
            }
            (Some(outcome), None) => push_sentence(&mut long, &format!("Outcome: {outcome}")),
            (None, Some(code)) => push_sentence(&mut long, &format!("Reason code: {code}")),
            (None, None) => {}
        }

        DefaultTexts {
            severity: kind.severity(),
            short,
            long,
        }
    }

    /// Texts for a CloudEvent whose data is not a lifecycle event, from its type and attributes.
    pub(super) fn for_cloudevent(kind: &CatalogueEntry, event: &CloudEvent) -> Self {
        let label = format!("{} {}", kind.resource_type, kind.sub_type);
        DefaultTexts::for_any_cloudevent(kind.severity(), &label, Some(kind.summary), event)
    }

    /// Texts for a CloudEvent from its attributes: `<label>: <subject or id>`, then `summary`
    /// and where the event came from.
    pub(super) fn for_any_cloudevent(
        severity: Severity,
        label: &str,
        summary: Option<&str>,
        event: &CloudEvent,
    ) -> Self {
        let subject = event.text("subject");
        let mut short = String::with_capacity(80);
        push_one_line(&mut short, label);
        short.push_str(": ");
        push_one_line(&mut short, subject.unwrap_or(&event.id));

        let mut long = String::with_capacity(160);
        if let Some(summary) = summary {
            push_sentence(&mut long, summary);
        }
        let mut origin = format!("Event {} from {}", event.id, event.source);
        if let Some(subject) = subject {
            _ = write!(origin, " about {subject}");
        }
        if let Some(time) = event.text("time") {
            _ = write!(origin, " at {time}");
        }
        push_sentence(&mut long, &origin);

        DefaultTexts {
            severity,
            short,
            long,
        }
    }
}

/// Appends `text`, with line breaks and other control characters turned into spaces.
pub(super) fn push_one_line(out: &mut String, text: &str) {
    out.extend(text.chars().map(|c| if c.is_control() { ' ' } else { c }));
}

/// Appends `sentence` after a space, ending it with a full stop unless it already has one.
pub(super) fn push_sentence(out: &mut String, sentence: &str) {
    let sentence = sentence.trim();
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(sentence);
    if !sentence.ends_with(['.', '!', '?']) {
        out.push('.');
    }
}

/// `text` with its first letter in upper case.
pub(super) fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
