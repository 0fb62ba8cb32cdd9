//! The load run's output: one table for people, then one JSON object on the last line.

use serde::Serialize;

/// What the bare consumer and the bare HTTP client managed, and the CPU they took.
#[derive(Debug, Clone, Serialize)]
pub struct Ceilings {
    pub consumer_events_per_s: f64,
    pub http_requests_per_s: f64,
    pub http_requests: usize,
    /// CPU the broker process spent per event while the bare consumer read them.
    pub broker_cpu_us_per_event: f64,
    /// CPU the bare consumer spent per event.
    pub consumer_cpu_us_per_event: f64,
    /// CPU the bare HTTP client spent per request, in a process of its own.
    pub http_cpu_us_per_request: f64,
    /// CPU the receiver spent per request of the bare HTTP client.
    pub receiver_cpu_us_per_request: f64,
    pub cores: usize,
    /// The most events per second the machine's cores could take from the broker to the
    /// receiver at one delivery each if reading and posting cost what they cost the bare
    /// clients, and nothing else ran: `cores` over the sum of the four costs above.
    pub one_delivery_bound_events_per_s: f64,
}

impl Ceilings {
    /// Fills in [`Self::one_delivery_bound_events_per_s`].
    pub fn with_bound(mut self) -> Self {
        let per_event = self.broker_cpu_us_per_event
            + self.consumer_cpu_us_per_event
            + self.http_cpu_us_per_request
            + self.receiver_cpu_us_per_request;
        self.one_delivery_bound_events_per_s =
            self.cores as f64 * 1e6 / per_event.max(f64::EPSILON);
        self
    }
}

/// The bare pipeline (a consumer posting each event with the bare client) at the steady rate.
#[derive(Debug, Clone, Serialize)]
pub struct BarePipeline {
    pub events: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// One figure of the targets (docs/performance.md), as a ratio of two measured in this run.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub figure: String,
    /// The router's figure.
    pub router: f64,
    /// What it is compared with.
    pub reference: f64,
    pub ratio: f64,
    pub target: &'static str,
}

impl Target {
    /// `figure`: the router's `router` against `reference`, their ratio to be `target`.
    fn new(figure: String, router: f64, reference: f64, target: &'static str) -> Self {
        Target {
            figure,
            router,
            reference,
            ratio: router / reference.max(f64::EPSILON),
            target,
        }
    }
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
    /// CPU seconds of the broker process while the router ran.
    pub broker_cpu_seconds: f64,
    /// CPU seconds of the bench process (the receiver; in steady runs the publisher too).
    pub receiver_cpu_seconds: f64,
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
    /// The bare pipeline at the steady rate, when the run has a steady row.
    pub bare_pipeline: Option<BarePipeline>,
    pub rows: Vec<RowResult>,
    /// Filled in by [`Report::with_targets`].
    pub targets: Vec<Target>,
}

const HEADER: &str = "run        topics  fan-out   events  deliveries  events/s  deliv/s   p50 ms   p99 ms   max ms  RSS MiB  CPU s  brk s  rcv s  /consumer  /http";

/// A row of the table.
pub fn row_line(row: &RowResult, consumer: f64, http: f64) -> String {
    let kind = match (row.steady, row.complete) {
        (_, false) => "TIMED-OUT",
        (true, true) => "steady",
        (false, true) => "backlog",
    };
    format!(
        "{kind:<10} {:>6} {:>8} {:>8} {:>11} {:>9.0} {:>8.0} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>6.1} {:>6.1} {:>6.1} {:>10.2} {:>6.2}",
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
        row.broker_cpu_seconds,
        row.receiver_cpu_seconds,
        row.events_per_s / consumer.max(f64::EPSILON),
        row.deliveries_per_s / http.max(f64::EPSILON),
    )
}

impl Report {
    /// Fills in [`Self::targets`] from the ceilings and the rows.
    pub fn with_targets(mut self) -> Self {
        let c = &self.ceilings;
        let bare_cpu = c.consumer_cpu_us_per_event + c.http_cpu_us_per_request;
        let mut targets = Vec::new();
        let backlog_1 = || {
            self.rows
                .iter()
                .filter(|r| !r.steady && r.fanout == 1 && r.complete)
        };
        for row in backlog_1() {
            let cpu = row.cpu_seconds * 1e6 / row.events.max(1) as f64;
            targets.push(Target::new(
                format!(
                    "router CPU us per event at fan-out 1, {} topics / (bare consumer + bare HTTP client)",
                    row.topics
                ),
                cpu,
                bare_cpu,
                "<= 1.5",
            ));
        }
        for row in backlog_1() {
            targets.push(Target::new(
                format!(
                    "events/s at fan-out 1, {} topics / the bound of the bare runs' CPU",
                    row.topics
                ),
                row.events_per_s,
                c.one_delivery_bound_events_per_s,
                ">= 0.8",
            ));
        }
        let steady = self.rows.iter().find(|r| r.steady && r.complete);
        if let (Some(row), Some(bare)) = (steady, &self.bare_pipeline) {
            targets.push(Target::new(
                "p99 ms at the steady rate / the bare pipeline's at the same rate".to_owned(),
                row.p99_ms,
                bare.p99_ms,
                "<= 1.5",
            ));
        }
        // The largest fan-out: everything the router held at its peak, over the deliveries
        // pending at once (each record in flight holds `fanout` of them): an upper bound, as
        // the executable, the table and the buffers count too.
        let widest = self
            .rows
            .iter()
            .filter(|r| !r.steady && r.fanout > 1 && r.complete)
            .max_by_key(|r| r.fanout);
        if let Some(row) = widest {
            let pending = (self.in_flight.min(row.events) * row.fanout).max(1) as f64;
            let kib = row.peak_rss_mib * 1024.0 / pending;
            targets.push(Target::new(
                format!(
                    "KiB of peak RSS per pending delivery at fan-out {} / 2 KiB",
                    row.fanout
                ),
                kib,
                2.0,
                "<= 1",
            ));
        }
        self.targets = targets;
        self
    }

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
        println!(
            "CPU in the bare runs: broker {:.1} us and consumer {:.1} us per event, HTTP client {:.1} us and receiver {:.1} us per request; \
             {} cores take at most {:.0} events/s at one delivery each ({:.2} x the bare consumer)",
            c.broker_cpu_us_per_event,
            c.consumer_cpu_us_per_event,
            c.http_cpu_us_per_request,
            c.receiver_cpu_us_per_request,
            c.cores,
            c.one_delivery_bound_events_per_s,
            c.one_delivery_bound_events_per_s / c.consumer_events_per_s.max(f64::EPSILON)
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
             RSS is the router process's peak, CPU its user + system seconds including start-up; \
             brk and rcv: the broker's and the receiver's CPU seconds meanwhile."
        );
        if let Some(bare) = &self.bare_pipeline {
            println!(
                "bare pipeline (a consumer posting each event with the bare client) at the steady rate: \
                 p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} events)",
                bare.p50_ms, bare.p99_ms, bare.max_ms, bare.events
            );
        }
        println!("targets:");
        for t in &self.targets {
            println!(
                "  {}: {:.1} / {:.1} = {:.2} x (target {} x)",
                t.figure, t.router, t.reference, t.ratio, t.target
            );
        }
        match serde_json::to_string(self) {
            Ok(json) => println!("{json}"),
            Err(error) => println!("{{\"error\":\"{error}\"}}"),
        }
    }
}

/// Prints the size of a run's ledger per delivery (`deliveries` of them): in the topic
/// (`topic`: records, bytes before compression) and in the store file at `store`.
pub fn ledger_size(store: &std::path::Path, topic: (u64, u64), deliveries: u64) {
    let bytes = std::fs::metadata(store).map_or(0, |m| m.len());
    let per = |total: u64| total as f64 / deliveries.max(1) as f64;
    eprintln!(
        "ledger: topic {} records, {} bytes ({:.0} bytes per delivery); store {bytes} bytes ({:.0} bytes per delivery)",
        topic.0,
        topic.1,
        per(topic.1),
        per(bytes)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_the_cores_over_the_cpu_one_event_costs() {
        let ceilings = Ceilings {
            consumer_events_per_s: 50_000.0,
            http_requests_per_s: 40_000.0,
            http_requests: 1000,
            broker_cpu_us_per_event: 10.0,
            consumer_cpu_us_per_event: 5.0,
            http_cpu_us_per_request: 25.0,
            receiver_cpu_us_per_request: 10.0,
            cores: 2,
            one_delivery_bound_events_per_s: 0.0,
        }
        .with_bound();
        assert_eq!(ceilings.one_delivery_bound_events_per_s, 40_000.0);
    }
}
