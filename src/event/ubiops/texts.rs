//! Default severity and texts of UbiOps audit events: "Deployment churn-model deleted in project
//! alpha by jane@example.com". The description is shown as UbiOps wrote it, never extended.

use super::catalogue::{UbiopsAction, noun};
use super::event::UbiopsEvent;
use crate::event::catalogue::Severity;
use crate::event::texts::{DefaultTexts, capitalise, push_one_line, push_sentence};

/// The default severity: `delete` is `MEDIUM`, everything else `LOW` (UbiOps records no failures).
pub fn severity(action: UbiopsAction) -> Severity {
    match action {
        UbiopsAction::Delete => Severity::Medium,
        _ => Severity::Low,
    }
}

/// "Deployment churn-model deleted"; `info` has no participle: "Version file: info".
pub(super) fn what_happened(object_type: &str, name: Option<&str>, action: UbiopsAction) -> String {
    let noun = capitalise(&noun(object_type));
    let subject = match name {
        Some(name) => format!("{noun} {name}"),
        None => noun,
    };
    match action {
        UbiopsAction::Create => format!("{subject} created"),
        UbiopsAction::Update => format!("{subject} updated"),
        UbiopsAction::Delete => format!("{subject} deleted"),
        UbiopsAction::Info => format!("{subject}: info"),
    }
}

/// The native event's texts.
pub(super) fn for_event(event: &UbiopsEvent<'_>) -> DefaultTexts {
    let happened = what_happened(&event.object_type, event.object_name, event.action);
    let mut line = match (event.action, event.description) {
        // `info` says what happened only in its description.
        (UbiopsAction::Info, Some(description)) if !description.trim().is_empty() => {
            description.trim().trim_end_matches('.').to_owned()
        }
        _ => happened.clone(),
    };
    if let Some(project) = event.project {
        line += &format!(" in project {project}");
    }
    if let Some(user) = event.user {
        line += &format!(" by {user}");
    }
    let mut short = String::with_capacity(line.len());
    push_one_line(&mut short, &line);

    let mut long = String::with_capacity(256);
    match event.description {
        Some(description) if !description.trim().is_empty() => {
            push_sentence(&mut long, description);
        }
        _ => push_sentence(&mut long, &happened),
    }
    let noun = noun(&event.object_type);
    match event.object_name {
        Some(name) => push_sentence(&mut long, &format!("Object: {noun} {name}")),
        None => push_sentence(
            &mut long,
            &format!(
                "Object: a {noun} that has since been deleted (UbiOps no longer records its name)"
            ),
        ),
    }
    if let Some(project) = event.project {
        push_sentence(&mut long, &format!("Project: {project}"));
    }
    match event.user {
        Some(user) => push_sentence(&mut long, &format!("By {user} at {}", event.date)),
        None => push_sentence(&mut long, &format!("At {}", event.date)),
    }
    if let Some(id) = event.id {
        push_sentence(&mut long, &format!("Audit event {id}"));
    }

    DefaultTexts {
        severity: severity(event.action),
        short,
        long,
    }
}
