//! `impact`: what a proposed configuration (a folder or a git revision) would change in the
//! deliveries of the recent traffic, per subscription; see [`crate::impact`]. Prints a report for
//! a person, or JSON; shows progress on a terminal. It compares the files only: the runtime state
//! kept in Kafka (source overrides, pauses, disabled destinations, silences) is not read; `POST
//! /v1/impact` and the console apply a running router's to both sides.
//!
//! Exit code: 0 when nothing changes, 1 when something does, 2 when it could not tell.

mod proposed;

use std::fmt::Write;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use anyhow::bail;

use crate::app::EMBEDDED;
use crate::config::Config;
use crate::impact::{self, DEFAULT_SINCE, Impact, Request, Row, Runtime, Window};

/// Arguments of `impact`.
#[derive(Debug, clap::Args)]
pub struct ImpactArgs {
    /// The proposed configuration: a folder laid out as the current one (router.yaml, topics/,
    /// templates/), its router.yaml, or a git revision (`main`, `HEAD~1`) of the repository the
    /// current configuration lives in.
    #[arg(long, value_name = "DIR_OR_GIT_REV")]
    pub config_from: String,
    /// Only records at most this old (`24h`, `90m`); 24h when neither this nor --last is given.
    #[arg(long, value_parser = humantime_serde::re::humantime::parse_duration)]
    pub since: Option<Duration>,
    /// At most this many records of each Kafka topic, the newest.
    #[arg(long)]
    pub last: Option<u64>,
    /// Only this source's Kafka topics.
    #[arg(long)]
    pub source: Option<String>,
    /// The Kafka brokers to read from; by default `kafka.brokers` of the current configuration.
    #[arg(long, env = "KAFKA_BROKERS")]
    pub brokers: Option<String>,
    /// The report as JSON, for tools.
    #[arg(long)]
    pub json: bool,
}

/// Runs `impact` against the configuration at `current_path`; returns whether anything changes.
pub fn impact(current: &Config, args: &ImpactArgs) -> anyhow::Result<bool> {
    let proposed = proposed::load(&args.config_from, &current.path)?;
    let brokers = args
        .brokers
        .clone()
        .unwrap_or_else(|| current.router.kafka.brokers.clone());
    if brokers.trim() == EMBEDDED {
        bail!(
            "kafka.brokers is `{EMBEDDED}`: its records live only inside the running router; name the brokers with --brokers"
        );
    }
    let window = Window {
        since: args.since.or(args.last.is_none().then_some(DEFAULT_SINCE)),
        last: args.last,
    };
    let request = Request {
        current,
        proposed: &proposed.config,
        runtime: &Runtime::default(),
        label: proposed.label.clone(),
        brokers: &brokers,
        window,
        source: args.source.as_deref(),
    };
    let terminal = std::io::stderr().is_terminal();
    let impact = impact::measure(&request, |read, total| {
        if terminal && read % 1000 == 0 {
            eprint!("\rread {read} of at most {total} records");
        }
    });
    if terminal {
        eprint!("\r\x1b[K");
    }
    let impact = impact?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&impact)?);
    } else {
        print!("{}", text(&impact, &current.path));
    }
    Ok(impact.changed)
}

/// The report as text for a person.
fn text(impact: &Impact, current: &Path) -> String {
    let mut out = String::new();
    let report = &impact.report;
    let _ = writeln!(
        out,
        "Impact of {} against {}: {} record(s) compared.",
        impact.proposed,
        current.display(),
        report.records
    );
    for topic in &impact.coverage.topics {
        if topic.missing {
            let _ = writeln!(
                out,
                "  {}: no such Kafka topic (yet): nothing read",
                topic.topic
            );
            continue;
        }
        let _ = write!(out, "  {}: {} read", topic.topic, topic.read);
        if topic.left_out > 0 {
            let _ = write!(
                out,
                ", {} older record(s) left out by --since/--last",
                topic.left_out
            );
        }
        out.push('\n');
    }
    if report.rejected > 0 {
        let _ = writeln!(
            out,
            "  {} record(s) neither configuration accepts (dead-lettered either way).",
            report.rejected
        );
    }
    out.push('\n');
    let changed: Vec<&Row> = report
        .rows
        .iter()
        .filter(|r| r.gained > 0 || r.lost > 0)
        .collect();
    if changed.is_empty() {
        let _ = writeln!(
            out,
            "No change: every subscription gets the same deliveries."
        );
    } else {
        let _ = writeln!(
            out,
            "{:<48} {:>8} {:>8} {:>8} {:>8}",
            "SUBSCRIPTION -> DESTINATION", "BEFORE", "AFTER", "GAINED", "LOST"
        );
        for row in &changed {
            let _ = writeln!(
                out,
                "{:<48} {:>8} {:>8} {:>8} {:>8}",
                format!("{} -> {}", row.subscription, row.destination),
                row.before,
                row.after,
                row.gained,
                row.lost
            );
            for (label, samples) in [("gained", &row.gained_samples), ("lost", &row.lost_samples)] {
                for sample in samples.iter() {
                    let _ = writeln!(
                        out,
                        "    {label} {} {} \"{}\"\n      {}",
                        sample.id, sample.event_type, sample.short, sample.why
                    );
                }
            }
        }
    }
    let unchanged: Vec<&Row> = report
        .rows
        .iter()
        .filter(|r| r.gained == 0 && r.lost == 0)
        .collect();
    if !unchanged.is_empty() {
        let _ = writeln!(out, "\nUnchanged:");
        for row in unchanged {
            let _ = writeln!(
                out,
                "  {} -> {}: {}",
                row.subscription, row.destination, row.before
            );
        }
    }
    out
}
