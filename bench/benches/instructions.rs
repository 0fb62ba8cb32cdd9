//! A fixed-count driver for instruction counts, which stay comparable on a busy machine where
//! wall-clock figures do not. Under `cargo bench` it only prints how to use it; run it as
//!
//! ```sh
//! valgrind --tool=callgrind --toggle-collect='*measured*' \
//!     target/release/deps/instructions-HASH matching 10000 20000
//! ```
//!
//! and divide the collected `Ir` by the iteration count (the last argument). Scenarios:
//! `matching TOPICS N` (the rule index), `route TOPICS N`, `normalise - N`,
//! `event TOPICS N` (decode + normalise + route + webhook default body per delivery).

use std::hint::black_box;

use notification_router::channels;
use notification_router::event::{Notification, RawRecord, SourceKind, normalise};
use notification_router::routing::{Route, RoutingTable, SourceIndex};
use notification_router_bench::workload;

/// The allocator the `notification-router` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EVENTS: usize = 512;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [scenario, topics, iterations] = args.as_slice() else {
        println!(
            "instructions: run under callgrind with SCENARIO TOPICS N, see bench/benches/instructions.rs"
        );
        return;
    };
    let topics: usize = topics.parse().unwrap_or(10);
    let iterations: usize = iterations.parse().expect("N is a number");
    // `event` is one delivery per event among TOPICS others (the load run's table, fan-out 1).
    let whole = scenario == "event";
    let records: Vec<Vec<u8>> = (0..EVENTS)
        .map(|n| match whole {
            true => workload::lifecycle_event(n, workload::LOAD_ACCOUNT, "2022-09-30T16:18:55Z"),
            false => workload::event_for_table(n, topics),
        })
        .map(|event| event.to_string().into_bytes())
        .collect();
    let table = match whole {
        true => workload::load_routing_table(topics, 1),
        false => workload::routing_table(topics),
    };
    let source = table
        .source_index(workload::SOURCE_ID)
        .expect("the workload's source exists");
    let notifications: Vec<Notification> = records.iter().map(|r| decode(r)).collect();
    // Warm every lazily built cache (regex caches) before counting.
    run(
        scenario,
        &table,
        source,
        &records,
        &notifications,
        EVENTS * 2,
    );
    measured(
        scenario,
        &table,
        source,
        &records,
        &notifications,
        iterations,
    );
}

#[inline(never)]
fn measured(
    scenario: &str,
    table: &RoutingTable,
    source: SourceIndex,
    records: &[Vec<u8>],
    notifications: &[Notification],
    iterations: usize,
) {
    run(scenario, table, source, records, notifications, iterations);
}

fn run(
    scenario: &str,
    table: &RoutingTable,
    source: SourceIndex,
    records: &[Vec<u8>],
    notifications: &[Notification],
    iterations: usize,
) {
    for i in 0..iterations {
        let at = i % EVENTS;
        match scenario {
            "matching" => {
                black_box(table.matching_topics(source, &notifications[at].body));
            }
            "route" => {
                black_box(table.route(source, &notifications[at]));
            }
            "normalise" => {
                black_box(decode(&records[at]));
            }
            "event" => {
                let notification = decode(&records[at]);
                if let Route::Matched { deliveries, .. } = table.route(source, &notification) {
                    for delivery in &deliveries {
                        black_box((
                            &delivery.webhook_id,
                            channels::serialise(&notification.body),
                        ));
                    }
                }
            }
            other => panic!("unknown scenario {other}"),
        }
    }
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
        usize::MAX,
    )
    .expect("generated events normalise")
}
