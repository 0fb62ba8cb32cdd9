//! Signed webhooks and the SSRF guard end to end: Kafka in, a receiver verifying with the
//! `standardwebhooks` crate, a name resolving to loopback refused and dead-lettered, and the
//! system's proxy variables ignored.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use standardwebhooks::Webhook;

use crate::support::*;

/// A Standard Webhooks secret for tests only: `whsec_` and the base64 of 24 bytes.
const SECRET: &str = "whsec_dGVzdC1zZWNyZXQtb2YtMjQtYnl0ZXMh";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_delivery_verifies_with_the_standardwebhooks_library() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/hook"), "")
        + &format!("    signing: {{ secrets: [\"{SECRET}\"] }}\n")
        + &webhook("unsigned", receiver.url("/unsigned"), "")
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

    let headers = signed.headers.clone();
    let body = String::from_utf8(signed.body.to_vec()).expect("a JSON body");
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
    let receiver = Receiver::answering(Arc::new(move |_, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        Some(200)
    }))
    .await;
    let url = format!(
        "http://localhost:{}/hook",
        receiver.url("/").port().expect("a port")
    );
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
            receiver.url("/").port().expect("a port")
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
    let proxy = Receiver::answering(Arc::new(move |_, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        Some(200)
    }))
    .await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let setup = Setup::lifecycle(kafka.brokers(), "no-proxy", &destinations, all_to_hook());
    let (_dir, config) = setup.write();

    let proxy_url = proxy.url("").to_string();
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

/// `validate` on `setup`: (exit code, stderr).
fn validate(setup: &Setup<'_>) -> (Option<i32>, String) {
    let (_dir, config) = setup.write();
    let output = Command::new(env!("CARGO_BIN_EXE_notification-router"))
        .args(["validate", "--config"])
        .arg(&config)
        .output()
        .expect("validate runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn kafka_properties_that_load_code_are_refused_and_the_library_never_runs() {
    // A library whose constructor leaves a marker: what an attacker's plugin would run.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("constructor-ran");
    let source = dir.path().join("evil.c");
    std::fs::write(
        &source,
        format!(
            "#include <stdio.h>\n__attribute__((constructor)) static void evil(void) {{\n  FILE *f = fopen({:?}, \"w\");\n  if (f) fclose(f);\n}}\n",
            marker.display().to_string()
        ),
    )
    .unwrap();
    let library = dir.path().join("evil.so");
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .status()
        .expect("cc runs");
    assert!(built.success());

    let destinations = webhook("hook", "http://127.0.0.1:1/hook", "");
    for property in [
        "plugin.library.paths",
        "ssl.engine.location",
        "ssl.providers",
        "sasl.kerberos.kinit.cmd",
    ] {
        let value = if property == "sasl.kerberos.kinit.cmd" {
            format!("touch {}", marker.display())
        } else {
            library.display().to_string()
        };
        let kafka_extra = format!("  properties:\n    {property}: \"{value}\"\n");
        let setup = Setup {
            kafka_extra: &kafka_extra,
            ..Setup::lifecycle("embedded", "g", &destinations, all_to_hook())
        };
        let (code, stderr) = validate(&setup);
        assert_eq!(code, Some(1), "{property}: {stderr}");
        assert!(
            stderr.contains(&format!("kafka.properties.{property}: is refused")),
            "{stderr}"
        );
        // `run` refuses it too, before any Kafka client exists.
        let (_dir, config) = setup.write();
        let mut run = Command::new(env!("CARGO_BIN_EXE_notification-router"))
            .args(["run", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the router runs");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let exited = loop {
            match run.try_wait().expect("wait") {
                Some(status) => break Some(status),
                None if std::time::Instant::now() > deadline => break None,
                None => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        };
        if exited.is_none() {
            let _ = run.kill();
            let _ = run.wait();
        }
        assert!(!marker.exists(), "{property}: the library ran");
        assert!(
            exited.is_some_and(|s| !s.success()),
            "{property}: the router started"
        );
    }
}

#[test]
fn a_password_over_plaintext_is_refused_unless_the_brokers_are_this_machine() {
    let destinations = webhook("hook", "http://127.0.0.1:1/hook", "");
    let plain = "  properties:\n    security.protocol: SASL_PLAINTEXT\n    sasl.mechanisms: PLAIN\n    sasl.username: u\n    sasl.password: p\n";
    for (brokers, refused) in [
        ("kafka.example.com:9092", true),
        ("127.0.0.1:9092,kafka.example.com:9092", true),
        ("127.0.0.1:9092,[::1]:9093,localhost:9094", false),
    ] {
        let setup = Setup {
            kafka_extra: plain,
            ..Setup::lifecycle(brokers, "g", &destinations, all_to_hook())
        };
        let (code, stderr) = validate(&setup);
        if refused {
            assert_eq!(code, Some(1), "{brokers}: {stderr}");
            assert!(
                stderr.contains(
                    "kafka.properties.sasl.mechanisms: PLAIN over security.protocol SASL_PLAINTEXT"
                ),
                "{stderr}"
            );
        } else {
            assert_eq!(code, Some(0), "{brokers}: {stderr}");
        }
    }
    // SCRAM sends no password, and SASL_SSL encrypts it.
    for properties in [
        "  properties:\n    security.protocol: SASL_PLAINTEXT\n    sasl.mechanisms: SCRAM-SHA-512\n",
        "  properties:\n    security.protocol: SASL_SSL\n    sasl.mechanisms: PLAIN\n",
    ] {
        let setup = Setup {
            kafka_extra: properties,
            ..Setup::lifecycle("kafka.example.com:9092", "g", &destinations, all_to_hook())
        };
        let (code, stderr) = validate(&setup);
        assert_eq!(code, Some(0), "{properties}: {stderr}");
    }
}
