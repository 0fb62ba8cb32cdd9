//! The UbiOps audit event catalogue (seed `003`): object types, the four actions, and which
//! actions the seed documents for each object type.

use super::super::reject::{RejectReason, Rejection};

/// Prefix of a UbiOps notification `type`: `com.ubiops.<object_type>:<action>`.
pub const UBIOPS_TYPE_PREFIX: &str = "com.ubiops.";

/// What was done to the object. `info` is for anything else, such as up- or downloading a
/// version's deployment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UbiopsAction {
    Create,
    Update,
    Delete,
    Info,
}

impl UbiopsAction {
    /// Every action, in the seed's order.
    pub const ALL: [UbiopsAction; 4] = [
        UbiopsAction::Create,
        UbiopsAction::Update,
        UbiopsAction::Delete,
        UbiopsAction::Info,
    ];

    /// As events write it: `create`, `update`, `delete`, `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            UbiopsAction::Create => "create",
            UbiopsAction::Update => "update",
            UbiopsAction::Delete => "delete",
            UbiopsAction::Info => "info",
        }
    }

    /// The action `text` names, or a rejection listing the four.
    pub fn parse(text: &str) -> Result<UbiopsAction, Rejection> {
        UbiopsAction::ALL
            .into_iter()
            .find(|a| a.as_str() == text)
            .ok_or_else(|| {
                let detail =
                    format!("action \"{text}\" is not one of create, update, delete, info");
                Rejection::new(RejectReason::UnknownEventType, detail)
            })
    }
}

/// One object type of the seed's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectType {
    /// The snake_case name used in notification types, e.g. `pipeline_object`.
    pub name: &'static str,
    /// What people call it, e.g. "pipeline object".
    pub noun: &'static str,
    /// The actions the seed documents for it.
    pub actions: &'static [UbiopsAction],
    /// The seed's line.
    pub description: &'static str,
}

use UbiopsAction::{Create, Delete, Info, Update};

const CHANGES: &[UbiopsAction] = &[Create, Update, Delete];

macro_rules! object {
    ($name:literal, $noun:literal, $actions:expr, $description:literal) => {
        ObjectType {
            name: $name,
            noun: $noun,
            actions: $actions,
            description: $description,
        }
    };
}

/// The twelve object types of the seed, in its order.
#[rustfmt::skip]
pub const UBIOPS_OBJECT_TYPES: [ObjectType; 12] = [
    object!("project", "project", CHANGES, "Project creation / update / deletion"),
    object!("project_environment_variable", "project environment variable", CHANGES, "Project Environment variable creation / update / deletion"),
    object!("deployment", "deployment", CHANGES, "Deployment creation / update / deletion"),
    object!("deployment_environment_variable", "deployment environment variable", CHANGES, "Deployment Environment variable creation / update / deletion"),
    object!("version", "version", CHANGES, "Version creation / update / deletion"),
    object!("version_environment_variable", "version environment variable", CHANGES, "Version Environment variable creation / update / deletion"),
    object!("version_file", "version file", &[Info], "Version file upload / download"),
    object!("pipeline", "pipeline", CHANGES, "Pipeline creation / update / deletion"),
    object!("pipeline_object", "pipeline object", CHANGES, "Pipeline object creation / update / deletion"),
    object!("pipeline_attachment", "pipeline attachment", &[Create, Delete], "Pipeline attachment creation / deletion"),
    object!("request_schedule", "request schedule", CHANGES, "Request schedule creation / update / deletion"),
    object!("service_user", "service user", CHANGES, "Service user creation / update / deletion"),
];

/// The object type as notification types write it: lower case, spaces and `-` as `_`
/// (`Pipeline object` and `pipeline-object` are `pipeline_object`). Rejected unless it is then
/// a name of letters, digits and `_` that starts with a letter.
pub fn object_type_name(text: &str) -> Result<String, Rejection> {
    let name: String = text
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    let well_formed = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if well_formed {
        Ok(name)
    } else {
        let detail =
            format!("object type \"{text}\" is not a name of letters, digits, spaces, '-' or '_'");
        Err(Rejection::new(RejectReason::UnknownEventType, detail))
    }
}

/// The object type of the catalogue named `name` (already normalised).
pub(super) fn object_type(name: &str) -> Option<&'static ObjectType> {
    UBIOPS_OBJECT_TYPES.iter().find(|o| o.name == name)
}

/// What people call an object type: the catalogue's noun, else the name with spaces.
pub(super) fn noun(name: &str) -> String {
    object_type(name).map_or_else(|| name.replace('_', " "), |o| o.noun.to_owned())
}

/// The notification type of an object type and action.
pub fn ce_type(object_type: &str, action: UbiopsAction) -> String {
    format!("{UBIOPS_TYPE_PREFIX}{object_type}:{}", action.as_str())
}

/// Parses a notification type `com.ubiops.<object_type>:<action>` (a CloudEvent's own type).
pub fn resolve_ce_type(text: &str) -> Result<(String, UbiopsAction), Rejection> {
    let parts = text
        .strip_prefix(UBIOPS_TYPE_PREFIX)
        .and_then(|rest| rest.split_once(':'));
    let Some((object, action)) = parts else {
        let detail = format!("\"{text}\": expected {UBIOPS_TYPE_PREFIX}<object_type>:<action>");
        return Err(Rejection::new(RejectReason::UnknownEventType, detail));
    };
    let name = object_type_name(object)?;
    if name != object {
        let detail = format!("\"{text}\": the object type is written \"{name}\" in types");
        return Err(Rejection::new(RejectReason::UnknownEventType, detail));
    }
    Ok((name, UbiopsAction::parse(action)?))
}

/// Every documented (object type, action) pair's notification type, in catalogue order.
pub fn documented_types() -> Vec<String> {
    UBIOPS_OBJECT_TYPES
        .iter()
        .flat_map(|o| o.actions.iter().map(|a| ce_type(o.name, *a)))
        .collect()
}
