//! Kafka over TLS keeps checking the broker's host name. A local TLS listener presents a
//! certificate signed by a test CA that the router is told to trust (`ssl.ca.location`), but made
//! out to another host name: the router, configured as `router.yaml` configures it
//! (`security.protocol: SSL`, nothing about host names), must refuse the broker and say why. The
//! control: the same CA with the right host name, in front of the embedded broker, connects; so
//! the refusal is the host name's doing.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use notification_router::{config, kafka};
use rdkafka::consumer::{BaseConsumer, Consumer};
use testkit::tls::{TestCa, TlsFront};

use crate::support::*;

/// The host name the router dials; the wrong certificate is made out to [`OTHER_HOST`].
const BROKER_HOST: &str = "localhost";
const OTHER_HOST: &str = "kafka.other-host.test";
/// How long the router may take to exit on SIGTERM without a broker: its drain timeout and more.
const EXIT_LIMIT: Duration = Duration::from_secs(30);

/// `localhost:port` of `front`: the name librdkafka checks the certificate against.
fn brokers(front: &TlsFront) -> String {
    format!("{BROKER_HOST}:{}", front.addr.port())
}

/// `kafka:` lines for TLS with the test CA, and nothing else about certificates.
fn tls_properties(ca_path: &str) -> String {
    format!(
        "  properties:\n    security.protocol: SSL\n    ssl.ca.location: {ca_path}\n    broker.address.family: v4\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_certificate_for_another_host_name_is_refused_with_a_clear_error() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_path = ca.write_pem(dir.path());
    let mut front = TlsFront::start(ca.server_cert(OTHER_HOST), None).await;
    let brokers = brokers(&front);
    let kafka_extra = tls_properties(&ca_path);
    let destinations = webhook("hook", "http://127.0.0.1:9/never", "");
    let setup = Setup {
        kafka_extra: &kafka_extra,
        ..Setup::lifecycle(&brokers, "tls-wrong-host", &destinations, all_to_hook())
    };
    let (_config_dir, config) = setup.write();

    let mut router = Command::new(BIN)
        .args(["run", "--log-level", "info", "--config"])
        .arg(&config)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the router starts");
    let stderr = router.stderr.take().expect("stderr");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    // The router's side: librdkafka's log line saying the handshake failed, then the router's
    // own saying what the certificate must be.
    let mut printed = Vec::new();
    let deadline = Instant::now() + WAIT;
    let hint = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains("A Kafka broker's TLS certificate was refused.") => {
                break line;
            }
            Ok(line) => printed.push(line),
            Err(_) => panic!(
                "no refused certificate reported within {WAIT:?}; the router printed:\n{}",
                printed.join("\n")
            ),
        }
    };
    // The listener's side: the client broke the handshake off itself, with an alert.
    let handshake = front.next_handshake().await;

    assert!(
        Command::new("kill")
            .args(["-TERM", &router.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    // Bounded: an exit that hangs (as OpenSSL's exit-time cleanup under librdkafka's live
    // threads once made it) fails the test instead of holding the suite.
    let deadline = Instant::now() + EXIT_LIMIT;
    let status = loop {
        if let Some(status) = router.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = router.kill();
            panic!("the router did not exit within {EXIT_LIMIT:?} of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let failure = printed
        .iter()
        // librdkafka words it `SSL handshake failed: ...` or `... (after Nms in state
        // SSL_HANDSHAKE)`, depending on where the handshake was when it failed.
        .find(|line| line.contains("certificate verify failed"))
        .unwrap_or_else(|| panic!("librdkafka's failure is logged: {printed:#?}"));
    assert!(
        failure.contains(&format!("ssl://{brokers}/bootstrap"))
            && failure.contains("certificate verify failed"),
        "names the broker and says its certificate did not verify: {failure}"
    );
    assert!(hint.contains(&format!("broker={brokers}")), "{hint}");
    assert!(
        hint.contains("be made out to the host name \"localhost\" as kafka.brokers writes it: host names are always verified"),
        "says which name the certificate must hold: {hint}"
    );
    let error = handshake.expect_err("no handshake completes with the wrong host name");
    assert!(
        error.contains("received fatal alert"),
        "the client refused the certificate: {error}"
    );
    assert!(
        status.success(),
        "the router stopped cleanly on SIGTERM: {status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_ca_with_the_right_host_name_connects() {
    let kafka = Kafka::start(&["lifecycle"]);
    let upstream: SocketAddr = kafka
        .brokers()
        .parse()
        .expect("the embedded broker's address");
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_path = ca.write_pem(dir.path());
    let mut front = TlsFront::start(ca.server_cert(BROKER_HOST), Some(upstream)).await;
    let brokers = brokers(&front);
    let kafka_extra = tls_properties(&ca_path);
    let destinations = webhook("hook", "http://127.0.0.1:9/never", "");
    let setup = Setup {
        kafka_extra: &kafka_extra,
        ..Setup::lifecycle(&brokers, "tls-right-host", &destinations, all_to_hook())
    };
    let (_config_dir, path) = setup.write();
    let config = config::load(&path).unwrap_or_else(|e| panic!("test config invalid:\n{e}"));
    let settings = config.router.kafka.clone();

    // The router's own consumer settings, through TLS to the embedded broker.
    let metadata = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = kafka::consumer_config(&settings, &settings.brokers)
            .create()
            .expect("consumer");
        consumer
            .fetch_metadata(Some("lifecycle"), Duration::from_secs(30))
            .map(|m| (m.brokers().len(), m.topics()[0].partitions().len()))
    })
    .await
    .unwrap();

    assert_eq!(front.next_handshake().await, Ok(()));
    assert_eq!(
        metadata.expect("metadata through TLS"),
        (1, 3),
        "one broker, the topic's three partitions"
    );
}
