//! The embedded broker: librdkafka's in-process mock cluster, for a first run with no Kafka at hand.
//!
//! It speaks the Kafka protocol on a loopback port, so other processes (`notification-router
//! publish`, any Kafka client) can reach it; its data lives only as long as the process.

use std::sync::mpsc;
use std::thread::JoinHandle;

use rdkafka::mocking::MockCluster;

/// A running mock cluster; stopped when dropped.
#[derive(Debug)]
pub struct EmbeddedKafka {
    bootstrap: String,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EmbeddedKafka {
    /// Starts a one-broker cluster with the given topics (name, partitions).
    pub fn start(topics: &[(String, i32)]) -> anyhow::Result<Self> {
        let topics = topics.to_vec();
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        // The mock cluster is not `Send`: it lives on its own thread until told to stop.
        let thread = std::thread::Builder::new()
            .name("embedded-kafka".into())
            .spawn(move || {
                let cluster = match MockCluster::new(1) {
                    Ok(cluster) => cluster,
                    Err(error) => {
                        let _ = ready_tx.send(Err(anyhow::anyhow!(
                            "cannot start the embedded Kafka broker: {error}"
                        )));
                        return;
                    }
                };
                for (name, partitions) in &topics {
                    if let Err(error) = cluster.create_topic(name, *partitions, 1) {
                        let _ = ready_tx.send(Err(anyhow::anyhow!(
                            "cannot create topic {name} on the embedded broker: {error}"
                        )));
                        return;
                    }
                }
                let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                let _ = stop_rx.recv();
            })?;
        let bootstrap = ready_rx
            .recv()
            .map_err(|_| anyhow::anyhow!("the embedded Kafka broker thread ended"))??;
        Ok(Self {
            bootstrap,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The `bootstrap.servers` address of the broker.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }
}

impl Drop for EmbeddedKafka {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
