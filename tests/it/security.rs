//! Signed webhooks and the SSRF guard end to end: Kafka in, a receiver verifying with the
//! `standardwebhooks` crate, a name resolving to loopback refused and dead-lettered, and the
//! system's proxy variables ignored.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::HeaderMap;
use standardwebhooks::Webhook;

use crate::support::*;

/// A Standard Webhooks secret for tests only: `whsec_` and the base64 of 24 bytes.
const SECRET: &str = "whsec_dGVzdC1zZWNyZXQtb2YtMjQtYnl0ZXMh";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_delivery_verifies_with_the_standardwebhooks_library() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", &receiver.url("/hook"), "")
        + &format!("    signing: {{ secrets: [\"{SECRET}\"] }}\n")
        + &webhook("unsigned", &receiver.url("/unsigned"), "")
        + &format!("    signing: {{ secrets: [\"{SECRET}\"] }}\n");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: signed, destination: hook }\n  - { name: off, destination: unsigned, signing_enabled: false }",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "signed", &destinations, topics).start();
    let event = lifecycle_event(
        "resource-controller.instance.create",
        "evt-signed",
        "us-south",
        "db",
    );
    kafka.produce_events("lifecycle", &[event]).await;
    let mut requests = receiver.take(2).await;
    router.stop().await;
    requests.sort_by(|a, b| a.path.cmp(&b.path));
    let (signed, unsigned) = (&requests[0], &requests[1]);
    assert_eq!(signed.path, "/hook");

    let mut headers = HeaderMap::new();
    for (name, value) in &signed.headers {
        headers.insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            value.parse().expect("value"),
        );
    }
    let body = String::from_utf8(signed.raw.clone()).expect("a JSON body");
    let verifier = Webhook::new(SECRET).expect("the library reads the secret");
    verifier
        .verify(body.as_bytes(), &headers)
        .expect("the delivery verifies");
    let tampered = body.replace("evt-signed", "evt-forged");
    assert!(verifier.verify(tampered.as_bytes(), &headers).is_err());

    assert!(!unsigned.headers.contains_key("webhook-signature"));
    assert!(unsigned.headers.contains_key("webhook-id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_resolving_to_loopback_is_refused_and_dead_lettered_without_a_request() {
    let kafka = Kafka::start(&["lifecycle"]);
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let receiver = Receiver::start(Arc::new(move |_, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        Some(200)
    }))
    .await;
    let url = format!("http://localhost:{}/hook", receiver.addr.port());
    let destinations = webhook("hook", &url, "");
    let router = Setup {
        // The default policy: no `allow_private_networks`.
        http: "  request_timeout: 5s\n",
        ..Setup::lifecycle(kafka.brokers(), "ssrf", &destinations, all_to_hook())
    }
    .start();
    let event = lifecycle_event(
        "resource-controller.instance.create",
        "evt-ssrf",
        "us-south",
        "db",
    );
    kafka.produce_events("lifecycle", &[event]).await;
    let letters = kafka.dead_letters(1).await;
    router.stop().await;

    let (headers, _) = &letters[0];
    assert_eq!(headers["dlq-reason"], "delivery-rejected", "{headers:?}");
    assert_eq!(headers["dlq-attempts"], "1", "a refusal is not retried");
    let detail = &headers["dlq-detail"];
    assert!(
        detail.starts_with(&format!(
            "refused to connect to http://localhost:{}: localhost resolves",
            receiver.addr.port()
        )) && detail.contains("(loopback)")
            && detail.contains("http.allow_private_networks"),
        "{detail}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_proxy_variables_are_ignored() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    // A "proxy" that counts what reaches it (and answers 200, as a forwarding proxy would).
    let proxied = Arc::new(AtomicUsize::new(0));
    let counter = proxied.clone();
    let proxy = Receiver::start(Arc::new(move |_, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        Some(200)
    }))
    .await;
    let destinations = webhook("hook", &receiver.url("/hook"), "");
    let setup = Setup::lifecycle(kafka.brokers(), "no-proxy", &destinations, all_to_hook());
    let (_dir, config) = setup.write();

    let proxy_url = proxy.url("");
    let mut command = Command::new(env!("CARGO_BIN_EXE_notification-router"));
    command
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for name in ["NO_PROXY", "no_proxy"] {
        command.env_remove(name);
    }
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env(name, &proxy_url);
    }
    let mut router = command.spawn().expect("the router starts");

    let event = lifecycle_event(
        "resource-controller.instance.create",
        "evt-no-proxy",
        "us-south",
        "db",
    );
    kafka.produce_events("lifecycle", &[event]).await;
    let delivered = receiver.next().await;
    assert!(
        Command::new("kill")
            .args(["-TERM", &router.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    tokio::task::spawn_blocking(move || router.wait().unwrap())
        .await
        .unwrap();

    assert_eq!(delivered.path, "/hook");
    assert_eq!(delivered.event_id(), "evt-no-proxy");
    assert_eq!(
        proxied.load(Ordering::SeqCst),
        0,
        "nothing went through the proxy"
    );
}
