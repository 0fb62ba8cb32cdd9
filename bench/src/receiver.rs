//! The load run's webhook receiver: answers 200 at once and records, per delivery, the time from
//! the notification's `time` (the event timestamp) to its arrival, and whether it was signed
//! (it carries `webhook-signature`; the signature is not checked).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};

/// What arrived since the last [`Receiver::reset`].
#[derive(Debug, Default)]
struct Arrivals {
    first: Option<Instant>,
    last: Option<Instant>,
    /// Microseconds from event timestamp to arrival, per delivery that carried one.
    latencies_us: Vec<u64>,
}

/// A receiver listening on a loopback port; cheap to clone.
#[derive(Debug, Clone)]
pub struct Receiver {
    address: SocketAddr,
    count: Arc<AtomicU64>,
    signed: Arc<AtomicU64>,
    arrivals: Arc<Mutex<Arrivals>>,
}

/// The deliveries of one run, as the receiver saw them.
#[derive(Debug, Clone)]
pub struct Received {
    pub count: u64,
    /// Deliveries that carried `webhook-signature`.
    pub signed: u64,
    /// Seconds from the first to the last arrival.
    pub window: f64,
    /// Sorted ascending.
    pub latencies_us: Vec<u64>,
}

impl Receiver {
    /// Starts serving on `127.0.0.1:0` in the current runtime.
    pub async fn start() -> anyhow::Result<Receiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let receiver = Receiver {
            address: listener.local_addr()?,
            count: Arc::default(),
            signed: Arc::default(),
            arrivals: Arc::default(),
        };
        let app = Router::new().fallback(arrive).with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(receiver)
    }

    /// The URL deliveries go to.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Forgets every arrival so far.
    pub fn reset(&self) {
        let mut arrivals = self.arrivals.lock().expect("no panic holds the lock");
        *arrivals = Arrivals::default();
        self.count.store(0, Ordering::Relaxed);
        self.signed.store(0, Ordering::Relaxed);
    }

    /// What arrived since the last reset.
    pub fn received(&self) -> Received {
        let arrivals = self.arrivals.lock().expect("no panic holds the lock");
        let mut latencies_us = arrivals.latencies_us.clone();
        latencies_us.sort_unstable();
        let window = match (arrivals.first, arrivals.last) {
            (Some(first), Some(last)) => last.duration_since(first).as_secs_f64(),
            _ => 0.0,
        };
        Received {
            count: self.count(),
            signed: self.signed.load(Ordering::Relaxed),
            window,
            latencies_us,
        }
    }
}

impl Received {
    /// The `p`th percentile (0–100) of the latencies, in ms.
    pub fn latency_ms(&self, p: usize) -> f64 {
        percentile(&self.latencies_us, p) as f64 / 1000.0
    }

    /// The longest latency, in ms.
    pub fn max_latency_ms(&self) -> f64 {
        self.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0
    }
}

async fn arrive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let now = Instant::now();
    let latency = event_time(&body).and_then(|time| {
        let elapsed = Utc::now().signed_duration_since(time);
        u64::try_from(elapsed.num_microseconds()?).ok()
    });
    {
        let mut arrivals = receiver.arrivals.lock().expect("no panic holds the lock");
        arrivals.first.get_or_insert(now);
        arrivals.last = Some(now);
        arrivals.latencies_us.extend(latency);
    }
    if headers.contains_key("webhook-signature") {
        receiver.signed.fetch_add(1, Ordering::Relaxed);
    }
    receiver.count.fetch_add(1, Ordering::Relaxed);
    StatusCode::OK
}

/// The notification's `"time"` member, or the event's own `"timestamp"` (which the bare
/// pipeline posts as it is), found without parsing the whole body.
fn event_time(body: &[u8]) -> Option<DateTime<Utc>> {
    let after = |key: &[u8]| Some(body.windows(key.len()).position(|w| w == key)? + key.len());
    let at = after(b"\"time\":\"").or_else(|| after(b"\"timestamp\":\""))?;
    let len = body[at..].iter().position(|&b| b == b'"')?;
    let text = std::str::from_utf8(&body[at..at + len]).ok()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The `p`th percentile (0–100) of sorted values; 0 when there are none.
pub fn percentile(sorted: &[u64], p: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_event_time_in_a_notification_body() {
        let body = br#"{"specversion":"1.0","time":"2026-01-02T03:04:05.123456Z","type":"x"}"#;
        let time = event_time(body).expect("a time");
        assert_eq!(time.timestamp_subsec_micros(), 123_456);
        let event = br#"{"event_id":"e","timestamp":"2026-01-02T03:04:05.654321Z"}"#;
        let time = event_time(event).expect("a timestamp");
        assert_eq!(time.timestamp_subsec_micros(), 654_321);
        assert_eq!(event_time(b"{}"), None);
    }

    #[test]
    fn percentiles_of_sorted_values() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50), 51);
        assert_eq!(percentile(&values, 99), 100);
        assert_eq!(percentile(&[], 99), 0);
    }
}
