//! The load run, shrunk: `notification-router-bench` starts its broker and router processes,
//! gets every delivery to its receiver and ends with a JSON summary. Figures are not checked. It
//! runs on the mock broker, so that `cargo test` needs no tansu.

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_notification-router-bench");

/// The router executable beside this crate's, in the same target directory and profile. Cargo
/// builds it for the router's own integration tests: `cargo test --workspace` builds it with this
/// test (a bench-only run, `-p notification-router-bench`, uses the one last built).
fn router_exe() -> PathBuf {
    let router = PathBuf::from(BIN).with_file_name(format!(
        "notification-router{}",
        std::env::consts::EXE_SUFFIX
    ));
    assert!(
        router.is_file(),
        "no router executable at {}: run `cargo test --workspace`, or build it first \
         (`cargo build -p notification-router`)",
        router.display()
    );
    router
}

#[test]
fn a_small_load_run_delivers_everything_and_ends_with_a_json_summary() {
    let output = Command::new(BIN)
        .env_remove("TANSU")
        .arg("--router")
        .arg(router_exe())
        .args([
            "--broker",
            "mock",
            "--signing",
            "v1a",
            "--events",
            "200",
            "--topics",
            "10,100",
            "--fanout",
            "1,10",
            "--steady-rate",
            "50",
            "--steady-seconds",
            "1",
            "--timeout",
            "120",
        ])
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().last().expect("some output");
    let summary: serde_json::Value = serde_json::from_str(last).expect("the last line is JSON");
    let rows = summary["rows"].as_array().expect("rows");
    // (topics, fan-out, events): both table sizes at fan-out 1, fan-out 10 on the small table
    // with a tenth of the events (at least 100), the steady rate on the large one.
    let shapes: Vec<(u64, u64, u64, bool)> = rows
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_u64().expect("a count");
            (n("topics"), n("fanout"), n("events"), r["steady"] == true)
        })
        .collect();
    assert_eq!(
        shapes,
        [
            (10, 1, 200, false),
            (100, 1, 200, false),
            (10, 10, 100, false),
            (100, 1, 50, true)
        ]
    );
    for row in rows {
        assert_eq!(row["complete"], true, "{row}");
        let expected = row["events"].as_u64().unwrap_or(0) * row["fanout"].as_u64().unwrap_or(0);
        assert_eq!(row["deliveries"].as_u64(), Some(expected), "{row}");
        assert_eq!(
            row["signed"].as_u64(),
            Some(expected),
            "every delivery is signed: {row}"
        );
    }
    assert_eq!(summary["broker"], "mock");
    assert!(summary["ceilings"]["consumer_events_per_s"].as_f64() > Some(0.0));
    assert!(summary["ceilings"]["http_requests_per_s"].as_f64() > Some(0.0));
    // CPU is counted in 10 ms ticks: a run this small may count none.
    for key in [
        "broker_cpu_us_per_event",
        "consumer_cpu_us_per_event",
        "http_cpu_us_per_request",
        "receiver_cpu_us_per_request",
    ] {
        assert!(summary["ceilings"][key].as_f64() >= Some(0.0), "{key}");
    }
    assert!(summary["ceilings"]["cores"].as_u64() >= Some(1));
    // The bare pipeline ran at the steady rate and its latency was measured.
    assert!(summary["bare_pipeline"]["p99_ms"].as_f64() > Some(0.0));
    // The targets: CPU and throughput per fan-out 1 row, the steady p99, memory at fan-out 10.
    let figures: Vec<&str> = summary["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| t["figure"].as_str().expect("a figure"))
        .collect();
    assert_eq!(figures.len(), 6, "{figures:?}");
    assert!(figures[0].starts_with("router CPU us per event at fan-out 1, 10 topics"));
    assert!(figures[5].starts_with("KiB of peak RSS per pending delivery at fan-out 10"));
    for row in rows {
        for key in ["cpu_seconds", "broker_cpu_seconds", "receiver_cpu_seconds"] {
            assert!(row[key].as_f64() >= Some(0.0), "{key}: {row}");
        }
    }
}
