//! Bad records land on the dead-letter topic with their reason, and consumption goes on.

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_input_class_is_dead_lettered_and_the_next_good_message_delivered() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let topics = all_to_hook();
    let router = Setup {
        kafka_extra: "  max_message_bytes: 4096\n",
        ..Setup::lifecycle(kafka.brokers(), "bad-input", &destinations, topics)
    }
    .start();

    let good =
        |id: &str| lifecycle_event("resource-controller.instance.create", id, "us-south", "db");
    let mut missing = good("x");
    missing.as_object_mut().unwrap().remove("event_id");
    let unknown = lifecycle_event(
        "resource-controller.instance.explode",
        "bad-type",
        "us-south",
        "db",
    );
    let mut huge = good("huge");
    huge["event_properties"]["name"] = "x".repeat(5000).into();
    // (label, value, expected reason); all in one partition by key, each followed by nothing but the next.
    let bad: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not-json", b"{\"account_id\": ".to_vec(), "not-json"),
        ("not-utf8", vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'], "not-utf8"),
        ("too-large", huge.to_string().into_bytes(), "too-large"),
        ("unknown-type", unknown.to_string().into_bytes(), "unknown-event-type"),
        ("missing-field", missing.to_string().into_bytes(), "missing-field"),
        ("cloudevent-foreign-source", br#"{"specversion":"1.0","id":"1","source":"/x","type":"com.ibm.cloud.resource-lifecycle-events.instance:create","ibmensourceid":"someone-else"}"#.to_vec(), "unknown-source"),
    ];
    let mut records: Vec<Record<'_>> = Vec::new();
    for (label, value, _) in &bad {
        records.push((
            Some("same-partition"),
            value.clone(),
            vec![("x-test", label.as_bytes())],
        ));
    }
    records.push((
        Some("same-partition"),
        good("after-the-bad-ones").to_string().into_bytes(),
        vec![],
    ));
    kafka.produce("lifecycle", &records).await;

    let delivered = receiver.next().await;
    assert_eq!(delivered.json()["data"]["event_id"], "after-the-bad-ones");
    let letters = kafka.dead_letters(bad.len()).await;
    router.stop().await;
    assert!(receiver.drain().is_empty(), "no bad record is delivered");

    let mut offsets = Vec::new();
    for (label, value, reason) in &bad {
        let (headers, payload) = letters
            .iter()
            .find(|(h, _)| h.get("x-test").map(String::as_str) == Some(label))
            .unwrap_or_else(|| panic!("{label} not dead-lettered"));
        assert_eq!(
            headers["dlq-reason"],
            *reason,
            "{label}: {}",
            headers.get("dlq-detail").cloned().unwrap_or_default()
        );
        assert_eq!(headers["dlq-kind"], "input");
        assert_eq!(headers["dlq-source"], "lifecycle");
        assert_eq!(headers["dlq-original-topic"], "lifecycle");
        assert!(!headers["dlq-detail"].is_empty(), "{label} has a detail");
        assert_eq!(payload, value, "{label}: the original value is kept");
        offsets.push((
            headers["dlq-original-partition"].clone(),
            headers["dlq-original-offset"].parse::<i64>().unwrap(),
        ));
    }
    assert!(
        offsets
            .windows(2)
            .all(|w| w[0].0 == w[1].0 && w[0].1 < w[1].1),
        "positions name the original records: {offsets:?}"
    );
}
