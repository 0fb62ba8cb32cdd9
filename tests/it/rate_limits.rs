//! Rate limits: a destination's `rate_limit` paces its deliveries in its lane, with none handed
//! to the retry topic or dead-lettered for it.

use std::time::Duration;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_100_to_a_destination_limited_to_10_a_second_arrives_over_about_10_s() {
    const EVENTS: usize = 100;
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    // No long retries: a delivery handed to the retry topic would be dead-lettered, not late.
    let destinations = webhook(
        "paced",
        receiver.url("/paced"),
        "    rate_limit: { per_second: 10, burst: 10 }\n    retry: { schedule: [] }\n",
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-paced, destination: paced }",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "paced", &destinations, topics).start();
    kafka.produce_events("lifecycle", &updates(0..EVENTS)).await;
    let received = receiver.take(EVENTS).await;
    let late = receiver.next_within(Duration::from_millis(500)).await;
    router.stop().await;

    let mut ids: Vec<String> = received.iter().map(Received::event_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), EVENTS, "every event once, none dead-lettered");
    assert!(late.is_none(), "nothing more arrives");
    let first = received.iter().map(|r| r.at).min().unwrap();
    let last = received.iter().map(|r| r.at).max().unwrap();
    let span = last - first;
    // 10 at once, then 90 at 10 a second: 9 s. A bound well below that cannot flake.
    assert!(span >= Duration::from_secs(8), "arrived over {span:?}");
    let metrics = notification_router::telemetry::metrics::global().encode();
    assert!(
        metrics.contains(
            "notification_router_rate_limit_wait_seconds_count{destination=\"paced\"} 100"
        ),
        "every attempt's wait is measured: {metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_cannot_be_rendered_is_dead_lettered_without_using_the_rate_limit() {
    const EVENTS: usize = 5;
    let kafka = Kafka::start(&["lifecycle"]);
    let receiver = Receiver::ok().await;
    let destinations = webhook(
        "slow-broken",
        receiver.url("/broken"),
        "    rate_limit: { per_second: 0.2, burst: 1 }\n    retry: { schedule: [] }\n",
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-broken, destination: slow-broken, template: webhook/broken.json.hbs }",
    )];
    // Strict templates: a field no event has fails every render.
    let router = Setup {
        templates: vec![("webhook/broken.json.hbs", r#"{"x": "{{no_such_field}}"}"#)],
        ..Setup::lifecycle(kafka.brokers(), "broken", &destinations, topics)
    }
    .start();
    kafka.produce_events("lifecycle", &updates(0..EVENTS)).await;
    // One every 5 s: had they waited for the rate limit, the five would take 20 s.
    let letters = kafka.dead_letters(EVENTS).await;
    router.stop().await;

    assert!(
        letters
            .iter()
            .all(|(headers, _)| headers["dlq-reason"] == "render-failed"),
        "{:?}",
        letters
            .iter()
            .map(|(h, _)| &h["dlq-reason"])
            .collect::<Vec<_>>()
    );
    let metrics = notification_router::telemetry::metrics::global().encode();
    assert!(
        !metrics.contains(
            "notification_router_rate_limit_wait_seconds_count{destination=\"slow-broken\"}"
        ),
        "no attempt waited for the rate limit: {metrics}"
    );
}

#[test]
fn slack_webhooks_default_to_one_a_second_and_bad_limits_are_refused() {
    let destinations = "  - id: chat\n    type: slack\n    slack: { type: incoming_webhook, url: \"https://hooks.slack.com/services/T/B/x\" }\n  - id: hook\n    type: webhook\n    url: https://hooks.example.com/x\n    rate_limit: { per_second: 2.5 }\n";
    let (_dir, path) = Setup::lifecycle("127.0.0.1:9092", "rates", destinations, vec![]).write();
    let config = notification_router::config::load(&path).unwrap();
    let rates: Vec<_> = config.policies.iter().map(|p| p.rate).collect();
    let rate =
        |per_second, burst| Some(notification_router::channels::RateLimit { per_second, burst });
    assert_eq!(rates, [rate(1.0, 1), rate(2.5, 1)]);

    let destinations = "  - id: hook\n    type: webhook\n    url: https://hooks.example.com/x\n    rate_limit: { per_second: 0, burst: 0 }\n";
    let (_dir, path) = Setup::lifecycle("127.0.0.1:9092", "rates", destinations, vec![]).write();
    let error = notification_router::config::load(&path)
        .expect_err("refused")
        .to_string();
    assert!(
        error.contains(
            "router.yaml: destinations[0] (hook).rate_limit.per_second: must be a number above 0"
        ),
        "{error}"
    );
}
