//! What starts a reload besides the admin API: SIGHUP, and a change to `router.yaml` or to a
//! file under the topics or templates folder (debounced: one reload for a burst of writes).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::ModifyKind;
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Live;

/// How long the files must stay unchanged before a change is reloaded.
pub(super) const DEBOUNCE: Duration = Duration::from_millis(500);

/// Reloads `live` on SIGHUP and on file changes until `shutdown`.
pub(crate) fn spawn_triggers(live: Arc<Live>, shutdown: CancellationToken) {
    #[cfg(unix)]
    tokio::spawn(on_hangup(live.clone(), shutdown.clone()));
    tokio::spawn(on_file_change(live, shutdown));
}

#[cfg(unix)]
async fn on_hangup(live: Arc<Live>, shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(hangup) => hangup,
        Err(error) => {
            warn!(message = "Cannot listen for SIGHUP; reload through the admin API or by editing the files.", %error);
            return;
        }
    };
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            received = hangup.recv() => if received.is_none() { return },
        }
        info!(message = "SIGHUP received: reloading the configuration.");
        let _ = live.reload("SIGHUP").await;
    }
}

/// The files a reload reads, as the file watcher sees them.
#[derive(Clone)]
struct Watched {
    router: PathBuf,
    /// `router.yaml`'s folder; Kubernetes swaps a mounted ConfigMap through `..data` there.
    base: PathBuf,
    folders: Vec<PathBuf>,
}

impl Watched {
    fn of(path: &Path, topics_dir: &Path, templates_dir: &Path) -> std::io::Result<Self> {
        let base = path.parent().filter(|p| !p.as_os_str().is_empty());
        let base = std::fs::canonicalize(base.unwrap_or(Path::new(".")))?;
        let name = path.file_name().unwrap_or_default();
        let folders = [topics_dir, templates_dir]
            .iter()
            .filter_map(|dir| std::fs::canonicalize(base.join(dir)).ok())
            .collect();
        Ok(Self {
            router: base.join(name),
            base,
            folders,
        })
    }

    /// Whether a change of `path` may change the configuration.
    fn concerns(&self, path: &Path) -> bool {
        path == self.router
            || self.folders.iter().any(|folder| path.starts_with(folder))
            || (path.parent() == Some(self.base.as_path())
                && path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("..data")))
    }
}

async fn on_file_change(live: Arc<Live>, shutdown: CancellationToken) {
    let config = live.config();
    let watched = match Watched::of(
        &config.path,
        &config.router.topics_dir,
        &config.router.templates_dir,
    ) {
        Ok(watched) => watched,
        Err(error) => {
            warn!(message = "Cannot watch the configuration files; reload with SIGHUP or the admin API.", %error);
            return;
        }
    };
    // Only what changes a file's content or name: a reload opens and reads the files, and
    // reacting to those reads would reload forever. Only the configuration's own files: a log
    // file written beside router.yaml changes with every line, and must neither start a reload
    // nor keep one waiting.
    let (changes_tx, mut changes) = mpsc::unbounded_channel::<Result<PathBuf, notify::Error>>();
    let filter = watched.clone();
    let watcher =
        notify::recommended_watcher(move |result: notify::Result<notify::Event>| match result {
            Ok(event) if changes_content(&event.kind) => {
                for path in event.paths {
                    if filter.concerns(&path) {
                        let _ = changes_tx.send(Ok(path));
                    }
                }
            }
            Ok(_) => {}
            Err(error) => {
                let _ = changes_tx.send(Err(error));
            }
        });
    let mut watcher = match watcher {
        Ok(watcher) => watcher,
        Err(error) => {
            warn!(message = "Cannot watch the configuration files; reload with SIGHUP or the admin API.", %error);
            return;
        }
    };
    let mut folders = vec![(watched.base.clone(), RecursiveMode::NonRecursive)];
    folders.extend(
        watched
            .folders
            .iter()
            .filter(|f| **f != watched.base)
            .map(|f| (f.clone(), RecursiveMode::Recursive)),
    );
    for (folder, mode) in &folders {
        if let Err(error) = watcher.watch(folder, *mode) {
            warn!(message = "Cannot watch a configuration folder; reload with SIGHUP or the admin API.", folder = %folder.display(), %error);
        }
    }
    loop {
        let change = tokio::select! {
            () = shutdown.cancelled() => return,
            change = changes.recv() => match change {
                Some(change) => change,
                None => return,
            },
        };
        match change {
            Ok(path) if watched.concerns(&path) => {
                // Debounce: wait until the files have been quiet for DEBOUNCE.
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(DEBOUNCE) => break,
                        more = changes.recv() => if more.is_none() { return },
                    }
                }
                info!(message = "Configuration files changed: reloading.");
                let _ = live.reload("file change").await;
            }
            Ok(_) => {}
            Err(error) => warn!(message = "File watch error.", %error),
        }
    }
}

/// Whether an event changes what a file holds or what it is called (not a read, not an access
/// time or a permission).
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) | EventKind::Any => true,
        EventKind::Modify(modify) => !matches!(modify, ModifyKind::Metadata(_)),
        EventKind::Access(_) | EventKind::Other => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_metadata_are_not_changes() {
        use notify::event::{
            AccessKind, AccessMode, CreateKind, DataChange, MetadataKind, RenameMode,
        };
        assert!(!changes_content(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!changes_content(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(!changes_content(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::AccessTime
        ))));
        assert!(changes_content(&EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(changes_content(&EventKind::Modify(ModifyKind::Name(
            RenameMode::To
        ))));
        assert!(changes_content(&EventKind::Create(CreateKind::File)));
    }

    #[test]
    fn only_the_files_a_reload_reads_concern_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        for folder in ["topics", "templates/webhook"] {
            std::fs::create_dir_all(dir.path().join(folder)).expect("folder");
        }
        let watched = Watched::of(
            &dir.path().join("router.yaml"),
            Path::new("topics"),
            Path::new("templates"),
        )
        .expect("watched");
        let base = std::fs::canonicalize(dir.path()).expect("canonical");
        for (path, concerns) in [
            ("router.yaml", true),
            ("topics/a.yaml", true),
            ("templates/webhook/a.json.hbs", true),
            ("..data", true),
            ("..2026_11_21_09_00_00.123", false),
            ("router.log", false),
            (".router.yaml.42.tmp", false),
            ("router.yaml.bak", false),
        ] {
            assert_eq!(watched.concerns(&base.join(path)), concerns, "{path}");
        }
    }
}
