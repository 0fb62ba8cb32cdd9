//! Readiness (`/readyz`): the control topic is read up to where it ended at start and the old
//! silences topic taken over (or given up), the consumer has subscribed to the enabled sources'
//! topics (or found none to consume), and a Kafka broker can be reached.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::kafka::KafkaHealth;

/// What `/readyz` answers from.
#[derive(Default)]
pub struct Readiness {
    /// Set once the consumer has subscribed.
    pub consuming: Arc<AtomicBool>,
    /// Whether the brokers can be reached; none when no consumer reports it (tests).
    pub kafka: Option<Arc<KafkaHealth>>,
    /// Set once the control topic has been read up to where it ended at start and the old
    /// silences topic taken over; none without one (tests).
    pub control: Option<Arc<AtomicBool>>,
    /// Set while the old silences topic is being taken over (the control topic is read).
    pub takeover: Option<Arc<AtomicBool>>,
}

impl Readiness {
    /// Ready, or why not.
    pub fn check(&self) -> Result<(), &'static str> {
        if let Some(control) = &self.control
            && !control.load(Ordering::Acquire)
        {
            let taking_over = self
                .takeover
                .as_ref()
                .is_some_and(|t| t.load(Ordering::Acquire));
            return Err(if taking_over {
                "the silences of the old silences topic are being taken over into the control topic"
            } else {
                "the control topic is not read up to its end yet"
            });
        }
        if !self.consuming.load(Ordering::Acquire) {
            return Err("not consuming yet");
        }
        match &self.kafka {
            Some(kafka) if !kafka.connected() => Err("no Kafka broker can be reached"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::metrics::Metrics;

    #[test]
    fn ready_once_read_taken_over_and_consuming_and_only_while_a_broker_is_reachable() {
        let metrics: &'static Metrics = Box::leak(Box::new(Metrics::new()));
        let kafka = Arc::new(KafkaHealth::new("127.0.0.1:9", metrics));
        let readiness = Readiness {
            consuming: Arc::default(),
            kafka: Some(kafka.clone()),
            control: Some(Arc::default()),
            takeover: Some(Arc::default()),
        };
        assert_eq!(
            readiness.check(),
            Err("the control topic is not read up to its end yet")
        );
        if let Some(takeover) = &readiness.takeover {
            takeover.store(true, Ordering::Release);
        }
        assert_eq!(
            readiness.check(),
            Err(
                "the silences of the old silences topic are being taken over into the control topic"
            )
        );
        if let Some(control) = &readiness.control {
            control.store(true, Ordering::Release);
        }
        assert_eq!(readiness.check(), Err("not consuming yet"));
        readiness.consuming.store(true, Ordering::Release);
        assert_eq!(readiness.check(), Err("no Kafka broker can be reached"));
        kafka.record_read("sources");
        assert_eq!(readiness.check(), Ok(()));
    }
}
