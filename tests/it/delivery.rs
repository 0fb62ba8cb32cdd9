//! Webhook deliveries: templates, headers, and failures written to the dead-letter topic.

use std::sync::Arc;

use crate::support::*;

const SUMMARY: &str = r#"{
  "id": "{{notification_id}}",
  "summary": "{{ibmendefaultshort}}",
  "name": "{{data.event_properties.name}}",
  "payload": {{json data}}{{#if (equal ibmenseverity "HIGH")}},
  "page": true{{/if}}
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_render_the_body_with_json_escaping_and_headers_are_sent() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let destinations = webhook(
        "hook",
        receiver.url("/hook"),
        "    verb: put\n    custom_headers: { x-team: platform, authorization: Bearer s3cr3t }\n    sensitive_headers: [authorization]\n",
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: summary, destination: hook, template: webhook/summary.json.hbs }",
    )];
    // De-duplication off: the same event read twice is delivered twice, with one webhook-id.
    let router = Setup {
        templates: vec![("webhook/summary.json.hbs", SUMMARY)],
        router_extra: "dedup: { window: 0s }\n",
        ..Setup::lifecycle(kafka.brokers(), "templates", &destinations, topics)
    }
    .start();

    let hostile = "db \"prod\" \\ </script>\n{{x}} ✓";
    // The same event twice, as a producer retry would send it.
    let event = lifecycle_event(
        "resource-controller.instance.create_failure",
        "evt-1",
        "us-south",
        hostile,
    );
    kafka
        .produce_events("lifecycle", &[event.clone(), event])
        .await;
    let (delivery, again) = (receiver.next().await, receiver.next().await);
    router.stop().await;

    assert_eq!(
        delivery.json()["name"],
        hostile,
        "the value survives JSON escaping intact"
    );
    assert_eq!(delivery.json()["payload"]["event_id"], "evt-1");
    assert_eq!(
        delivery.json()["page"],
        true,
        "equal helper: create_failure is HIGH"
    );
    assert!(
        delivery.json()["summary"]
            .as_str()
            .unwrap()
            .contains("instance create_failure")
    );
    assert_eq!(delivery.header("x-team").unwrap(), "platform");
    assert_eq!(delivery.header("authorization").unwrap(), "Bearer s3cr3t");
    assert!(
        delivery
            .header("webhook-timestamp")
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    assert_eq!(
        delivery.header("webhook-id").unwrap(),
        again.header("webhook-id").unwrap(),
        "the same event and subscription keep their webhook-id"
    );
    assert_eq!(
        delivery.json()["id"],
        again.json()["id"],
        "and their notification id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deliveries_go_to_the_dead_letter_topic_with_the_reason() {
    let kafka = Kafka::start(&["lifecycle"]);
    // /rejects answers 400 (permanent), /down answers 503 (retried, then exhausted), /ok 200.
    let mut receiver = Receiver::answering(Arc::new(|path, _| match path {
        "/rejects" => Some(400),
        "/down" => Some(503),
        _ => Some(200),
    }))
    .await;
    // No long schedule: what fails in process goes straight to the dead-letter topic.
    let fast_retry =
        "    retry: { retries: 2, initial_backoff: 10ms, max_backoff: 20ms, schedule: [] }\n";
    let destinations = webhook("rejects", receiver.url("/rejects"), fast_retry)
        + &webhook("down", receiver.url("/down"), fast_retry)
        + &webhook("ok", receiver.url("/ok"), fast_retry);
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-rejects, destination: rejects }\n  - { name: to-down, destination: down }\n  - { name: to-ok, destination: ok }",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "failures", &destinations, topics).start();

    kafka
        .produce_events(
            "lifecycle",
            &[lifecycle_event(
                "resource-controller.instance.delete",
                "evt-9",
                "eu-gb",
                "old-db",
            )],
        )
        .await;
    let letters = kafka.dead_letters(2).await;
    router.stop().await;

    let received = receiver.drain();
    let count = |path: &str| received.iter().filter(|r| r.path == path).count();
    assert_eq!(count("/ok"), 1);
    assert_eq!(count("/rejects"), 1, "a 4xx is not retried");
    assert_eq!(count("/down"), 3, "a 503 is tried 1 + 2 times");

    let by_destination = |d: &str| {
        letters
            .iter()
            .find(|(h, _)| h["dlq-destination"] == d)
            .unwrap_or_else(|| panic!("no dead letter for {d}"))
    };
    let (rejected, body) = by_destination("rejects");
    assert_eq!(rejected["dlq-kind"], "delivery");
    assert_eq!(rejected["dlq-reason"], "delivery-rejected");
    assert_eq!(rejected["dlq-last-status"], "400");
    assert_eq!(rejected["dlq-attempts"], "1");
    assert_eq!(rejected["dlq-subscription"], "to-rejects");
    assert_eq!(rejected["dlq-original-topic"], "lifecycle");
    assert!(rejected["dlq-webhook-id"].starts_with("msg_"));
    let notification: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(
        notification["data"]["event_id"], "evt-9",
        "the dead letter carries the notification"
    );
    assert_eq!(
        rejected["dlq-notification-id"],
        notification["notification_id"].as_str().unwrap()
    );

    let (exhausted, _) = by_destination("down");
    assert_eq!(exhausted["dlq-reason"], "retries-exhausted");
    assert_eq!(exhausted["dlq-last-status"], "503");
    assert_eq!(exhausted["dlq-attempts"], "3");
    assert!(!exhausted["dlq-first-attempt"].is_empty());
    assert!(exhausted["dlq-last-attempt"] >= exhausted["dlq-first-attempt"]);
    assert!(
        exhausted["dlq-detail"].contains("503"),
        "detail: {}",
        exhausted["dlq-detail"]
    );
}
