//! Reloads and toggles on a configuration in a temporary folder.

use std::path::Path;

use super::*;
use crate::telemetry::metrics::Metrics;

/// The shipped configuration's files, copied to a temporary folder.
fn shipped() -> (tempfile::TempDir, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(root.join("router.yaml"), dir.path().join("router.yaml")).expect("copy");
    for folder in [
        "topics",
        "templates/webhook",
        "templates/email",
        "templates/slack",
    ] {
        let from = root.join(folder);
        let to = dir.path().join(folder);
        std::fs::create_dir_all(&to).expect("folder");
        for entry in std::fs::read_dir(&from).expect("read") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, to.join(path.file_name().expect("name"))).expect("copy");
            }
        }
    }
    let path = dir.path().join("router.yaml");
    (dir, path)
}

fn live(path: &Path) -> Live {
    Live::new(Arc::new(config::load_with(path, &|_| None).expect("valid")))
}

#[tokio::test]
async fn a_toggle_changes_one_line_of_the_file_and_the_configuration_in_effect() {
    let (_dir, path) = shipped();
    let live = live(&path);
    let before = std::fs::read_to_string(&path).expect("read");
    let config = live
        .set_source_enabled("ubiops-audit", true)
        .await
        .expect("toggled");
    let source = |c: &Config| {
        let index = c.table.source_index("ubiops-audit").expect("source");
        c.table.source(index).enabled
    };
    assert!(source(&config) && source(&live.config()));
    let after = std::fs::read_to_string(&path).expect("read");
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(b, a)| b != a)
        .collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert_eq!(changed, [("    enabled: false", "    enabled: true")]);
    let leftovers = std::fs::read_dir(path.parent().expect("folder"))
        .expect("read")
        .filter(|e| {
            e.as_ref()
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert_eq!(leftovers, 0, "no temporary file is left");
}

#[tokio::test]
async fn a_toggle_that_would_leave_an_invalid_configuration_writes_nothing() {
    let (dir, path) = shipped();
    let live = live(&path);
    std::fs::write(
        dir.path().join("topics/broken.yaml"),
        "name: broken\nsources: [{id: nope}]\n",
    )
    .expect("write");
    let before = std::fs::read_to_string(&path).expect("read");
    let error = live
        .set_source_enabled("ubiops-audit", true)
        .await
        .expect_err("rejected");
    let ReloadError::Invalid(errors) = error else {
        panic!("{error}")
    };
    assert!(
        errors
            .0
            .iter()
            .all(|e| e.file
                != path.with_file_name(format!(".router.yaml.{}.tmp", std::process::id()))),
        "{errors}"
    );
    assert!(errors.to_string().contains("broken.yaml"), "{errors}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), before);
    assert!(!live.config().table.sources()[2].enabled);
}

#[tokio::test]
async fn settings_that_need_a_restart_keep_their_running_values() {
    let (_dir, path) = shipped();
    let live = live(&path);
    let text = std::fs::read_to_string(&path).expect("read");
    let edited = text
        .replace("group_id: notification-router", "group_id: another")
        .replace("window: 10m", "window: 5m")
        .replace(
            "    enabled: false\n    kafka_topics: [api-events]",
            "    enabled: true\n    kafka_topics: [api-events]",
        );
    std::fs::write(&path, edited).expect("write");
    let summary = live.reload("test").await.expect("reloaded");
    assert_eq!(summary.restart_required, ["kafka", "dedup"]);
    assert_eq!(summary.enabled_sources, 1);
    let config = live.config();
    assert_eq!(config.router.kafka.group_id, "notification-router");
    assert_eq!(
        config.router.dedup.window,
        std::time::Duration::from_secs(600)
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_toggle_writes_no_planted_link_and_keeps_the_files_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, path) = shipped();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    // Someone who can write the folder plants links where the temporary file used to go.
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "untouched").expect("write");
    let planted = path.with_file_name(format!(".router.yaml.{}.tmp", std::process::id()));
    std::os::unix::fs::symlink(&victim, &planted).expect("symlink");
    let live = live(&path);
    live.set_source_enabled("ubiops-audit", true)
        .await
        .expect("toggled");
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "untouched");
    assert!(
        std::fs::symlink_metadata(&planted)
            .expect("still there")
            .file_type()
            .is_symlink()
    );
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        std::fs::read_to_string(&path)
            .expect("read")
            .contains("enabled: true")
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_toggle_of_a_linked_router_yaml_says_so_and_keeps_the_link() {
    // As Kubernetes mounts a ConfigMap: router.yaml -> ..data/router.yaml.
    let (dir, real) = shipped();
    let data = dir.path().join("..data");
    std::fs::create_dir(&data).expect("folder");
    std::fs::rename(&real, data.join("router.yaml")).expect("move");
    std::os::unix::fs::symlink("..data/router.yaml", &real).expect("symlink");
    let live = live(&real);
    let error = live
        .set_source_enabled("ubiops-audit", true)
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("is a symbolic link"), "{error}");
    assert!(
        std::fs::symlink_metadata(&real)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    let text = std::fs::read_to_string(data.join("router.yaml")).expect("read");
    assert!(
        !text.contains("enabled: true"),
        "the linked file is unchanged"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_toggle_whose_file_cannot_be_written_is_no_configuration_problem() {
    // A router.yaml that is a link (a mounted ConfigMap) is not written: a file problem.
    let (dir, path) = shipped();
    let data = dir.path().join("..data");
    std::fs::create_dir(&data).expect("folder");
    std::fs::rename(&path, data.join("router.yaml")).expect("move");
    std::os::unix::fs::symlink("..data/router.yaml", &path).expect("symlink");
    let metrics: &'static Metrics = Box::leak(Box::new(Metrics::new()));
    metrics.config_loaded(true);
    let live = live(&path).with_metrics(metrics);
    let error = live
        .set_source_enabled("ubiops-audit", true)
        .await
        .expect_err("cannot write");
    assert!(matches!(error, ReloadError::File(_)), "{error}");
    assert_eq!(
        metrics.config_last_reload_successful.get(),
        1,
        "a file that cannot be written leaves config_last_reload_successful as it was"
    );
    assert!(!live.config().table.sources()[2].enabled);
    // A configuration that is at fault does drop it.
    std::fs::write(data.join("router.yaml"), "kafka: [not a map\n").expect("write");
    live.reload("test").await.expect_err("invalid");
    assert_eq!(metrics.config_last_reload_successful.get(), 0);
    assert!(
        ReloadError::Unusable(crate::channels::TargetError::NobodyToTest("tls".into()))
            .is_configuration_problem()
    );
}
