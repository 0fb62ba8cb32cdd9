//! The shipped configuration loads; each kind of mistake in it stops loading with an exact message
//! (`mistakes`); topic files cannot reach the operator's environment or files (`topic_files`).

use std::path::{Path, PathBuf};

use super::*;

mod digest;
mod mistakes;
mod mute;
mod topic_files;
use crate::render::Channel;

/// Copies the shipped `router.yaml`, `topics/` and `templates/` into a fresh folder.
pub(super) fn shipped_copy() -> (tempfile::TempDir, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(root.join("router.yaml"), dir.path().join("router.yaml"))
        .expect("copy router.yaml");
    for folder in [
        "topics",
        "templates/webhook",
        "templates/email",
        "templates/slack",
    ] {
        std::fs::create_dir_all(dir.path().join(folder)).expect("mkdir");
        for entry in std::fs::read_dir(root.join(folder)).expect("read shipped folder") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(
                    &path,
                    dir.path()
                        .join(folder)
                        .join(path.file_name().expect("name")),
                )
                .expect("copy");
            }
        }
    }
    let router = dir.path().join("router.yaml");
    (dir, router)
}

pub(super) fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn the_shipped_configuration_is_valid() {
    let (_dir, router) = shipped_copy();
    let config =
        load_with(&router, &no_env).unwrap_or_else(|e| panic!("shipped config invalid:\n{e}"));
    assert_eq!(config.router.kafka.brokers, "embedded");
    let kinds: Vec<&str> = config
        .table
        .sources()
        .iter()
        .map(|s| s.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "resource-lifecycle-events",
            "activity-tracker",
            "ubiops-audit",
            "cloudevents"
        ]
    );
    assert!(
        config.table.sources().iter().all(|s| !s.enabled),
        "every source ships disabled"
    );
    assert_eq!(config.table.topics().len(), 9);
    assert_eq!(config.table.subscriptions().len(), 11);
    assert_eq!(
        config.warnings,
        [],
        "the shipped rules name known types only"
    );
    let channels: Vec<Channel> = config.destinations.iter().map(|d| d.channel()).collect();
    assert_eq!(
        channels,
        [
            Channel::Webhook,
            Channel::Webhook,
            Channel::Email,
            Channel::Slack
        ]
    );
}
