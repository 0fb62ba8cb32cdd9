//! The documentation's YAML examples are valid configuration: each fenced `yaml` block of
//! README.md and docs/*.md goes into a copy of the shipped configuration, which
//! `notification-router validate` must accept, without warnings.
//!
//! A block holds one document, or several separated by `---` lines. A document is a topic file
//! when it has `name` and `sources` or `subscriptions`: it replaces the shipped topic of the same
//! name, or is added. Any other is a `router.yaml` fragment: each top-level key replaces the
//! shipped section, except `sources` and `destinations`, whose entries replace the shipped entry
//! with the same `id` or are added. A block whose info string says `skip-check`
//! (```` ```yaml skip-check ````) is intentionally partial and is not checked.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::{Mapping, Value};

const BIN: &str = env!("CARGO_BIN_EXE_notification-router");

/// Fewer checked blocks than this means the extraction broke, not that the docs are fine.
const MIN_CHECKED: usize = 20;

/// Values for the variables of the shipped configuration and of the examples, always set: the
/// shipped destinations then point at public `https://` receivers, as an example's `http` section
/// may require. Any other `${VAR}` an example names gets `example`.
const VARIABLES: &[(&str, &str)] = &[
    ("KAFKA_BROKERS", "kafka-0.example.com:9093"),
    (
        "ROUTER_INTERNAL_KEY",
        "docs-example-internal-key-0123456789abcdef",
    ),
    ("PLATFORM_WEBHOOK_URL", "https://hooks.example.com/platform"),
    (
        "PLATFORM_WEBHOOK_SECRET",
        "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
    ),
    (
        "PLATFORM_WEBHOOK_SECRET_NEW",
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
    ),
    (
        "PLATFORM_WEBHOOK_SIGNING_KEY",
        "whsk_KCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkc=",
    ),
    ("SECURITY_WEBHOOK_URL", "https://hooks.example.com/security"),
    (
        "SLACK_WEBHOOK_URL",
        "https://hooks.slack.com/services/T000/B000/XXXX",
    ),
    ("HTTP_PROXY_URL", "http://proxy.example.com:3128"),
    (
        "TEAMS_WORKFLOW_URL",
        "https://prod-00.westeurope.logic.azure.com/workflows/0/triggers/manual/paths/invoke?sig=x",
    ),
];

/// One fenced block: where it starts and what it holds.
struct Block {
    file: PathBuf,
    /// The line of its opening fence, counting from 1.
    line: usize,
    text: String,
    skipped: bool,
}

#[test]
fn every_yaml_example_in_the_docs_is_valid_configuration() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    files.extend(markdown_files(&root.join("docs")));
    let blocks: Vec<Block> = files.iter().flat_map(|f| yaml_blocks(f)).collect();

    let mut failures = Vec::new();
    let (mut checked, mut skipped) = (0, 0);
    for block in &blocks {
        if block.skipped {
            skipped += 1;
            continue;
        }
        checked += 1;
        if let Err(why) = check(root, block) {
            let file = block.file.strip_prefix(root).unwrap_or(&block.file);
            failures.push(format!(
                "{}:{}: {why}\n--- the block:\n{}",
                file.display(),
                block.line,
                block.text
            ));
        }
    }
    println!(
        "checked {checked} YAML blocks in {} files ({skipped} marked skip-check)",
        files.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        checked >= MIN_CHECKED,
        "only {checked} YAML blocks found; expected at least {MIN_CHECKED}"
    );
}

/// The `*.md` files under `dir`, sorted.
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("docs/ exists") {
        let path = entry.expect("a readable entry").path();
        if path.is_dir() {
            files.extend(markdown_files(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The fenced `yaml` (or `yml`) blocks of a Markdown file, indented ones included.
fn yaml_blocks(file: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(file).expect("a readable Markdown file");
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let trimmed = line.trim_start();
        let Some(info) = trimmed.strip_prefix("```") else {
            continue;
        };
        let indent = line.len() - trimmed.len();
        let mut body = Vec::new();
        for (_, inner) in lines.by_ref() {
            if inner.trim() == "```" {
                break;
            }
            body.push(inner.get(indent..).unwrap_or(inner.trim_start()));
        }
        let mut words = info.split_whitespace();
        if matches!(words.next(), Some("yaml" | "yml")) {
            blocks.push(Block {
                file: file.to_owned(),
                line: n + 1,
                text: body.join("\n") + "\n",
                skipped: words.any(|w| w == "skip-check"),
            });
        }
    }
    blocks
}

/// Puts the block into a copy of the shipped configuration and validates it.
fn check(root: &Path, block: &Block) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let topics = dir.path().join("topics");
    copy_folder(&root.join("topics"), &topics);
    copy_folder(&root.join("templates"), &dir.path().join("templates"));
    let shipped = std::fs::read_to_string(root.join("router.yaml")).expect("router.yaml");
    let mut router: Value = serde_yaml_ng::from_str(&shipped).expect("router.yaml is YAML");
    for (n, document) in documents(&block.text).into_iter().enumerate() {
        let example: Value =
            serde_yaml_ng::from_str(&document).map_err(|e| format!("not YAML: {e}"))?;
        let Value::Mapping(example) = example else {
            return Err("not a mapping: mark it ```yaml skip-check if it is a fragment".into());
        };
        if is_topic(&example) {
            let name = example.get("name").and_then(Value::as_str).unwrap_or("");
            remove_topic(&topics, name);
            std::fs::write(topics.join(format!("example-{n}.yaml")), &document)
                .expect("write the topic");
        } else {
            merge(&mut router, example);
        }
    }
    let config = dir.path().join("router.yaml");
    let text = serde_yaml_ng::to_string(&router).expect("YAML out");
    std::fs::write(&config, text).expect("write router.yaml");

    let mut command = Command::new(BIN);
    command
        .env_clear()
        .arg("--config")
        .arg(&config)
        .arg("validate");
    command.envs(VARIABLES.iter().copied());
    for name in variables(&block.text) {
        if !VARIABLES.iter().any(|(known, _)| *known == name) {
            command.env(name, "example");
        }
    }
    let output = command.output().expect("the binary runs");
    // Paths relative to the copy read as they would in the checkout.
    let copy = format!("{}/", dir.path().display());
    let stderr = String::from_utf8_lossy(&output.stderr).replace(&copy, "");
    if !output.status.success() || stderr.contains("warning:") {
        return Err(format!(
            "validate {}:\n{}{stderr}",
            if output.status.success() {
                "warned"
            } else {
                "failed"
            },
            String::from_utf8_lossy(&output.stdout)
        ));
    }
    Ok(())
}

/// The documents of a block: one, or several separated by `---` lines (a `router.yaml` fragment
/// and the topic that uses it).
fn documents(text: &str) -> Vec<String> {
    let mut documents = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" {
            documents.push(String::new());
        } else {
            let last = documents.last_mut().expect("at least one");
            last.push_str(line);
            last.push('\n');
        }
    }
    documents.retain(|d| !d.trim().is_empty());
    documents
}

/// A topic file names itself and lists sources or subscriptions; router.yaml has no `name`.
fn is_topic(example: &Mapping) -> bool {
    example.contains_key("name")
        && (example.contains_key("sources") || example.contains_key("subscriptions"))
}

/// Each top-level key of `fragment` replaces the shipped one; `sources` and `destinations` are
/// merged by `id`.
fn merge(router: &mut Value, fragment: Mapping) {
    let router = router.as_mapping_mut().expect("router.yaml is a mapping");
    for (key, value) in fragment {
        let by_id = matches!(key.as_str(), Some("sources" | "destinations"));
        match (router.get_mut(&key), value) {
            (Some(Value::Sequence(entries)), Value::Sequence(added)) if by_id => {
                for entry in added {
                    let id = entry.get("id").cloned();
                    match entries
                        .iter_mut()
                        .find(|e| id.is_some() && e.get("id") == id.as_ref())
                    {
                        Some(existing) => *existing = entry,
                        None => entries.push(entry),
                    }
                }
            }
            (_, value) => {
                router.insert(key, value);
            }
        }
    }
}

/// Removes the shipped topic file whose `name` is `name`, so an example can take its place.
fn remove_topic(topics: &Path, name: &str) {
    for entry in std::fs::read_dir(topics).expect("topics/") {
        let path = entry.expect("an entry").path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let topic: Value = serde_yaml_ng::from_str(&text).unwrap_or(Value::Null);
        if topic.get("name").and_then(Value::as_str) == Some(name) {
            std::fs::remove_file(&path).expect("remove a shipped topic");
        }
    }
}

/// The variables a text names as `${NAME}`, without a default (`${NAME:-default}` is checked
/// with its default).
fn variables(text: &str) -> BTreeSet<&str> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .filter(|name| !name.is_empty() && !name.contains(':'))
        .collect()
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a folder");
    for entry in std::fs::read_dir(from).expect("a readable folder") {
        let path = entry.expect("an entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            copy_folder(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy a file");
        }
    }
}
