//! The notification types each source kind's catalogue lists, and the closest one to a name that
//! is not among them, so configuration can warn about a filter that may never match.

use std::sync::LazyLock;

use super::SourceKind;
use super::activity_tracker::{ACTIVITY_TRACKER_CATALOGUE, resolve_action};
use super::catalogue::{LIFECYCLE_CATALOGUE, classify_raw_event_type};
use super::ubiops::documented_types;

static LIFECYCLE: LazyLock<Vec<String>> = LazyLock::new(|| {
    LIFECYCLE_CATALOGUE
        .iter()
        .map(|e| e.ce_type.to_owned())
        .collect()
});

static ACTIVITY_TRACKER: LazyLock<Vec<String>> = LazyLock::new(|| {
    ACTIVITY_TRACKER_CATALOGUE
        .iter()
        .map(|e| e.ce_type.to_owned())
        .collect()
});

static UBIOPS: LazyLock<Vec<String>> = LazyLock::new(documented_types);

/// See [`SourceKind::known_types`].
pub(super) fn types(kind: SourceKind) -> Option<&'static [String]> {
    match kind {
        SourceKind::ResourceLifecycleEvents => Some(&LIFECYCLE),
        SourceKind::ActivityTracker => Some(&ACTIVITY_TRACKER),
        SourceKind::UbiopsAudit => Some(&UBIOPS),
        SourceKind::Cloudevents => None,
    }
}

/// The known type `name` most likely meant: the type of a native name (`codeengine.secret.create`
/// is `com.ibm.cloud.codeengine.secret:create`; an alias is its current spelling), else the
/// closest known type within a few edits. `None` when nothing is close.
pub fn suggestion(kind: SourceKind, name: &str) -> Option<&'static str> {
    let known = types(kind)?;
    let native = match kind {
        SourceKind::ResourceLifecycleEvents => classify_raw_event_type(name)
            .ok()
            .map(|entry| entry.ce_type.to_owned()),
        SourceKind::ActivityTracker => resolve_action(name).ok().map(|a| a.ce_type()),
        SourceKind::UbiopsAudit | SourceKind::Cloudevents => None,
    };
    if let Some(found) = native.and_then(|t| known.iter().find(|k| **k == t)) {
        return Some(found);
    }
    let limit = (name.chars().count() / 8).max(3);
    known
        .iter()
        .map(|k| (edit_distance(name, k), k))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k.as_str())
}

/// The Levenshtein distance between `a` and `b`, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("secret", "secrets"), 1);
        assert_eq!(edit_distance("appliction", "application"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions_name_the_likely_type() {
        let at = SourceKind::ActivityTracker;
        let cases = [
            (
                at,
                "com.ibm.cloud.codeengine.secrets:create",
                Some("com.ibm.cloud.codeengine.secret:create"),
            ),
            (
                at,
                "codeengine.secret.create",
                Some("com.ibm.cloud.codeengine.secret:create"),
            ),
            (
                at,
                "codeengine.appliction.read",
                Some("com.ibm.cloud.codeengine.application:read"),
            ),
            (at, "com.ibm.cloud.iam-identity.apikey:create", None),
            (
                SourceKind::UbiopsAudit,
                "com.ubiops.deployments:delete",
                Some("com.ubiops.deployment:delete"),
            ),
            (
                SourceKind::ResourceLifecycleEvents,
                "resource-controller.key.delete",
                Some("com.ibm.cloud.resource-lifecycle-events.key:delete"),
            ),
            (SourceKind::Cloudevents, "anything", None),
        ];
        for (kind, name, expected) in cases {
            assert_eq!(suggestion(kind, name), expected, "{name}");
        }
    }

    #[test]
    fn every_kind_but_cloudevents_has_a_catalogue() {
        let counts = SourceKind::ALL.map(|k| k.known_types().map(<[String]>::len));
        assert_eq!(counts, [Some(24), Some(94), Some(33), None]);
    }
}
