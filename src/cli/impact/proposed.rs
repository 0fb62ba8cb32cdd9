//! The proposed configuration: a folder laid out as the current one (its `router.yaml` beside
//! `topics/` and `templates/`), or a git revision of the repository the current one lives in.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::config::{self, Config};
use crate::impact::TemporaryFolder;

/// A proposed configuration, loaded; a revision's files are taken out into a temporary folder
/// that lives as long as this value.
pub(super) struct Proposed {
    pub config: Config,
    /// What it was loaded from, for the report.
    pub label: String,
    _checkout: Option<TemporaryFolder>,
}

/// Loads `from`: a folder (its file named as the current one), a `router.yaml` file, or a git
/// revision of the repository holding `current`.
pub(super) fn load(from: &str, current: &Path) -> anyhow::Result<Proposed> {
    let file_name = current
        .file_name()
        .context("the current configuration's path names no file")?;
    let path = Path::new(from);
    if path.is_dir() {
        return loaded(&path.join(file_name), from.to_owned(), None);
    }
    if path.is_file() {
        return loaded(path, from.to_owned(), None);
    }
    let checkout = checkout(from, current)?;
    let file = checkout
        .folder
        .path()
        .join(&checkout.relative)
        .join(file_name);
    loaded(&file, format!("git revision {from}"), Some(checkout))
}

fn loaded(path: &Path, label: String, checkout: Option<Checkout>) -> anyhow::Result<Proposed> {
    let config = config::load(path)
        .map_err(|errors| anyhow::anyhow!("the proposed configuration is not valid:\n{errors}"))?;
    Ok(Proposed {
        config,
        label,
        _checkout: checkout.map(|c| c.folder),
    })
}

/// A revision's copy of the configuration's folder.
struct Checkout {
    folder: TemporaryFolder,
    /// The configuration's folder relative to the repository's top.
    relative: PathBuf,
}

/// Takes the configuration's folder at `revision` out of git (`git archive | tar -x`).
fn checkout(revision: &str, current: &Path) -> anyhow::Result<Checkout> {
    let folder = current
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let folder = folder
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", folder.display()))?;
    let top = git(&folder, &["rev-parse", "--show-toplevel"]).with_context(|| {
        format!("{revision} is neither a folder, a file nor (outside a git repository) a revision")
    })?;
    let top = PathBuf::from(top.trim());
    let commit = git(
        &folder,
        &["rev-parse", "--verify", &format!("{revision}^{{commit}}")],
    )
    .with_context(|| format!("{revision} is neither a folder, a file nor a git revision"))?;
    let relative = folder
        .strip_prefix(top.canonicalize().unwrap_or(top.clone()))
        .unwrap_or(Path::new(""))
        .to_owned();
    let temporary = TemporaryFolder::new().context("cannot make a temporary folder")?;
    let mut archive = Command::new("git");
    archive
        .current_dir(&top)
        .args(["archive", "--format=tar", commit.trim()]);
    if !relative.as_os_str().is_empty() {
        archive.arg(&relative);
    }
    let tar = archive.output().context("cannot run git archive")?;
    if !tar.status.success() {
        bail!(
            "git archive {revision}: {}",
            String::from_utf8_lossy(&tar.stderr).trim()
        );
    }
    let mut untar = Command::new("tar")
        .args(["-x", "-C"])
        .arg(temporary.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .context("cannot run tar")?;
    if let Some(stdin) = untar.stdin.as_mut() {
        std::io::Write::write_all(stdin, &tar.stdout).context("cannot hand the archive to tar")?;
    }
    drop(untar.stdin.take());
    if !untar.wait().context("tar")?.success() {
        bail!("tar could not unpack revision {revision}");
    }
    Ok(Checkout {
        folder: temporary,
        relative,
    })
}

/// Runs git in `folder` and returns its output.
fn git(folder: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("git")
        .current_dir(folder)
        .args(args)
        .output()
        .context("cannot run git")?;
    if !output.status.success() {
        bail!("{}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
