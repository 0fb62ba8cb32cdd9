//! The resource lifecycle event catalogue (24 type/sub-type pairs), severities and type parsing.

use std::fmt;

use super::reject::{RejectReason, Rejection};

/// Prefix of a raw resource-controller `event_type`: `resource-controller.<type>.<sub_type>`.
pub const RAW_EVENT_TYPE_PREFIX: &str = "resource-controller.";

/// Prefix of a notification `type`: `com.ibm.cloud.resource-lifecycle-events.<type>:<sub_type>`.
pub const CE_TYPE_PREFIX: &str = "com.ibm.cloud.resource-lifecycle-events.";

/// The kind of resource a lifecycle event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    /// A service instance (`instance`).
    Instance,
    /// Service credentials (`key`).
    Key,
    /// A resource group (`resource_group`; the catalogue writes `Resource_group`).
    ResourceGroup,
}

impl ResourceType {
    /// Every resource type, in catalogue order.
    pub const ALL: [ResourceType; 3] = [
        ResourceType::Instance,
        ResourceType::Key,
        ResourceType::ResourceGroup,
    ];

    /// The normalised (lowercase) name used in event types.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Instance => "instance",
            ResourceType::Key => "key",
            ResourceType::ResourceGroup => "resource_group",
        }
    }

    /// The type named `name`, ignoring ASCII case when `any_case` (raw events write `Resource_group`).
    fn parse(name: &str, any_case: bool) -> Option<ResourceType> {
        let matches = |t: &ResourceType| match any_case {
            true => t.as_str().eq_ignore_ascii_case(name),
            false => t.as_str() == name,
        };
        ResourceType::ALL.into_iter().find(matches)
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How urgent a notification is by default (`ibmenseverity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Routine: creations, updates, restores.
    Low,
    /// Something went away or will: `delete`, `delete_inprogress`, `schedule_reclaim`.
    Medium,
    /// Something failed: every `*_failure` sub-type.
    High,
}

impl Severity {
    /// The default severity of a sub-type.
    pub fn of_sub_type(sub_type: &str) -> Severity {
        match sub_type {
            s if s.ends_with("_failure") => Severity::High,
            "delete" | "delete_inprogress" | "schedule_reclaim" => Severity::Medium,
            _ => Severity::Low,
        }
    }

    /// The EN spelling: `LOW`, `MEDIUM`, `HIGH`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
        }
    }
}

/// One (type, sub-type) pair of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogueEntry {
    /// The resource the event is about.
    pub resource_type: ResourceType,
    /// The sub-type, e.g. `create_failure`.
    pub sub_type: &'static str,
    /// The raw event type, e.g. `resource-controller.instance.create_failure`.
    pub event_type: &'static str,
    /// The notification type, e.g. `com.ibm.cloud.resource-lifecycle-events.instance:create_failure`.
    pub ce_type: &'static str,
    /// The catalogue's own description of the event.
    pub description: &'static str,
    /// A short sentence for people, used when the event carries no message of its own.
    pub summary: &'static str,
}

impl CatalogueEntry {
    /// The default severity of this event.
    pub fn severity(&self) -> Severity {
        Severity::of_sub_type(self.sub_type)
    }
}

macro_rules! entry {
    ($ty:ident, $name:literal, $sub:literal, $description:literal, $summary:literal) => {
        CatalogueEntry {
            resource_type: ResourceType::$ty,
            sub_type: $sub,
            event_type: concat!("resource-controller.", $name, ".", $sub),
            ce_type: concat!("com.ibm.cloud.resource-lifecycle-events.", $name, ":", $sub),
            description: $description,
            summary: $summary,
        }
    };
}

/// The 24 resource lifecycle event pairs (17 instance, 4 key, 3 resource group), in catalogue order.
#[rustfmt::skip]
pub const LIFECYCLE_CATALOGUE: [CatalogueEntry; 24] = [
    entry!(Instance, "instance", "apply_promo_code", "An event created when a promo code is applied.", "A promo code was applied to a service instance."),
    entry!(Instance, "instance", "create", "An event is generated when you provision a service instance.", "A service instance was created."),
    entry!(Instance, "instance", "create_failure", "An event is generated when a service instance creation failed.", "Creating a service instance failed."),
    entry!(Instance, "instance", "create_inprogress", "An event is generated when a service instance creation is in progress.", "A service instance is being created."),
    entry!(Instance, "instance", "delete", "An event is generated when a service instance deleted.", "A service instance was deleted."),
    entry!(Instance, "instance", "delete_failure", "An event is generated when a service instance deletion failed.", "Deleting a service instance failed."),
    entry!(Instance, "instance", "delete_inprogress", "An event is generated when a service instance deletion is in progress.", "A service instance is being deleted."),
    entry!(Instance, "instance", "restore", "An event is generated when a service instance restored after deletion within reclamation period.", "A deleted service instance was restored within its reclamation period."),
    entry!(Instance, "instance", "schedule_reclaim", "An event is generated when a service instance scheduled for reclaim after deletion.", "A deleted service instance was scheduled for reclamation."),
    entry!(Instance, "instance", "update", "An event is generated when a service instance get updated.", "A service instance was updated."),
    entry!(Instance, "instance", "update_failure", "An event is generated when a service instance updation failed.", "Updating a service instance failed."),
    entry!(Instance, "instance", "update_inprogress", "An event is generated when a service instance updation is in progress.", "A service instance is being updated."),
    entry!(Instance, "instance", "update_plan", "An event is generated when a service instance plan get updated.", "The plan of a service instance was changed."),
    entry!(Instance, "instance", "update_plan_failure", "An event is generated when a service instance plan updation failed.", "Changing the plan of a service instance failed."),
    entry!(Instance, "instance", "update_plan_inprogress", "An event is generated when a service instance plan updation is in progress.", "The plan of a service instance is being changed."),
    entry!(Instance, "instance", "update_state", "An event is generated when a service instance state get updated.", "The state of a service instance was changed."),
    entry!(Instance, "instance", "update_state_failure", "An event is generated when a service instance state updation failed.", "Changing the state of a service instance failed."),
    entry!(Key, "key", "create", "An event is generated when a service instance credentials are created successfully.", "Service credentials were created."),
    entry!(Key, "key", "create_failure", "An event is generated when a service instance credentials creation failed.", "Creating service credentials failed."),
    entry!(Key, "key", "delete", "An event is generated when a service instance credentials deleted successfully.", "Service credentials were deleted."),
    entry!(Key, "key", "delete_failure", "An event is generated when a service instance credentials deletion failed.", "Deleting service credentials failed."),
    entry!(ResourceGroup, "resource_group", "create", "An event is generated when a resource group get created.", "A resource group was created."),
    entry!(ResourceGroup, "resource_group", "delete", "An event is generated when a resource group get deleted.", "A resource group was deleted."),
    entry!(ResourceGroup, "resource_group", "update", "An event is generated when a resource group get updated.", "A resource group was updated."),
];

/// Classifies a raw `event_type` (`resource-controller.<type>.<sub_type>`, type in any case).
pub fn classify_raw_event_type(event_type: &str) -> Result<&'static CatalogueEntry, Rejection> {
    let parts = event_type
        .strip_prefix(RAW_EVENT_TYPE_PREFIX)
        .and_then(|rest| rest.split_once('.'));
    let Some((type_name, sub_type)) = parts else {
        return Err(unknown(
            event_type,
            format_args!("expected {RAW_EVENT_TYPE_PREFIX}<type>.<sub_type>"),
        ));
    };
    classify(event_type, type_name, sub_type, true)
}

/// Classifies a notification `type` (`com.ibm.cloud.resource-lifecycle-events.<type>:<sub_type>`).
pub fn classify_ce_type(ce_type: &str) -> Result<&'static CatalogueEntry, Rejection> {
    let parts = ce_type
        .strip_prefix(CE_TYPE_PREFIX)
        .and_then(|rest| rest.split_once(':'));
    let Some((type_name, sub_type)) = parts else {
        return Err(unknown(
            ce_type,
            format_args!("expected {CE_TYPE_PREFIX}<type>:<sub_type>"),
        ));
    };
    classify(ce_type, type_name, sub_type, false)
}

fn classify(
    full: &str,
    type_name: &str,
    sub_type: &str,
    any_case: bool,
) -> Result<&'static CatalogueEntry, Rejection> {
    let Some(resource_type) = ResourceType::parse(type_name, any_case) else {
        return Err(unknown(
            full,
            format_args!("type \"{type_name}\" is not one of instance, key, resource_group"),
        ));
    };
    let of_type = || {
        LIFECYCLE_CATALOGUE
            .iter()
            .filter(move |e| e.resource_type == resource_type)
    };
    if let Some(entry) = of_type().find(|e| e.sub_type == sub_type) {
        return Ok(entry);
    }
    let valid: Vec<&str> = of_type().map(|e| e.sub_type).collect();
    Err(unknown(
        full,
        format_args!(
            "sub-type \"{sub_type}\" is not in the catalogue for \"{resource_type}\" (valid: {})",
            valid.join(", ")
        ),
    ))
}

fn unknown(full: &str, why: fmt::Arguments<'_>) -> Rejection {
    Rejection::new(RejectReason::UnknownEventType, format!("\"{full}\": {why}"))
}
