//! Per-event CPU work outside Kafka and HTTP: decoding and normalising a record, rendering a
//! delivery for each channel (the shipped templates and the defaults), signing a webhook
//! (Standard Webhooks `v1` HMAC-SHA256 and `v1a` ed25519), and the whole of decode + normalise +
//! route + render for one event.
//!
//! `cargo bench -p notification-router-bench --bench pipeline`

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use notification_router::channels;
use notification_router::channels::{Signer, generate_key_pair, generate_secret};
use notification_router::event::{Notification, RawRecord, SourceKind, normalise};
use notification_router::render::{self, Templates};
use notification_router::routing::Route;
use notification_router_bench::workload;

/// The allocator the `notification-router` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EVENTS: usize = 256;

fn records(topics: usize) -> Vec<Vec<u8>> {
    (0..EVENTS)
        .map(|n| {
            workload::event_for_table(n, topics)
                .to_string()
                .into_bytes()
        })
        .collect()
}

fn decode(bytes: &[u8]) -> Notification {
    let record = RawRecord {
        value: Some(bytes),
        headers: &[],
    };
    normalise(
        workload::SOURCE_ID,
        SourceKind::ResourceLifecycleEvents,
        &record,
        262_144,
    )
    .expect("generated events normalise")
}

fn decode_and_normalise(c: &mut Criterion) {
    let records = records(10);
    let mut group = c.benchmark_group("event");
    group.throughput(Throughput::Elements(1));
    let mut next = records.iter().cycle();
    group.bench_function("decode+normalise", |b| {
        b.iter(|| black_box(decode(black_box(next.next().expect("cycle never ends")))))
    });
    group.finish();
}

fn render_per_channel(c: &mut Criterion) {
    // The router's shipped templates, in the workspace root.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates");
    let templates = Templates::load(&shipped).expect("the shipped templates load");
    let events: Vec<Notification> = records(10).iter().map(|r| decode(r)).collect();
    let mut group = c.benchmark_group("render");
    group.throughput(Throughput::Elements(1));
    let mut next = events.iter().cycle();
    let mut event = move || &next.next().expect("cycle never ends").body;
    group.bench_function("webhook/default", |b| {
        b.iter(|| black_box(channels::serialise(event())))
    });
    group.bench_function("webhook/lifecycle-summary", |b| {
        b.iter(|| {
            black_box(
                templates
                    .render_webhook("webhook/lifecycle-summary.json.hbs", event())
                    .expect("renders"),
            )
        })
    });
    group.bench_function("slack/default", |b| {
        b.iter(|| black_box(channels::slack::default_slack(event())))
    });
    group.bench_function("slack/lifecycle", |b| {
        b.iter(|| {
            black_box(
                templates
                    .render_slack("slack/lifecycle.json.hbs", event())
                    .expect("renders"),
            )
        })
    });
    group.bench_function("email/default", |b| {
        b.iter(|| black_box(render::default_email(event())))
    });
    group.bench_function("email/lifecycle", |b| {
        b.iter(|| {
            black_box(
                templates
                    .render_email("email/lifecycle", event())
                    .expect("renders"),
            )
        })
    });
    group.finish();
}

/// The `webhook-signature` of one delivery: the default webhook body of a lifecycle event,
/// signed with one secret (`v1`) or one key (`v1a`), as the notifier signs it.
fn sign_per_delivery(c: &mut Criterion) {
    let events: Vec<Notification> = records(10).iter().map(|r| decode(r)).collect();
    let bodies: Vec<bytes::Bytes> = events
        .iter()
        .map(|e| channels::serialise(&e.body))
        .collect();
    let mean = bodies.iter().map(|b| b.len()).sum::<usize>() / bodies.len();
    println!("signed bodies: {mean} bytes on average");
    let hmac = Signer::new(&[generate_secret()], &[]).expect("a generated secret is valid");
    let (key, _) = generate_key_pair();
    let ed25519 = Signer::new(&[], &[key]).expect("a generated key is valid");
    let mut group = c.benchmark_group("sign");
    group.throughput(Throughput::Elements(1));
    for (name, signer) in [("v1-hmac-sha256", &hmac), ("v1a-ed25519", &ed25519)] {
        let mut next = bodies.iter().cycle();
        group.bench_function(name, |b| {
            b.iter(|| {
                let body = next.next().expect("cycle never ends");
                black_box(signer.sign(
                    black_box("msg_2f1c0e6a9d4b4e7f8a1b2c3d4e5f6a7b"),
                    1_700_000_000,
                    body,
                ))
            })
        });
    }
    group.finish();
}

/// Decode + normalise + route + render (the webhook default body) of an event that makes one
/// delivery, among 10 or 10,000 other topics (the load run's table, fan-out 1).
fn whole_event(c: &mut Criterion) {
    let mut group = c.benchmark_group("event");
    group.throughput(Throughput::Elements(1));
    let records: Vec<Vec<u8>> = (0..EVENTS)
        .map(|n| {
            workload::lifecycle_event(n, workload::LOAD_ACCOUNT, "2022-09-30T16:18:55Z")
                .to_string()
                .into_bytes()
        })
        .collect();
    for topics in [10, 10_000] {
        let table = workload::load_routing_table(topics, 1);
        let source = table
            .source_index(workload::SOURCE_ID)
            .expect("the workload's source exists");
        let deliveries: usize = records
            .iter()
            .map(|r| match table.route(source, &decode(r)) {
                Route::Matched { deliveries, .. } => deliveries.len(),
                Route::SourceDisabled => 0,
            })
            .sum();
        println!(
            "{topics} topics: {:.2} deliveries per event",
            deliveries as f64 / EVENTS as f64
        );
        let mut next = records.iter().cycle();
        group.bench_function(BenchmarkId::new("normalise+route+render", topics), |b| {
            b.iter(|| {
                let notification = decode(next.next().expect("cycle never ends"));
                if let Route::Matched { deliveries, .. } = table.route(source, &notification) {
                    for delivery in &deliveries {
                        black_box((
                            &delivery.webhook_id,
                            channels::serialise(&notification.body),
                        ));
                    }
                }
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = decode_and_normalise, render_per_channel, sign_per_delivery, whole_event
}
criterion_main!(benches);
