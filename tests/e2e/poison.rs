//! Poison pills among good events: each bad one on the dead-letter topic with its reason, every
//! good one delivered, and the committed offsets catch up with the end of the topic.

use std::collections::BTreeSet;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_pills_are_dead_lettered_with_reasons_good_events_delivered_and_lag_returns_to_0() {
    const GOOD: usize = 200;
    let tansu = Tansu::start(&TOPICS);
    let brokers = tansu.brokers();
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let setup = Setup {
        kafka_extra: &kafka_settings("", "  max_message_bytes: 4096\n"),
        ..Setup::lifecycle(&brokers, "poison", &destinations, all_to_hook())
    };
    let (_dir, config) = setup.write();
    let router = RouterProcess::start(BIN, &config, "router");

    let mut huge = lifecycle_event(
        "resource-controller.instance.create",
        "huge",
        "us-south",
        "db",
    );
    huge["event_properties"]["name"] = "x".repeat(5000).into();
    let unknown = lifecycle_event(
        "resource-controller.instance.explode",
        "bad-type",
        "us-south",
        "db",
    );
    // (label, value, expected reason)
    let bad: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not-json", b"{\"account_id\": ".to_vec(), "not-json"),
        (
            "not-utf8",
            vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'],
            "not-utf8",
        ),
        (
            "unknown-type",
            unknown.to_string().into_bytes(),
            "unknown-event-type",
        ),
        ("too-large", huge.to_string().into_bytes(), "too-large"),
    ];
    // The bad ones spread through the stream of good ones, keyed alike, so over the partitions.
    let good = updates(0..GOOD);
    let mut records: Vec<Record<'_>> = Vec::new();
    let keys: Vec<String> = (0..GOOD).map(|i| format!("evt-{i}")).collect();
    for (i, event) in good.iter().enumerate() {
        records.push((Some(&keys[i]), event.to_string().into_bytes(), vec![]));
        if let Some((label, value, _)) = bad
            .get(i / (GOOD / bad.len()))
            .filter(|_| i % (GOOD / bad.len()) == 7)
        {
            records.push((
                Some(&keys[i]),
                value.clone(),
                vec![("x-test", label.as_bytes())],
            ));
        }
    }
    produce_to(&brokers, LIFECYCLE, &records).await;

    let mut delivered = BTreeSet::new();
    while delivered.len() < GOOD {
        delivered.insert(receiver.next().await.event_id());
    }
    let letters = read_topic(&brokers, DEAD_LETTER_TOPIC, 1, bad.len()).await;
    wait_for_zero_lag(&brokers, "poison", LIFECYCLE, 3).await;
    let status = router.terminate(WAIT).await;
    assert!(status.success(), "{status:?}");
    assert!(
        receiver
            .drain()
            .iter()
            .all(|r| delivered.contains(&r.event_id())),
        "no bad record is delivered"
    );
    assert_eq!(letters.len(), bad.len(), "one dead letter per bad record");
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
        assert_eq!(headers["dlq-original-topic"], LIFECYCLE);
        assert!(!headers["dlq-detail"].is_empty(), "{label} has a detail");
        assert_eq!(payload, value, "{label}: the original value is kept");
    }
}
