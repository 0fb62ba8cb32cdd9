//! What most tests share: the testkit's receiver, Kafka helpers and router configuration, and the
//! router run in this process on a configuration written by [`Setup`].

use std::path::PathBuf;

use notification_router::{app, config};
use tokio_util::sync::CancellationToken;

pub use testkit::kafka::*;
pub use testkit::receiver::*;
pub use testkit::router::*;

/// The router's binary, for the testkit's process helpers.
pub const BIN: &str = env!("CARGO_BIN_EXE_notification-router");

/// A router running in this process on a config written to a temp folder.
pub struct RunningRouter {
    pub shutdown: CancellationToken,
    /// Its `router.yaml`, beside `topics/` and `templates/`.
    pub config: PathBuf,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

/// Starts a router in this process on a [`Setup`].
pub trait Start {
    /// Loads the config (it must be valid) and starts a router on it.
    /// Set `TEST_LOG=debug` (any filter) to see the router's logs.
    fn start(&self) -> RunningRouter;
}

impl Start for Setup<'_> {
    fn start(&self) -> RunningRouter {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
        let (dir, path) = self.write();
        let config = config::load(&path).unwrap_or_else(|e| panic!("test config invalid:\n{e}"));
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app::run(config, shutdown.clone()));
        RunningRouter {
            shutdown,
            config: path,
            handle,
            _dir: dir,
        }
    }
}

impl RunningRouter {
    /// Signals shutdown and waits for the drain and final commit.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.handle)
            .await
            .expect("router stops in time")
            .unwrap()
            .expect("router ran cleanly");
    }
}

/// The event ids of the next `n` deliveries to `receiver`, then of anything else delivered until
/// `router` has stopped, sorted.
pub async fn event_ids_through_stop(
    receiver: &mut Receiver,
    n: usize,
    router: RunningRouter,
) -> Vec<String> {
    let mut ids: Vec<String> = receiver
        .take(n)
        .await
        .iter()
        .map(Received::event_id)
        .collect();
    router.stop().await;
    ids.extend(receiver.drain().iter().map(Received::event_id));
    ids.sort();
    ids
}
