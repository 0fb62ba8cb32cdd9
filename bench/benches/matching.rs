//! Matching one notification against 10, 1,000 and 10,000 generated topics (mixed rule shapes,
//! see `notification_router_bench::workload`): through the rule index, through `route` (the
//! index plus one delivery per subscription), and by evaluating every rule (the reference).
//!
//! `cargo bench -p notification-router-bench --bench matching`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use notification_router::event::Notification;
use notification_router_bench::workload;

/// The allocator the `notification-router` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Distinct events cycled through, so that no single lookup stays hot.
const EVENTS: usize = 512;

fn matching(c: &mut Criterion) {
    let mut group = c.benchmark_group("matching");
    group.throughput(Throughput::Elements(1));
    for topics in [10, 1_000, 10_000] {
        let table = workload::routing_table(topics);
        let source = table
            .source_index(workload::SOURCE_ID)
            .expect("the workload's source exists");
        let events: Vec<Notification> = (0..EVENTS)
            .map(|n| workload::notification(&workload::event_for_table(n, topics)))
            .collect();
        let matched: usize = events
            .iter()
            .map(|e| table.matching_topics(source, &e.body).len())
            .sum();
        let stats = table.index().stats();
        println!(
            "{topics} topics: {} rules, {} scanned, {} indexed fields; {:.2} topics matched per event",
            stats.rules,
            stats.scanned,
            stats.fields,
            matched as f64 / EVENTS as f64
        );
        let mut next = events.iter().cycle();
        group.bench_function(BenchmarkId::new("index", topics), |b| {
            b.iter(|| {
                let event = next.next().expect("cycle never ends");
                black_box(table.matching_topics(source, black_box(&event.body)))
            })
        });
        group.bench_function(BenchmarkId::new("route", topics), |b| {
            b.iter(|| {
                let event = next.next().expect("cycle never ends");
                black_box(table.route(source, black_box(event)));
            })
        });
        if topics <= 1_000 {
            group.bench_function(BenchmarkId::new("scan", topics), |b| {
                b.iter(|| {
                    let event = next.next().expect("cycle never ends");
                    black_box(table.matching_topics_by_scan(source, black_box(&event.body)))
                })
            });
        } else {
            // Evaluating 10,000 rules is slow enough for fewer samples.
            group.sample_size(10);
            group.bench_function(BenchmarkId::new("scan", topics), |b| {
                b.iter(|| {
                    let event = next.next().expect("cycle never ends");
                    black_box(table.matching_topics_by_scan(source, black_box(&event.body)))
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = matching
}
criterion_main!(benches);
