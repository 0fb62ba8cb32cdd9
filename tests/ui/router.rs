//! The router under test: `notification-router run` on its embedded broker (as a first run
//! starts it), with the admin server on a free port and an admin token; the broker's address
//! read from what it prints.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use testkit::receiver::free_port;

/// The router's binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_notification-router");
/// The admin token of the router under test.
pub const TOKEN: &str = "console-test-token-0123456789";

/// A running router, killed when dropped.
pub struct Router {
    child: Child,
    /// Kept open: the router prints to it.
    _stdout: BufReader<ChildStdout>,
    /// The embedded broker's address.
    pub brokers: String,
    /// The admin server's base URL.
    pub admin: String,
}

/// The `admin:` lines: a free port and [`TOKEN`]; with the base URL they give.
pub fn admin_lines() -> (String, String) {
    let port = free_port();
    (
        format!("admin:\n  listen: 127.0.0.1:{port}\n  token: {TOKEN}\n"),
        format!("http://127.0.0.1:{port}"),
    )
}

impl Router {
    /// Starts the router on `config` (whose admin server is at `admin`); its log goes beside it.
    /// Returns once it is consuming (`/readyz` answers 200).
    pub async fn start(config: &Path, admin: String) -> Router {
        let log = std::fs::File::create(config.with_file_name("router.log")).unwrap();
        let mut child = Command::new(BIN)
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("the router starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let brokers = line
            .trim()
            .strip_prefix("Embedded Kafka broker listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = reqwest::get(format!("{admin}/readyz")).await
                && response.status() == 200
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the router never became ready; its log: {}",
                std::fs::read_to_string(config.with_file_name("router.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Router {
            child,
            _stdout: stdout,
            brokers,
            admin,
        }
    }

    /// The value of a metric line starting with `prefix` (`name{labels}`), 0 when absent.
    pub async fn metric(&self, prefix: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.admin))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
