//! The admin server of a running router: probes, metrics after traffic, the read-only API.

use std::time::Duration;

use crate::support::*;

async fn get(url: &str) -> (u16, String) {
    match reqwest::get(url).await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
        Err(_) => (0, String::new()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_happened_and_the_api_lists_the_config() {
    let kafka = Kafka::start(&["metered"]);
    let mut receiver = Receiver::ok().await;
    let port = free_port();
    let admin = format!("admin:\n  listen: 127.0.0.1:{port}\n");
    let (private, public) = notification_router::channels::generate_key_pair();
    let signing = format!("    signing: {{ keys: [\"{}\"] }}\n", private.expose());
    let destinations = webhook("metered-hook", receiver.url("/hook"), &signing);
    let topics = vec![topic(
        "metered",
        "  - id: metered\n    rules:\n      - event_type_filter: $.type =~ ':create$'",
        "  - { name: metered-sub, destination: metered-hook }",
    )];
    let router = Setup {
        sources: "  - { id: metered, type: resource-lifecycle-events, enabled: true, kafka_topics: [metered] }",
        router_extra: &admin,
        ..Setup::lifecycle(kafka.brokers(), "metered", &destinations, topics)
    }
    .start();
    let base = format!("http://127.0.0.1:{port}");
    // Ready once the consumer has subscribed.
    let deadline = tokio::time::Instant::now() + WAIT;
    while get(&format!("{base}/readyz")).await.0 != 200 {
        assert!(tokio::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(get(&format!("{base}/healthz")).await.0, 200);

    kafka
        .produce_events(
            "metered",
            &[
                lifecycle_event(
                    "resource-controller.instance.create",
                    "m-1",
                    "us-south",
                    "a",
                ),
                lifecycle_event(
                    "resource-controller.instance.update",
                    "m-2",
                    "us-south",
                    "b",
                ),
            ],
        )
        .await;
    kafka
        .produce("metered", &[(Some("bad"), b"not json".to_vec(), vec![])])
        .await;
    receiver.next().await;
    kafka.dead_letters(1).await;

    let expected = [
        "notification_router_events_consumed_total{source=\"metered\"} 3",
        "notification_router_events_rejected_total{source=\"metered\",reason=\"not-json\"} 1",
        "notification_router_events_unmatched_total{source=\"metered\"} 1",
        "notification_router_notifications_routed_total{topic=\"metered\"} 1",
        "notification_router_deliveries_total{destination=\"metered-hook\",outcome=\"delivered\"} 1",
        "notification_router_delivery_latency_seconds_count{destination=\"metered-hook\"} 1",
        "notification_router_request_duration_seconds_count{destination=\"metered-hook\"} 1",
        "notification_router_config_last_reload_successful 1",
    ];
    // The router records a delivery once the receiver has answered: poll until it has.
    let deadline = tokio::time::Instant::now() + WAIT;
    let text = loop {
        let (status, text) = get(&format!("{base}/metrics")).await;
        assert_eq!(status, 200);
        let missing: Vec<&str> = expected
            .iter()
            .copied()
            .filter(|line| !text.contains(&format!("{line}\n")))
            .collect();
        if missing.is_empty() {
            break text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "missing {missing:?} from:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(text.ends_with("# EOF\n"));

    let (_, sources) = get(&format!("{base}/v1/sources")).await;
    let sources: serde_json::Value = serde_json::from_str(&sources).expect("JSON");
    assert_eq!(sources["total_count"], 1);
    assert_eq!(sources["sources"][0]["id"], "metered");
    assert_eq!(sources["sources"][0]["enabled"], true);

    // EN's public key endpoint: what receivers verify `v1a` signatures with.
    let (status, body) = get(&format!("{base}/v1/destinations/metered-hook/public_key")).await;
    assert_eq!(status, 200, "{body}");
    let key: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(key["public_key"], public.as_str());
    assert!(
        !body.contains(private.expose()),
        "the private key is never served"
    );
    assert_eq!(
        get(&format!("{base}/v1/destinations/nope/public_key"))
            .await
            .0,
        404
    );
    router.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_server_serves_https_and_reads_need_the_read_token() {
    let kafka = Kafka::start(&["lifecycle"]);
    let receiver = Receiver::ok().await;
    let port = free_port();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let admin = format!(
        "admin:\n  listen: 127.0.0.1:{port}\n  token: admin-token\n  read_token: read-token\n  tls: {{ cert: admin.pem, key: admin.key }}\n"
    );
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let setup = Setup {
        router_extra: &admin,
        ..Setup::lifecycle(kafka.brokers(), "private", &destinations, all_to_hook())
    };
    let (_dir, config) = setup.write();
    let folder = config.parent().unwrap();
    std::fs::write(folder.join("admin.pem"), certified.cert.pem()).unwrap();
    std::fs::write(
        folder.join("admin.key"),
        certified.signing_key.serialize_pem(),
    )
    .unwrap();
    let loaded = notification_router::config::load(&config).expect("valid");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(notification_router::app::run(loaded, shutdown.clone()));

    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap(),
        )
        .no_proxy()
        .build()
        .unwrap();
    let base = format!("https://localhost:{port}");
    let call = async |path: &str, token: Option<&str>| {
        let mut request = client.get(format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while call("/readyz", None).await != 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never ready over https"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Plain HTTP gets no answer.
    assert_eq!(get(&format!("http://127.0.0.1:{port}/healthz")).await.0, 0);
    assert_eq!(call("/healthz", None).await, 200, "the probes are open");
    for path in [
        "/v1/subscriptions",
        "/v1/destinations",
        "/v1/topics",
        "/metrics",
    ] {
        assert_eq!(call(path, None).await, 401, "{path} without a token");
        assert_eq!(
            call(path, Some("wrong")).await,
            401,
            "{path} with a wrong token"
        );
        assert_eq!(call(path, Some("read-token")).await, 200, "{path}");
        assert_eq!(call(path, Some("admin-token")).await, 200, "{path}");
    }
    shutdown.cancel();
    running.await.unwrap().unwrap();
}

#[test]
fn an_admin_server_other_machines_reach_needs_tls_or_an_explicit_allow() {
    let destinations = webhook("hook", "http://127.0.0.1:1/hook", "");
    for (admin, problem) in [
        ("admin:\n  listen: 0.0.0.0:9464\n", true),
        (
            "admin:\n  listen: 0.0.0.0:9464\n  allow_plaintext: true\n",
            false,
        ),
        (
            "admin:\n  listen: 0.0.0.0:9464\n  tls: { cert: a.pem, key: a.key }\n",
            false,
        ),
        ("admin:\n  listen: 127.0.0.1:9464\n", false),
    ] {
        let setup = Setup {
            router_extra: admin,
            ..Setup::lifecycle("embedded", "g", &destinations, all_to_hook())
        };
        let (_dir, config) = setup.write();
        let loaded = notification_router::config::load(&config);
        match loaded {
            Err(errors) => {
                assert!(problem, "{admin}: {errors}");
                assert!(
                    errors
                        .to_string()
                        .contains("admin.listen: 0.0.0.0:9464 is reachable from other machines"),
                    "{errors}"
                );
            }
            Ok(_) => assert!(!problem, "{admin}: accepted"),
        }
    }
}
