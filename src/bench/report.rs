//! The load run's output: one table for people, then one JSON object on the last line.

use serde::Serialize;

/// What the bare consumer and the bare HTTP client managed.
#[derive(Debug, Clone, Serialize)]
pub struct Ceilings {
    pub consumer_events_per_s: f64,
    pub http_requests_per_s: f64,
    pub http_requests: usize,
}

/// One router run, measured.
#[derive(Debug, Clone, Serialize)]
pub struct RowResult {
    pub topics: usize,
    pub fanout: usize,
    pub events: usize,
    /// Published at a steady rate while the router ran (else all published beforehand).
    pub steady: bool,
    /// Every expected delivery arrived before the time-out.
    pub complete: bool,
    pub deliveries: u64,
    /// Deliveries that arrived with a `webhook-signature` header.
    pub signed: u64,
    pub events_per_s: f64,
    pub deliveries_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub peak_rss_mib: f64,
    pub cpu_seconds: f64,
}

/// Everything the run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `tansu` or `mock`.
    pub broker: &'static str,
    /// How the router's destination signed.
    pub signing: super::load::Signing,
    /// The destination's `limits.concurrency`.
    pub concurrency: usize,
    pub events: usize,
    pub in_flight: usize,
    /// The consumers' `fetch.wait.max.ms`.
    pub fetch_wait_ms: u64,
    pub ceilings: Ceilings,
    pub rows: Vec<RowResult>,
}

const HEADER: &str = "run        topics  fan-out   events  deliveries  events/s  deliv/s   p50 ms   p99 ms   max ms  RSS MiB  CPU s  /consumer  /http";

/// A row of the table.
pub fn row_line(row: &RowResult, consumer: f64, http: f64) -> String {
    let kind = match (row.steady, row.complete) {
        (_, false) => "TIMED-OUT",
        (true, true) => "steady",
        (false, true) => "backlog",
    };
    format!(
        "{kind:<10} {:>6} {:>8} {:>8} {:>11} {:>9.0} {:>8.0} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>6.1} {:>10.2} {:>6.2}",
        row.topics,
        row.fanout,
        row.events,
        row.deliveries,
        row.events_per_s,
        row.deliveries_per_s,
        row.p50_ms,
        row.p99_ms,
        row.max_ms,
        row.peak_rss_mib,
        row.cpu_seconds,
        row.events_per_s / consumer.max(f64::EPSILON),
        row.deliveries_per_s / http.max(f64::EPSILON),
    )
}

impl Report {
    /// The table, notes, and the JSON summary as the last line.
    pub fn print(&self) {
        let c = &self.ceilings;
        println!();
        println!(
            "ceilings: bare consumer {:.0} events/s ({} events); bare HTTP client {:.0} requests/s ({} requests, {} at once)",
            c.consumer_events_per_s,
            self.events,
            c.http_requests_per_s,
            c.http_requests,
            self.in_flight
        );
        println!(
            "broker: {}; destination: signing {}, {} requests at once; router kafka.max_in_flight {}",
            self.broker,
            match self.signing {
                super::load::Signing::None => "none",
                super::load::Signing::V1 => "v1 (HMAC-SHA256)",
                super::load::Signing::V1a => "v1a (ed25519)",
            },
            self.concurrency,
            self.in_flight
        );
        println!("{HEADER}");
        for row in &self.rows {
            println!(
                "{}",
                row_line(row, c.consumer_events_per_s, c.http_requests_per_s)
            );
        }
        println!(
            "backlog: events published before the router starts; rates from its first delivery to its last; \
             latency (event timestamp -> received) includes the wait in the backlog."
        );
        println!(
            "steady: events published at a fixed rate while the router runs; latency is end to end. \
             RSS is the router process's peak, CPU its user + system seconds including start-up."
        );
        match serde_json::to_string(self) {
            Ok(json) => println!("{json}"),
            Err(error) => println!("{{\"error\":\"{error}\"}}"),
        }
    }
}
