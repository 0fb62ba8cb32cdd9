//! The Activity Tracker action catalogue: Code Engine's actions (seed `000`, with the older
//! spellings of `001` as aliases) and Activity Tracker's own `logdnaat.*` actions (seed `002`).
//!
//! The tables below were generated from the seed documents (one row per action, descriptions as
//! written there) and are kept as plain data: [`ACTIVITY_TRACKER_CATALOGUE`] lists every known
//! action and [`RESOURCE_ALIASES`] the older resource spellings.

use super::super::reject::{RejectReason, Rejection};

/// Prefix of an Activity Tracker notification `type`: `com.ibm.cloud.<service>.<resource>:<verb>`.
pub const AT_TYPE_PREFIX: &str = "com.ibm.cloud.";

/// Which seed document lists an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Code Engine's current list (`000_*.txt`), the canonical catalogue.
    CodeEngine,
    /// Code Engine's 2020 list (`001_*.txt`): only its actions the newer list lacks.
    CodeEngine2020,
    /// Activity Tracker's own management and data events (`002_*.txt`).
    ActivityTracker,
}

/// One known action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditAction {
    /// The action as events write it, e.g. `codeengine.secret.create`.
    pub action: &'static str,
    /// The notification type, e.g. `com.ibm.cloud.codeengine.secret:create`.
    pub ce_type: &'static str,
    /// `codeengine` or `logdnaat`.
    pub service: &'static str,
    /// The object type, e.g. `secret`, `exclusion-rule`.
    pub resource: &'static str,
    /// The last part, e.g. `create`.
    pub verb: &'static str,
    /// The seed's description of the action.
    pub description: &'static str,
    /// The seed document that lists it.
    pub origin: Origin,
}

macro_rules! at {
    (@ $origin:ident, $service:literal, $resource:literal, $verb:literal, $description:literal) => {
        AuditAction {
            action: concat!($service, ".", $resource, ".", $verb),
            ce_type: concat!("com.ibm.cloud.", $service, ".", $resource, ":", $verb),
            service: $service,
            resource: $resource,
            verb: $verb,
            description: $description,
            origin: Origin::$origin,
        }
    };
    (ActivityTracker, $($rest:literal),+) => { at!(@ ActivityTracker, "logdnaat", $($rest),+) };
    ($origin:ident, $($rest:literal),+) => { at!(@ $origin, "codeengine", $($rest),+) };
}

/// Every known action: 63 of Code Engine (`000`), 1 more it names in a note (`pods.get`), 2 only
/// the 2020 list has (`001`), and 28 of Activity Tracker (`002`, each action once).
#[rustfmt::skip]
pub const ACTIVITY_TRACKER_CATALOGUE: [AuditAction; 94] = [
    at!(CodeEngine, "project", "create", "Create a project."),
    at!(CodeEngine, "project", "read", "Get information about or list projects."),
    at!(CodeEngine, "project", "update", "Update a project."),
    at!(CodeEngine, "project", "delete", "Delete a project."),
    at!(CodeEngine, "projectconfig", "read", "Get a project kubeconfig file."),
    at!(CodeEngine, "application", "create", "Create an application in a project."),
    at!(CodeEngine, "application", "read", "Get information about an application."),
    at!(CodeEngine, "application", "list", "List applications."),
    at!(CodeEngine, "application", "update", "Update an application."),
    at!(CodeEngine, "application", "delete", "Delete one or more applications."),
    at!(CodeEngine, "configmap", "create", "Create a configmap in a project."),
    at!(CodeEngine, "configmap", "read", "Get information about a configmap."),
    at!(CodeEngine, "configmap", "list", "List configmaps."),
    at!(CodeEngine, "configmap", "update", "Update a configmap."),
    at!(CodeEngine, "configmap", "delete", "Delete one or more configmaps."),
    at!(CodeEngine, "secret", "create", "Create a secret in a project."),
    at!(CodeEngine, "secret", "read", "Get information about a secret."),
    at!(CodeEngine, "secret", "list", "List secrets."),
    at!(CodeEngine, "secret", "update", "Update a secret."),
    at!(CodeEngine, "secret", "delete", "Delete one or more secrets."),
    at!(CodeEngine, "build", "create", "Create a build in a project."),
    at!(CodeEngine, "build", "read", "Get information about a build."),
    at!(CodeEngine, "build", "list", "List builds."),
    at!(CodeEngine, "build", "update", "Update a build."),
    at!(CodeEngine, "build", "delete", "Delete one or more builds."),
    at!(CodeEngine, "buildrun", "create", "Submit a build run in a project."),
    at!(CodeEngine, "buildrun", "read", "Get information about a build run."),
    at!(CodeEngine, "buildrun", "list", "List build runs."),
    at!(CodeEngine, "buildrun", "delete", "Delete one or more build runs."),
    at!(CodeEngine, "job", "create", "Create a job in a project."),
    at!(CodeEngine, "job", "read", "Get information about a job."),
    at!(CodeEngine, "job", "list", "List jobs."),
    at!(CodeEngine, "job", "update", "Update a job."),
    at!(CodeEngine, "job", "delete", "Delete one or more jobs."),
    at!(CodeEngine, "jobrun", "create", "Submit a job run."),
    at!(CodeEngine, "jobrun", "read", "Get information about a job run."),
    at!(CodeEngine, "jobrun", "list", "List job runs."),
    at!(CodeEngine, "jobrun", "delete", "Delete one or more job runs."),
    at!(CodeEngine, "subscription", "create", "Create subscription in a project."),
    at!(CodeEngine, "subscription", "read", "Get information about a subscription."),
    at!(CodeEngine, "subscription", "list", "List subscriptions."),
    at!(CodeEngine, "subscription", "update", "Update a subscription."),
    at!(CodeEngine, "subscription", "delete", "Delete one or more subscriptions."),
    at!(CodeEngine, "pods", "create", "Create a pod in a project."),
    at!(CodeEngine, "pods", "read", "Get information about a pod."),
    at!(CodeEngine, "pods", "list", "List pods."),
    at!(CodeEngine, "pods", "update", "Update a pod."),
    at!(CodeEngine, "pods", "delete", "Delete a pod."),
    at!(CodeEngine, "serviceaccounts", "read", "Get information about a service account."),
    at!(CodeEngine, "serviceaccounts", "list", "List service accounts."),
    at!(CodeEngine, "events", "read", "Get information about an event."),
    at!(CodeEngine, "events", "list", "List events."),
    at!(CodeEngine, "resourcequotas", "read", "Get information about a resource quota."),
    at!(CodeEngine, "resourcequotas", "list", "List resource quotas."),
    at!(CodeEngine, "limitranges", "read", "Get information about a limit range."),
    at!(CodeEngine, "limitranges", "list", "List limit ranges."),
    at!(CodeEngine, "deployments", "read", "Get information about a deployment."),
    at!(CodeEngine, "deployments", "list", "List deployments."),
    at!(CodeEngine, "servicebindings", "create", "Create a service binding in a project."),
    at!(CodeEngine, "servicebindings", "read", "Get information about a service binding."),
    at!(CodeEngine, "servicebindings", "list", "List service bindings."),
    at!(CodeEngine, "servicebindings", "update", "Update a service binding."),
    at!(CodeEngine, "servicebindings", "delete", "Delete a service binding."),
    at!(ActivityTracker, "account", "update", "An administrator turns on or off a feature for an auditing instance."),
    at!(ActivityTracker, "account-archive-setting", "configure", "An administrator configures archiving for an auditing instance."),
    at!(ActivityTracker, "exclusion-rule", "create", "An administrator creates an exclusion rule through the UI."),
    at!(ActivityTracker, "exclusion-rule", "update", "An administrator updates an exclusion rule through the UI."),
    at!(ActivityTracker, "exclusion-rule", "delete", "An administrator deletes an exclusion rule through the UI."),
    at!(ActivityTracker, "ingestion-key", "create", "An administrator creates an ingestion key through the UI."),
    at!(ActivityTracker, "ingestion-key", "delete", "An administrator deletes an ingestion key through the UI."),
    at!(ActivityTracker, "service-key", "create", "An administrator creates a service key through the UI."),
    at!(ActivityTracker, "service-key", "delete", "An administrator deletes a service key through the UI."),
    at!(ActivityTracker, "streaming-configuration", "validate", "You configure the connection in Activity Tracker to Event Streams."),
    at!(ActivityTracker, "streaming-samples", "send", "Sample data is sent to verify the connection."),
    at!(ActivityTracker, "account-streaming-setting", "configure", "You start streaming."),
    at!(ActivityTracker, "streaming-configuration", "deactivate", "You stop streaming."),
    at!(ActivityTracker, "streaming-logs", "send", "There is a failure streaming data."),
    at!(ActivityTracker, "parsing-template", "create", "An administrator creates a parsing template through the UI."),
    at!(ActivityTracker, "parsing-template", "update", "An administrator updates a parsing template through the UI."),
    at!(ActivityTracker, "parsing-template", "delete", "An administrator deletes a parsing template through the UI."),
    at!(ActivityTracker, "configuration", "import", "An administrator imports user-metadata such as views, and alerts through the UI."),
    at!(ActivityTracker, "configuration", "export", "An administrator exports user-metadata such as views, and alerts through the UI."),
    at!(ActivityTracker, "view", "create", "A view is created."),
    at!(ActivityTracker, "view", "update", "A view is updated. This event is also generated when an alert is attached or dettached from a view."),
    at!(ActivityTracker, "view", "delete", "A view is deleted."),
    at!(ActivityTracker, "alert", "create", "An alert is created as a preset."),
    at!(ActivityTracker, "alert", "update", "An alert is updated."),
    at!(ActivityTracker, "alert", "delete", "An alert is deleted."),
    at!(ActivityTracker, "board", "create", "A dashboard is created."),
    at!(ActivityTracker, "board", "delete", "A dashboard is deleted."),
    at!(ActivityTracker, "board-graph", "update", "A graph is added to a dashboard."),
    at!(CodeEngine, "pods", "get", "Get a pod (named in the note on events over 16 KB)."),
    at!(CodeEngine2020, "buildrun", "update", "Update a build run."),
    at!(CodeEngine2020, "jobrun", "update", "Update a job run."),
];

/// Resource spellings of the 2020 Code Engine list (`001`) and the current ones (`000`) they stand
/// for: `codeengine.appliction.create` is `codeengine.application.create`.
pub const RESOURCE_ALIASES: [(&str, &str, &str); 3] = [
    ("codeengine", "appliction", "application"),
    ("codeengine", "configmaps", "configmap"),
    ("codeengine", "secrets", "secret"),
];

/// What people call each catalogue resource, singular (`serviceaccounts` is "service account").
#[rustfmt::skip]
const NOUNS: [(&str, &str, &str); 32] = [
    ("codeengine", "project", "project"),
    ("codeengine", "projectconfig", "project kubeconfig"),
    ("codeengine", "application", "application"),
    ("codeengine", "configmap", "configmap"),
    ("codeengine", "secret", "secret"),
    ("codeengine", "build", "build"),
    ("codeengine", "buildrun", "build run"),
    ("codeengine", "job", "job"),
    ("codeengine", "jobrun", "job run"),
    ("codeengine", "subscription", "subscription"),
    ("codeengine", "pods", "pod"),
    ("codeengine", "serviceaccounts", "service account"),
    ("codeengine", "events", "event"),
    ("codeengine", "resourcequotas", "resource quota"),
    ("codeengine", "limitranges", "limit range"),
    ("codeengine", "deployments", "deployment"),
    ("codeengine", "servicebindings", "service binding"),
    ("logdnaat", "account", "account feature"),
    ("logdnaat", "account-archive-setting", "archiving setting"),
    ("logdnaat", "exclusion-rule", "exclusion rule"),
    ("logdnaat", "ingestion-key", "ingestion key"),
    ("logdnaat", "service-key", "service key"),
    ("logdnaat", "streaming-configuration", "streaming configuration"),
    ("logdnaat", "streaming-samples", "streaming sample"),
    ("logdnaat", "account-streaming-setting", "streaming setting"),
    ("logdnaat", "streaming-logs", "streamed log"),
    ("logdnaat", "parsing-template", "parsing template"),
    ("logdnaat", "configuration", "configuration"),
    ("logdnaat", "view", "view"),
    ("logdnaat", "alert", "alert"),
    ("logdnaat", "board", "dashboard"),
    ("logdnaat", "board-graph", "dashboard graph"),
];

/// An action resolved against the catalogue: its canonical parts, and its entry when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedAction<'a> {
    /// The action exactly as the event wrote it.
    pub raw: &'a str,
    pub service: &'a str,
    /// The canonical resource: an alias is replaced by what it stands for. May hold a dot
    /// (`service.resource.sub.verb`).
    pub resource: &'a str,
    pub verb: &'a str,
    /// The catalogue entry, when the (canonical) action is known.
    pub entry: Option<&'static AuditAction>,
    /// Whether the event used an older spelling of [`RESOURCE_ALIASES`].
    pub aliased: bool,
}

impl ResolvedAction<'_> {
    /// The canonical action, e.g. `codeengine.application.create` for `codeengine.appliction.create`.
    pub fn canonical(&self) -> String {
        format!("{}.{}.{}", self.service, self.resource, self.verb)
    }

    /// The notification type, e.g. `com.ibm.cloud.codeengine.secret:create`.
    pub fn ce_type(&self) -> String {
        match self.entry {
            Some(entry) => entry.ce_type.to_owned(),
            None => format!(
                "{AT_TYPE_PREFIX}{}.{}:{}",
                self.service, self.resource, self.verb
            ),
        }
    }

    /// What people call the resource, singular: the catalogue's noun, else the resource with
    /// `-`, `_` and `.` read as spaces.
    pub fn noun(&self) -> String {
        NOUNS
            .iter()
            .find(|(service, resource, _)| *service == self.service && *resource == self.resource)
            .map_or_else(
                || self.resource.replace(['-', '_', '.'], " "),
                |n| n.2.to_owned(),
            )
    }
}

/// Resolves an event's `action`: `service.resource.verb` or `service.resource.sub.verb`, each
/// part letters, digits, `-` or `_`. Known or not, an action of that shape is accepted.
pub fn resolve_action(action: &str) -> Result<ResolvedAction<'_>, Rejection> {
    let Some((path, verb)) = action.rsplit_once('.') else {
        return Err(not_an_action(action));
    };
    resolve(action, path, verb).ok_or_else(|| not_an_action(action))
}

/// Resolves a notification type `com.ibm.cloud.<service>.<resource>[.<sub>]:<verb>` (a
/// CloudEvent's own type): the same shape as an action, behind the prefix and a colon.
pub fn resolve_ce_type(ce_type: &str) -> Result<ResolvedAction<'_>, Rejection> {
    let parts = ce_type
        .strip_prefix(AT_TYPE_PREFIX)
        .and_then(|rest| rest.split_once(':'));
    let Some((path, verb)) = parts else {
        let detail =
            format!("\"{ce_type}\": expected {AT_TYPE_PREFIX}<service>.<resource>[.<sub>]:<verb>");
        return Err(Rejection::new(RejectReason::UnknownEventType, detail));
    };
    resolve(ce_type, path, verb).ok_or_else(|| {
        let detail = format!(
            "\"{ce_type}\": expected {AT_TYPE_PREFIX}<service>.<resource>[.<sub>]:<verb>, \
             each part letters, digits, '-' or '_'"
        );
        Rejection::new(RejectReason::UnknownEventType, detail)
    })
}

/// `path` is `service.resource[.sub]`; `None` unless every part is well formed.
fn resolve<'a>(raw: &'a str, path: &'a str, verb: &'a str) -> Option<ResolvedAction<'a>> {
    let (service, resource) = path.split_once('.')?;
    let parts = || [service, verb].into_iter().chain(resource.split('.'));
    if resource.split('.').count() > 2 || !parts().all(is_part) {
        return None;
    }
    let alias = RESOURCE_ALIASES
        .iter()
        .find(|(s, old, _)| *s == service && *old == resource);
    let resource = alias.map_or(resource, |(_, _, canonical)| *canonical);
    let entry = ACTIVITY_TRACKER_CATALOGUE
        .iter()
        .find(|e| e.service == service && e.resource == resource && e.verb == verb);
    Some(ResolvedAction {
        raw,
        service,
        resource,
        verb,
        entry,
        aliased: alias.is_some(),
    })
}

fn is_part(part: &str) -> bool {
    !part.is_empty()
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn not_an_action(action: &str) -> Rejection {
    let detail = format!(
        "action \"{action}\" is not <service>.<resource>[.<sub>].<verb>, \
         each part letters, digits, '-' or '_'"
    );
    Rejection::new(RejectReason::UnknownEventType, detail)
}
