//! The router's binary run as processes of their own: the broker and the router, so that the
//! router can be killed (SIGKILL) or stopped (SIGTERM) while the broker keeps its data; and the
//! binary's other commands, run as a user runs them. Each takes the binary's path, which only
//! the router's own tests know (`env!("CARGO_BIN_EXE_notification-router")`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::receiver::Receiver;
use crate::router::{DEAD_LETTER_TOPIC, DIGEST_TOPIC, RETRY_TOPIC};

/// `notification-router broker` with the sources' topics, the dead-letter and retry topics.
pub struct BrokerProcess {
    child: Child,
    brokers: String,
    _stdout: BufReader<ChildStdout>,
}

impl BrokerProcess {
    pub fn start(bin: &str, topics: &[&str]) -> Self {
        let mut command = Command::new(bin);
        command.arg("broker");
        for topic in topics {
            command.args(["--topic", &format!("{topic}:3")]);
        }
        command
            .args(["--topic", &format!("{DEAD_LETTER_TOPIC}:1")])
            .args(["--topic", &format!("{RETRY_TOPIC}:3")])
            .args(["--topic", &format!("{DIGEST_TOPIC}:3")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().expect("the broker starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the broker prints");
        let brokers = line
            .trim()
            .strip_prefix("bootstrap.servers=")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self {
            child,
            brokers,
            _stdout: stdout,
        }
    }

    pub fn brokers(&self) -> &str {
        &self.brokers
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `notification-router run` on a config file; its logs go to a file next to it.
pub struct RouterProcess {
    child: Child,
    pub log: PathBuf,
}

impl RouterProcess {
    pub fn start(bin: &str, config: &Path, name: &str) -> Self {
        let level = std::env::var("TEST_LOG").unwrap_or_else(|_| "info".into());
        Self::start_logging(bin, config, name, &level)
    }

    /// Like [`start`](Self::start), logging at `level` (a `RUST_LOG` filter).
    pub fn start_logging(bin: &str, config: &Path, name: &str, level: &str) -> Self {
        let log = config.with_file_name(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(bin)
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", level)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("the router starts");
        Self { child, log }
    }

    /// Sends a signal by name (`HUP`, ...).
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{name}");
    }

    /// SIGKILL: no drain, no commit.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Its exit status, if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("wait")
    }

    /// SIGTERM, then waits for the exit (failing the test after `limit`).
    pub async fn terminate(mut self, limit: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the router did not exit within {limit:?} of SIGTERM; log: {}",
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Runs `notification-router ARGS --config CONFIG`; it must succeed. Returns its stdout.
pub async fn command(bin: &str, args: &[&str], config: &Path) -> String {
    let output = tokio::process::Command::new(bin)
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .await
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Replays what the dead-letter topic holds for destination `hook` (`events` deliveries, as the
/// command must report) and collects what `receiver` then gets: event id → `webhook-id`.
pub async fn replay_hook(
    bin: &str,
    config: &Path,
    receiver: &mut Receiver,
    events: usize,
) -> BTreeMap<String, String> {
    let replayed = command(
        bin,
        &["dead-letters", "replay", "--destination", "hook"],
        config,
    )
    .await;
    assert!(
        replayed.contains(&format!(
            "{events} matched; {events} replayed to {RETRY_TOPIC}"
        )),
        "{replayed}"
    );
    let mut arrived = BTreeMap::new();
    while arrived.len() < events {
        let r = receiver.next().await;
        assert_eq!(r.status, 200, "a replayed delivery is accepted");
        let webhook_id = r.header("webhook-id").expect("a webhook-id").to_owned();
        arrived.insert(r.event_id(), webhook_id);
    }
    arrived
}

impl Drop for RouterProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test shows the end of the log (the file goes with the test's temp folder).
        if std::thread::panicking() {
            eprintln!(
                "--- last lines of {}:\n{}",
                self.log.display(),
                log_tail(&self.log, 40)
            );
        }
    }
}

/// The last `n` lines of the log at `path` (nothing when it cannot be read).
pub fn log_tail(path: &Path, n: usize) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
