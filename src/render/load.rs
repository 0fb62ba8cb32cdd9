//! Finds, reads and compiles the `*.hbs` files of one channel folder, collecting every problem.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use handlebars::template::Template;

use super::TemplateError;
use super::check::{self, PartialUse};

/// The largest template file accepted.
pub const MAX_TEMPLATE_BYTES: u64 = 64 * 1024;

/// One compiled template file.
#[derive(Debug)]
pub(super) struct Loaded {
    /// The path relative to the templates directory, with `/` separators.
    pub name: String,
    pub path: PathBuf,
    pub template: Template,
    /// The partials it includes.
    pub partials: Vec<PartialUse>,
    /// The lines where it writes a value unescaped (`{{{value}}}`).
    pub raw_outputs: Vec<Option<usize>>,
}

/// Compiles every `*.hbs` under `dir/<folder>/`, named by its path relative to `dir` with `/`
/// separators, in name order. A missing folder holds no templates.
///
/// Entries whose name starts with `.` are skipped and symbolic links to directories are not
/// followed (Kubernetes ConfigMap mounts keep a second copy of every file under `..data/`);
/// symbolic links to files are read when the file they lead to lies inside `dir`, and refused
/// otherwise: a topic owner's `x.text.hbs -> /proc/self/environ` would print the router's
/// environment.
pub(super) fn load_folder(
    dir: &Path,
    folder: &str,
    errors: &mut Vec<TemplateError>,
) -> Vec<Loaded> {
    let mut files = Vec::new();
    collect(&dir.join(folder), &mut files, errors);
    files.sort();
    if files.is_empty() {
        return Vec::new();
    }
    let root = match fs::canonicalize(dir) {
        Ok(root) => root,
        Err(e) => {
            errors.push(io_error(dir, "cannot resolve the templates folder", &e));
            return Vec::new();
        }
    };
    let mut loaded = Vec::new();
    for path in files {
        match load_file(dir, &root, &path) {
            Ok(template) => loaded.push(template),
            Err(mut problems) => errors.append(&mut problems),
        }
    }
    loaded
}

fn collect(folder: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<TemplateError>) {
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => return errors.push(io_error(folder, "cannot list directory", &e)),
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                errors.push(io_error(folder, "cannot list directory", &e));
                continue;
            }
        };
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => collect(&path, files, errors),
            Ok(_) if path.extension().is_some_and(|ext| ext == "hbs") => {
                // Follows a symbolic link, so a link to a directory named `*.hbs` is skipped.
                if fs::metadata(&path).is_ok_and(|meta| meta.is_file()) {
                    files.push(path);
                }
            }
            Ok(_) => {}
            Err(e) => errors.push(io_error(&path, "cannot read file type", &e)),
        }
    }
}

fn load_file(dir: &Path, root: &Path, path: &Path) -> Result<Loaded, Vec<TemplateError>> {
    let fail = |line: Option<usize>, message: String| TemplateError {
        path: path.to_owned(),
        line,
        message,
    };
    let name = template_name(dir, path)
        .ok_or_else(|| vec![fail(None, "the path is not valid UTF-8".to_owned())])?;
    let real = inside(root, path).map_err(|why| vec![fail(None, why.to_string())])?;
    let source = read_limited(&real).map_err(|why| vec![fail(None, why.to_string())])?;
    let template = Template::compile_with_name(&source, name.clone()).map_err(|e| {
        let (line, message) = match e.pos() {
            Some((line, column)) => (Some(line), format!("column {column}: {}", e.reason())),
            None => (None, e.reason().to_string()),
        };
        vec![fail(line, message)]
    })?;
    let inspection = check::inspect(&template);
    if inspection.problems.is_empty() {
        Ok(Loaded {
            name,
            path: path.to_owned(),
            template,
            partials: inspection.partials,
            raw_outputs: inspection.raw_outputs,
        })
    } else {
        Err(inspection
            .problems
            .into_iter()
            .map(|p| fail(p.line, p.message))
            .collect())
    }
}

/// Why a template file cannot be read: it leads out of its folder, or cannot be read whole as
/// UTF-8 within [`MAX_TEMPLATE_BYTES`].
#[derive(Debug, thiserror::Error)]
pub(super) enum FileError {
    #[error("cannot resolve: {0}")]
    Resolve(io::Error),
    #[error(
        "leads to {}, outside the folder {}: a file here must lie inside it (a symbolic \
         link may point only within the folder)",
        real.display(),
        root.display()
    )]
    Outside { real: PathBuf, root: PathBuf },
    #[error("cannot open: {0}")]
    Open(io::Error),
    #[error("cannot read: {0}")]
    Read(io::Error),
    #[error("template is larger than {MAX_TEMPLATE_BYTES} bytes (64 KiB)")]
    TooLarge,
    #[error("not valid UTF-8: {0}")]
    NotUtf8(std::string::FromUtf8Error),
}

/// The real path of `path` (every symbolic link followed), when it lies inside `root`, the
/// real path of its folder; it is read from there, so a link changed meanwhile is not followed.
pub(super) fn inside(root: &Path, path: &Path) -> Result<PathBuf, FileError> {
    let real = fs::canonicalize(path).map_err(FileError::Resolve)?;
    if real.starts_with(root) {
        Ok(real)
    } else {
        Err(FileError::Outside {
            real,
            root: root.to_owned(),
        })
    }
}

/// `webhook/a/b.json.hbs` for `<dir>/webhook/a/b.json.hbs`, whatever the platform's separator.
fn template_name(dir: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(dir).ok()?;
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect();
    Some(parts?.join("/"))
}

/// The file as UTF-8, refusing files over [`MAX_TEMPLATE_BYTES`] without reading them whole.
fn read_limited(path: &Path) -> Result<String, FileError> {
    let file = fs::File::open(path).map_err(FileError::Open)?;
    let mut bytes = Vec::new();
    file.take(MAX_TEMPLATE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(FileError::Read)?;
    if bytes.len() as u64 > MAX_TEMPLATE_BYTES {
        return Err(FileError::TooLarge);
    }
    String::from_utf8(bytes).map_err(FileError::NotUtf8)
}

fn io_error(path: &Path, what: &str, error: &io::Error) -> TemplateError {
    TemplateError {
        path: path.to_owned(),
        line: None,
        message: format!("{what}: {error}"),
    }
}
