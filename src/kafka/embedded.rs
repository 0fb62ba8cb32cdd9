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
    control: Option<mpsc::Sender<Control>>,
    thread: Option<JoinHandle<()>>,
}

/// What the cluster's thread is asked to do; dropping the sender stops it.
#[derive(Debug, Clone, Copy)]
enum Control {
    /// Disconnect every client and refuse connections (the data is kept).
    Down,
    Up,
}

/// Why the embedded broker did not start. Each message carries its cause's text, so no variant
/// reports that cause again as its `source`.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("cannot start the embedded Kafka broker: {0}")]
    Start(rdkafka::error::KafkaError),
    #[error("cannot create topic {name} on the embedded broker: {error}")]
    CreateTopic {
        name: String,
        error: rdkafka::error::KafkaError,
    },
    #[error("the embedded Kafka broker thread ended")]
    ThreadEnded,
    #[error(transparent)]
    Spawn(#[from] std::io::Error),
}

/// The id of the cluster's one broker.
const BROKER: i32 = 1;

impl EmbeddedKafka {
    /// Starts a one-broker cluster with the given topics (name, partitions).
    pub fn start(topics: &[(String, i32)]) -> Result<Self, EmbeddedError> {
        let topics = topics.to_vec();
        let (ready_tx, ready_rx) = mpsc::channel();
        let (control_tx, control_rx) = mpsc::channel::<Control>();
        // The mock cluster is not `Send`: it lives on its own thread until told to stop.
        let thread = std::thread::Builder::new()
            .name("embedded-kafka".into())
            .spawn(move || {
                let cluster = match MockCluster::new(1) {
                    Ok(cluster) => cluster,
                    Err(error) => {
                        let _ = ready_tx.send(Err(EmbeddedError::Start(error)));
                        return;
                    }
                };
                for (name, partitions) in &topics {
                    if let Err(error) = cluster.create_topic(name, *partitions, 1) {
                        let _ = ready_tx.send(Err(EmbeddedError::CreateTopic {
                            name: name.clone(),
                            error,
                        }));
                        return;
                    }
                }
                let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                while let Ok(control) = control_rx.recv() {
                    let done = match control {
                        Control::Down => cluster.broker_down(BROKER),
                        Control::Up => cluster.broker_up(BROKER),
                    };
                    if let Err(error) = done {
                        tracing::warn!(message = "Embedded broker control failed.", ?control, %error);
                    }
                }
            })?;
        let bootstrap = ready_rx.recv().map_err(|_| EmbeddedError::ThreadEnded)??;
        Ok(Self {
            bootstrap,
            control: Some(control_tx),
            thread: Some(thread),
        })
    }

    /// The `bootstrap.servers` address of the broker.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Takes the broker down: clients are disconnected and cannot connect; the data is kept.
    pub fn down(&self) {
        self.send(Control::Down);
    }

    /// Brings the broker back on the same address.
    pub fn up(&self) {
        self.send(Control::Up);
    }

    fn send(&self, control: Control) {
        if let Some(sender) = &self.control {
            let _ = sender.send(control);
        }
    }
}

impl Drop for EmbeddedKafka {
    fn drop(&mut self) {
        drop(self.control.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
