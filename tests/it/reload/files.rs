//! Reloads without the API: an edited file is picked up by itself, SIGHUP reloads a running
//! `notification-router run` (and an invalid edit is rejected), and a log file written beside
//! `router.yaml` makes no reload loop.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_the_files_reloads_them_without_a_signal() {
    let kafka = Kafka::start(&["filed"]);
    let mut receiver = Receiver::ok().await;
    let port = free_port();
    let admin = format!("admin:\n  listen: 127.0.0.1:{port}\n");
    let destinations = webhook("a", receiver.url("/a"), "") + &webhook("b", receiver.url("/b"), "");
    let router = Setup {
        sources: "  - id: filed\n    type: resource-lifecycle-events\n    enabled: false\n    kafka_topics: [filed]\n",
        router_extra: &admin,
        ..Setup::lifecycle(
            kafka.brokers(),
            "filed",
            &destinations,
            vec![("all.yaml".into(), route_to("filed", "a"))],
        )
    }
    .start();
    let base = format!("http://127.0.0.1:{port}");
    ready(&base).await;

    // router.yaml, edited in place: the source is turned on and its topic subscribed.
    let text = std::fs::read_to_string(&router.config).expect("router.yaml");
    std::fs::write(
        &router.config,
        text.replace("enabled: false", "enabled: true"),
    )
    .expect("write");
    kafka.produce_events("filed", &updates(0..1)).await;
    assert_eq!(receiver.next().await.path, "/a");

    // A topic file, replaced: the subscription moves.
    let topic_file = router.config.with_file_name("topics").join("all.yaml");
    std::fs::write(&topic_file, route_to("filed", "b")).expect("write");
    until("the topic file's change is in effect", async || {
        let (_, list) = call("GET", &format!("{base}/v1/subscriptions"), None, None).await;
        list.to_string().contains("\"destination_id\":\"b\"")
    })
    .await;
    kafka.produce_events("filed", &updates(1..2)).await;
    assert_eq!(receiver.next().await.path, "/b");
    router.stop().await;
}

/// The log of `router`, read again until one of its lines contains all of `needles` (the
/// router writes it meanwhile).
async fn log_contains(log: &Path, needles: &[&str]) {
    until(&format!("a log line contains {needles:?}"), async || {
        std::fs::read_to_string(log).is_ok_and(|text| {
            text.lines()
                .any(|line| needles.iter().all(|needle| line.contains(needle)))
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_a_running_router_and_an_invalid_edit_is_rejected() {
    let broker = BrokerProcess::start(BIN, &["hup"]);
    let mut receiver = Receiver::ok().await;
    let port = free_port();
    let admin = admin_section(port);
    let destinations = webhook("a", receiver.url("/a"), "") + &webhook("b", receiver.url("/b"), "");
    let (_dir, path) = Setup {
        sources: "  - { id: steady, type: resource-lifecycle-events, enabled: true, kafka_topics: [hup] }",
        router_extra: &admin,
        ..Setup::lifecycle(
            broker.brokers(),
            "hup",
            &destinations,
            vec![("all.yaml".into(), route_to("steady", "a"))],
        )
    }
    .write();
    let router = RouterProcess::start(BIN, &path, "router");
    let base = format!("http://127.0.0.1:{port}");
    ready(&base).await;
    let metric = async |value: &str| {
        let line = format!("notification_router_config_last_reload_successful {value}\n");
        until(&format!("the metric reads {value}"), async || {
            let (_, text) = call("GET", &format!("{base}/metrics"), None, None).await;
            text.as_str().is_some_and(|t| t.contains(&line))
        })
        .await;
    };
    metric("1").await;
    produce_events_to(broker.brokers(), "hup", &updates(0..1)).await;
    assert_eq!(receiver.next().await.path, "/a");

    // An invalid edit: rejected with the problems `validate` prints; the old config keeps routing.
    let topic_file = path.with_file_name("topics").join("all.yaml");
    std::fs::write(&topic_file, BROKEN_TOPIC).expect("write");
    router.signal("HUP");
    metric("0").await;
    // The file watch may reload it too: the SIGHUP's own reload is the one looked for.
    log_contains(&router.log, &["Configuration reload rejected", "SIGHUP"]).await;
    let problems = config::load(&path).expect_err("the configuration is broken");
    for problem in &problems.0 {
        log_contains(&router.log, &["Configuration problem.", &problem.message]).await;
    }
    produce_events_to(broker.brokers(), "hup", &updates(1..2)).await;
    let kept = receiver.next().await;
    assert_eq!(
        (kept.path.as_str(), kept.event_id()),
        ("/a", "evt-1".into())
    );

    // A valid edit: in effect after SIGHUP, the metric back at 1.
    std::fs::write(&topic_file, route_to("steady", "b")).expect("write");
    router.signal("HUP");
    metric("1").await;
    log_contains(&router.log, &["Configuration reloaded.", "SIGHUP"]).await;
    produce_events_to(broker.brokers(), "hup", &updates(2..3)).await;
    let moved = receiver.next().await;
    assert_eq!(
        (moved.path.as_str(), moved.event_id()),
        ("/b", "evt-2".into())
    );

    // A reload opens and reads the files; that must not start another reload.
    let reloads = || {
        std::fs::read_to_string(&router.log)
            .map(|text| text.matches("Configuration reload").count())
            .unwrap_or(0)
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled = reloads();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(reloads(), settled, "reloads with no change to the files");
    let status = router.terminate(WAIT).await;
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_file_beside_router_yaml_at_trace_level_makes_no_reload_loop() {
    let broker = BrokerProcess::start(BIN, &["quiet"]);
    let receiver = Receiver::ok().await;
    let port = free_port();
    let admin = admin_section(port);
    let (_dir, path) = Setup {
        sources: "  - { id: quiet, type: resource-lifecycle-events, enabled: true, kafka_topics: [quiet] }",
        router_extra: &admin,
        ..Setup::lifecycle(
            broker.brokers(),
            "quiet",
            &webhook("a", receiver.url("/a"), ""),
            vec![("all.yaml".into(), route_to("quiet", "a"))],
        )
    }
    .write();
    // Its log goes to router.log, in router.yaml's folder, which the router watches.
    let router = RouterProcess::start_logging(BIN, &path, "router", "trace");
    ready(&format!("http://127.0.0.1:{port}")).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let size = || std::fs::metadata(&router.log).map_or(0, |m| m.len());
    let before = size();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let grown = size() - before;
    // Idle at trace level it writes a few lines a second; a loop wrote megabytes a second.
    assert!(
        grown < 256 * 1024,
        "the log grew {grown} bytes in 3 s while idle"
    );
    let text = std::fs::read_to_string(&router.log).unwrap_or_default();
    assert_eq!(
        text.matches("Configuration files changed").count(),
        0,
        "writing the log reloaded the configuration"
    );
    let status = router.terminate(WAIT).await;
    assert!(status.success(), "{status}");
}
