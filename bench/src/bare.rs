//! The bare clients as processes of their own, so that their CPU is measured apart from the
//! receiver's, as the router's is: the bench executable starts itself with a hidden subcommand
//! (`bare-http`, `bare-pipeline`), which runs one of these and prints one JSON line.
//!
//! - [`http_client`]: posts a notification body `requests` times, `concurrency` at once, with
//!   the router's HTTP client settings: the HTTP ceiling and the client's CPU per request.
//! - [`pipeline`]: a consumer that posts each record's value as it arrives with the same client,
//!   as many at once as the router has records in flight: the latency a router could not beat.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use rdkafka::message::Message;
use serde::{Deserialize, Serialize};

use super::kafka::bare_consumer;
use super::process::{self, Child};
use super::workload;

/// What the bare HTTP client process measured of itself.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct HttpRun {
    pub requests_per_s: f64,
    /// This process's CPU seconds (user + system) from the first request to the last answer.
    pub cpu_seconds: f64,
}

/// The router's HTTP client settings, without its address policy (the receiver is on loopback).
fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .context("cannot build the HTTP client")
}

/// Posts the notification body of a generated event to `url` `requests` times, `concurrency`
/// at once (`bare-http`).
pub async fn http_client(
    url: &str,
    requests: usize,
    concurrency: usize,
) -> anyhow::Result<HttpRun> {
    let client = client()?;
    let body = bytes::Bytes::from(
        workload::notification(&workload::lifecycle_event(
            0,
            workload::LOAD_ACCOUNT,
            "2022-09-30T16:18:55Z",
        ))
        .body
        .to_string(),
    );
    let cpu_before = process::cpu_seconds(std::process::id());
    let started = Instant::now();
    let failures = futures::stream::iter(0..requests)
        .map(|n| {
            let request = client
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", format!("msg_{n}"))
                .body(body.clone());
            async move {
                request
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false)
            }
        })
        .buffer_unordered(concurrency)
        .filter(|ok| std::future::ready(!ok))
        .count()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    if failures > 0 {
        bail!("{failures} of {requests} bare HTTP requests failed");
    }
    Ok(HttpRun {
        requests_per_s: requests as f64 / elapsed.max(f64::EPSILON),
        cpu_seconds: process::cpu_seconds(std::process::id()) - cpu_before,
    })
}

/// What the bare pipeline reads and where it posts: the `bare-pipeline` subcommand's options.
#[derive(Debug, Clone, clap::Args)]
pub struct PipelineArgs {
    #[arg(long)]
    pub brokers: String,
    /// Read from its start.
    #[arg(long)]
    pub topic: String,
    #[arg(long)]
    pub fetch_wait_ms: u64,
    /// Where each record's value is posted.
    #[arg(long)]
    pub url: String,
    /// Records to post before ending.
    #[arg(long)]
    pub events: usize,
    /// Posts at once.
    #[arg(long)]
    pub in_flight: usize,
}

/// Reads `args.topic` from its start and posts each record's value to `args.url` as it
/// arrives, `args.in_flight` at once, until `args.events` records were posted (`bare-pipeline`).
pub async fn pipeline(args: &PipelineArgs) -> anyhow::Result<()> {
    let PipelineArgs {
        brokers,
        topic,
        fetch_wait_ms,
        url,
        events,
        in_flight,
    } = args;
    let client = client()?;
    let consumer = bare_consumer(brokers, "bench-bare-pipeline", *fetch_wait_ms, topic)?;
    let failures = consumer
        .stream()
        .take(*events)
        .map(|message| {
            let body = message.map(|m| bytes::Bytes::copy_from_slice(m.payload().unwrap_or(&[])));
            let client = &client;
            async move {
                let Ok(body) = body else { return false };
                client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .buffer_unordered((*in_flight).max(1))
        .filter(|ok| std::future::ready(!ok))
        .count()
        .await;
    if failures > 0 {
        bail!("{failures} of {events} bare pipeline posts failed");
    }
    Ok(())
}

/// Runs `exe bare-http` to `url` and returns what it measured.
pub fn run_http_client(
    exe: &Path,
    url: &str,
    requests: usize,
    concurrency: usize,
) -> anyhow::Result<HttpRun> {
    let output = Command::new(exe)
        .args(["bare-http", "--url", url])
        .arg("--requests")
        .arg(requests.to_string())
        .arg("--concurrency")
        .arg(concurrency.to_string())
        .stdin(Stdio::null())
        .output()
        .context("cannot start the bare HTTP client process")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "the bare HTTP client process failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).with_context(|| format!("the bare HTTP client printed {last:?}"))
}

/// Starts `exe bare-pipeline` with `args`.
pub fn start_pipeline(exe: &Path, args: &PipelineArgs) -> anyhow::Result<Child> {
    let child = Command::new(exe)
        .args([
            "bare-pipeline",
            "--brokers",
            &args.brokers,
            "--topic",
            &args.topic,
        ])
        .args(["--url", &args.url])
        .arg("--fetch-wait-ms")
        .arg(args.fetch_wait_ms.to_string())
        .arg("--events")
        .arg(args.events.to_string())
        .arg("--in-flight")
        .arg(args.in_flight.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start the bare pipeline process")?;
    Ok(Child::new(child))
}
