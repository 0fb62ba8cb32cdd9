//! The standalone Kafka-protocol broker: a `tansu` process with in-memory storage on a free
//! loopback port.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::receiver::free_port;

/// The `tansu` binary: `$TANSU`, which `scripts/tansu` prints (installing it if missing).
fn binary() -> PathBuf {
    match std::env::var_os("TANSU") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => panic!(
            "TANSU is not set: the end-to-end tests run against the tansu broker; run them with \
             `TANSU=$(scripts/tansu) cargo test --locked --test e2e` (scripts/tansu installs it \
             when missing), or use scripts/test"
        ),
    }
}

/// A tansu broker with the topics it was started with. Killed when dropped.
pub struct Tansu {
    child: Option<Child>,
    /// (name, partitions), created at every start.
    topics: Vec<(String, i32)>,
    port: u16,
    /// The port it tells clients to connect to, when not its own (a proxy in front of it).
    advertised: Option<u16>,
    /// Its output, for a failing test to point at.
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tansu {
    /// Starts tansu with `topics` (name, partitions).
    pub fn start(topics: &[(&str, i32)]) -> Self {
        let tansu = Self::launched(topics, None);
        tansu.create_topics();
        tansu
    }

    /// A broker with `topics` that tells clients to connect to `advertised` (a proxy in front of
    /// it); its topics are not created yet ([`create_topics`](Self::create_topics)).
    pub fn start_advertising(topics: &[(&str, i32)], advertised: u16) -> Self {
        Self::launched(topics, Some(advertised))
    }

    /// Its own listener, `host:port`.
    pub fn listener(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn launched(topics: &[(&str, i32)], advertised: Option<u16>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut tansu = Self {
            child: None,
            topics: topics.iter().map(|(t, p)| (t.to_string(), *p)).collect(),
            port: 0,
            advertised,
            log: dir.path().join("tansu.log"),
            _dir: dir,
        };
        // The port was free when chosen; another process may take it before tansu binds it: then
        // tansu exits, and another port is tried.
        for _ in 0..5 {
            tansu.port = free_port();
            if tansu.launch() {
                return tansu;
            }
        }
        panic!(
            "tansu did not start on any of 5 free ports; its log: {}",
            std::fs::read_to_string(&tansu.log).unwrap_or_default()
        );
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Starts the process on `self.port` and waits until it accepts connections: false if it
    /// exited first (the port was taken).
    fn launch(&mut self) -> bool {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("tansu log file");
        let advertised = match self.advertised {
            Some(port) => format!("tcp://127.0.0.1:{port}"),
            None => self.url(),
        };
        let mut child = Command::new(binary())
            .arg("broker")
            .args(["--listener-url", &self.url()])
            .args(["--advertised-listener-url", &advertised])
            .args(["--storage-engine", "memory://tansu/"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run tansu ({}): {e}", binary().display()));
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if child.try_wait().expect("wait").is_some() {
                return false;
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                // Listening; still ours if it has not exited on a bind error meanwhile.
                std::thread::sleep(Duration::from_millis(100));
                if child.try_wait().expect("wait").is_some() {
                    return false;
                }
                self.child = Some(child);
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {addr} within 30 s; its log: {}",
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Creates its topics (again, after a restart: storage is in memory).
    pub fn create_topics(&self) {
        for (topic, partitions) in &self.topics {
            let output = Command::new(binary())
                .args(["topic", "create", topic])
                .args(["--partitions", &partitions.to_string()])
                .args(["--broker", &self.url()])
                .output()
                .expect("tansu topic create runs");
            assert!(
                output.status.success(),
                "tansu topic create {topic}: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    /// Kills the broker: it loses everything (in-memory storage).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port, with its topics, empty.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stopped first");
        let deadline = Instant::now() + Duration::from_secs(30);
        // The port may be held a moment longer by the closing sockets.
        while !self.launch() {
            assert!(
                Instant::now() < deadline,
                "tansu did not start again on port {}; its log: {}",
                self.port,
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        self.create_topics();
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        self.stop();
    }
}
