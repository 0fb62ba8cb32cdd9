//! `POST /v1/impact`: what proposed topic files and templates would change in the deliveries of
//! the recent traffic, per subscription, before they are put in effect (token required). The
//! files are laid over a copy of the configuration's files on disk, loaded as a reload would, and
//! compared as the `impact` command does; the answer is that command's JSON report. `router.yaml`
//! itself cannot be proposed here: it names the environment variables and folders a load reads,
//! which are the operator's (use the `impact` command with a folder or a git revision). This
//! instance's runtime state (source overrides, pauses, disabled destinations, silences) is applied
//! to both sides. One preview runs at a time (the console's too).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::{AdminState, error, unavailable};
use crate::config::{self, Config};
use crate::impact::{self, DEFAULT_SINCE, ImpactError, Request, Runtime, TemporaryFolder, Window};

/// Records read per Kafka topic at most when the call does not say.
const DEFAULT_LAST: u64 = 100_000;

/// One preview at a time: each reads Kafka with a consumer of its own.
static RUNNING: Semaphore = Semaphore::const_new(1);

/// The right to run a preview, while no other runs.
pub(super) fn running() -> Option<SemaphorePermit<'static>> {
    RUNNING.try_acquire().ok()
}

/// This instance's runtime state, as its deliverer applies it now: the control topic as read
/// and the silences.
pub(super) fn runtime(state: &AdminState) -> Runtime {
    let control = state
        .control
        .as_ref()
        .map(|c| c.state().clone())
        .unwrap_or_default();
    let silences = state.silences().map(|desk| desk.silences.clone());
    Runtime::new(control, silences, chrono::Utc::now())
}

/// The body: proposed file contents by path (relative to the folder of `router.yaml`; `null`
/// removes a file), and the window of records to compare on.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Proposal {
    files: BTreeMap<String, Option<String>>,
    #[serde(default, with = "humantime_serde")]
    since: Option<Duration>,
    last: Option<u64>,
    source: Option<String>,
}

pub(super) async fn impact(State(state): State<Arc<AdminState>>, body: Bytes) -> Response {
    let proposal: Proposal = match serde_json::from_slice(&body) {
        Ok(proposal) => proposal,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!(
                    "the body must be {{\"files\": {{\"topics/x.yaml\": \"...\"}}, \"since\": \"24h\", \"last\": N, \"source\": ID}}: {e}"
                ),
            );
        }
    };
    let Some(brokers) = state.outlets.as_ref().map(|o| o.brokers.clone()) else {
        return unavailable("impact previews need the router's Kafka brokers");
    };
    let Some(_running) = running() else {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "another impact preview is running; try again when it has answered",
        );
    };
    let current = state.config();
    let runtime = runtime(&state);
    let answer =
        tokio::task::spawn_blocking(move || preview(&current, &runtime, &proposal, &brokers)).await;
    match answer {
        Ok(Ok(impact)) => Json(impact).into_response(),
        Ok(Err(PreviewError::Bad(message))) => {
            error(StatusCode::BAD_REQUEST, "bad_request", &message)
        }
        Ok(Err(PreviewError::Invalid(problems))) => {
            let errors: Vec<_> = problems
                .iter()
                .map(|p| json!({"code": "invalid_config", "message": p}))
                .collect();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"errors": errors, "status_code": 422})),
            )
                .into_response()
        }
        Ok(Err(PreviewError::Unavailable(message))) => unavailable(&message),
        Ok(Err(PreviewError::Internal(e))) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &format!("the preview failed: {e}"),
        ),
    }
}

/// Why a preview has no answer.
enum PreviewError {
    /// The body asks for something that cannot be (`400`).
    Bad(String),
    /// The proposed files are not a valid configuration: every problem (`422`).
    Invalid(Vec<String>),
    /// The brokers could not be read (`503`).
    Unavailable(String),
    /// The copy of the files could not be made (`500`).
    Internal(CopyError),
}

impl From<CopyError> for PreviewError {
    fn from(e: CopyError) -> Self {
        Self::Internal(e)
    }
}

/// A file of the configuration that could not be copied.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", path.display())]
struct CopyError {
    action: &'static str,
    path: PathBuf,
    source: std::io::Error,
}

impl CopyError {
    fn new(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// Lays the files over a copy of `current`'s, loads them, and measures.
fn preview(
    current: &Config,
    runtime: &Runtime,
    proposal: &Proposal,
    brokers: &str,
) -> Result<impact::Impact, PreviewError> {
    let folder = Folder::copy_of(current)?;
    for (name, text) in &proposal.files {
        let path = folder.place(current, name)?;
        let written = match text {
            Some(text) => path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&path, text)),
            None => std::fs::remove_file(&path),
        };
        written.map_err(|e| PreviewError::Bad(format!("{name}: {e}")))?;
    }
    let file_name = current.path.file_name().unwrap_or_default();
    let proposed = config::load(&folder.0.path().join(file_name)).map_err(|errors| {
        PreviewError::Invalid(errors.0.iter().map(ToString::to_string).collect())
    })?;
    let request = Request {
        current,
        proposed: &proposed,
        runtime,
        label: format!("{} proposed file(s)", proposal.files.len()),
        brokers,
        window: Window {
            since: proposal
                .since
                .or(proposal.last.is_none().then_some(DEFAULT_SINCE)),
            last: Some(proposal.last.unwrap_or(DEFAULT_LAST)),
        },
        source: proposal.source.as_deref(),
    };
    impact::measure(&request, |_, _| {}).map_err(|e| match e {
        ImpactError::NoSource(_) | ImpactError::NoRecords => PreviewError::Bad(e.to_string()),
        _ => PreviewError::Unavailable(e.to_string()),
    })
}

/// A temporary copy of the configuration's files: `router.yaml`, its topics and templates
/// folders. Removed when dropped.
struct Folder(TemporaryFolder);

impl Folder {
    fn copy_of(current: &Config) -> Result<Folder, PreviewError> {
        let base = current.path.parent().unwrap_or(Path::new("."));
        let base = base
            .canonicalize()
            .map_err(|e| CopyError::new("resolve", base, e))?;
        let folder = Folder(
            TemporaryFolder::new().map_err(|e| CopyError::new("make", Path::new("a folder"), e))?,
        );
        let file_name = current.path.file_name().unwrap_or_default();
        std::fs::copy(&current.path, folder.0.path().join(file_name))
            .map_err(|e| CopyError::new("copy", &current.path, e))?;
        for dir in [&current.router.topics_dir, &current.router.templates_dir] {
            if !is_plain_relative(dir) {
                return Err(PreviewError::Bad(format!(
                    "proposals need topics_dir and templates_dir relative to router.yaml (not {})",
                    dir.display()
                )));
            }
            copy_tree(&base, &base.join(dir), &folder.0.path().join(dir))?;
        }
        Ok(folder)
    }

    /// Where proposed file `name` goes: under the topics or templates folder, named by plain
    /// names only; anything else is refused.
    fn place(&self, current: &Config, name: &str) -> Result<PathBuf, PreviewError> {
        let path = Path::new(name);
        let allowed = is_plain_relative(path)
            && [&current.router.topics_dir, &current.router.templates_dir]
                .iter()
                .any(|dir| path.starts_with(dir) && path != dir.as_path());
        if !allowed {
            return Err(PreviewError::Bad(format!(
                "{name:?}: a proposed file is a file under {} or {} (router.yaml is the operator's: propose it with the impact command)",
                current.router.topics_dir.display(),
                current.router.templates_dir.display()
            )));
        }
        let target = self.0.path().join(path);
        // A link the copy kept would write outside it.
        if std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(PreviewError::Bad(format!("{name:?} is a link")));
        }
        Ok(target)
    }
}

/// A relative path of plain names only (no `..`, no root).
fn is_plain_relative(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// Copies the files under `from` to `to`: folders and regular files, and links that resolve
/// inside `base` (a Kubernetes ConfigMap mounts every file as one) as what they point at; links
/// out of `base` are left out, as loading would refuse them.
fn copy_tree(base: &Path, from: &Path, to: &Path) -> Result<(), CopyError> {
    std::fs::create_dir_all(to).map_err(|e| CopyError::new("make", to, e))?;
    let entries = match std::fs::read_dir(from) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(CopyError::new("read", from, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| CopyError::new("read", from, e))?;
        let path = entry.path();
        let Ok(real) = path.canonicalize() else {
            continue;
        };
        if !real.starts_with(base) {
            continue;
        }
        let target = to.join(entry.file_name());
        if real.is_dir() {
            copy_tree(base, &real, &target)?;
        } else if real.is_file() {
            std::fs::copy(&real, &target).map_err(|e| CopyError::new("copy", &path, e))?;
        }
    }
    Ok(())
}
