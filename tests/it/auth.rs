//! Authentication of HTTP destinations: OAuth2 client credentials through Kafka to a receiver
//! that requires the token server's tokens.

use testkit::oauth2::{CLIENT_ID, CLIENT_SECRET, OAuth2Server};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_fetched_again_once_and_the_delivery_succeeds() {
    let kafka = Kafka::start(&["lifecycle"]);
    // Tokens live an hour: the router keeps the first until the receiver refuses it.
    let mut server = OAuth2Server::start(3600).await;
    let destinations = webhook(
        "secured",
        server.receiver_url(),
        &format!(
            "    auth:\n      oauth2: {{ token_url: \"{}\", client_id: {CLIENT_ID}, client_secret: {CLIENT_SECRET}, scopes: [notifications.write, audit] }}\n    retry: {{ retries: 0, schedule: [] }}\n",
            server.token_url()
        ),
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-secured, destination: secured }",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "oauth2", &destinations, topics).start();

    kafka.produce_events("lifecycle", &updates(0..1)).await;
    let first = server.next().await;
    server.expire_tokens();
    kafka.produce_events("lifecycle", &updates(1..2)).await;
    let (refused, second) = (server.next().await, server.next().await);
    router.stop().await;

    assert_eq!(first.status, 200);
    assert_eq!(first.authorization.as_deref(), Some("Bearer tok-1"));
    assert_eq!(refused.status, 401, "the cached token, expired early");
    assert_eq!(refused.authorization.as_deref(), Some("Bearer tok-1"));
    assert_eq!(second.status, 200, "with a new token, in the same attempt");
    assert_eq!(second.authorization.as_deref(), Some("Bearer tok-2"));
    assert_eq!(
        server.issued(),
        2,
        "one token per refusal, none per delivery"
    );
    assert_eq!(
        server.scopes(),
        vec![Some("notifications.write audit".to_owned()); 2]
    );
}

#[test]
fn the_token_url_obeys_the_network_policy() {
    let destinations = "  - id: secured\n    type: webhook\n    url: https://hooks.example.com/x\n    auth:\n      oauth2: { token_url: \"https://169.254.169.254/token\", client_id: c, client_secret: s }\n";
    let setup = Setup {
        http: "",
        ..Setup::lifecycle("127.0.0.1:9092", "oauth2", destinations, vec![])
    };
    let (_dir, path) = setup.write();
    let error = notification_router::config::load(&path)
        .expect_err("refused")
        .to_string();
    assert!(
        error.contains("router.yaml: destinations[0] (secured).auth.oauth2.token_url: "),
        "{error}"
    );
    assert!(error.contains("169.254.169.254"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_about_to_expire_is_not_used_again() {
    let kafka = Kafka::start(&["lifecycle"]);
    // Ten seconds is inside the router's 30 s margin: each delivery needs a fresh token.
    let mut server = OAuth2Server::start(10).await;
    let destinations = webhook(
        "secured",
        server.receiver_url(),
        &format!(
            "    auth:\n      oauth2: {{ token_url: \"{}\", client_id: {CLIENT_ID}, client_secret: {CLIENT_SECRET} }}\n",
            server.token_url()
        ),
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-secured, destination: secured }",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "oauth2-expiry", &destinations, topics).start();
    kafka.produce_events("lifecycle", &updates(0..1)).await;
    let first = server.next().await;
    kafka.produce_events("lifecycle", &updates(1..2)).await;
    let second = server.next().await;
    router.stop().await;

    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(second.authorization.as_deref(), Some("Bearer tok-2"));
    assert_eq!(server.issued(), 2);
    assert_eq!(server.scopes(), vec![None, None], "no scope asked for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_requiring_a_client_certificate_accepts_the_routers_and_refuses_none() {
    use testkit::tls::{TestCa, TlsFront};

    let kafka = Kafka::start(&["lifecycle"]);
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    let ca_path = ca.write_pem(dir.path());
    let (cert, key) = ca.write_client_cert(dir.path(), "router");
    let mut receiver = Receiver::ok().await;
    let upstream = receiver.url("/").socket_addrs(|| None).unwrap()[0];
    let mut front =
        TlsFront::requiring_client_cert(ca.server_cert("localhost"), ca.cert_der(), Some(upstream))
            .await;
    let url = format!("https://localhost:{}/hook", front.addr.port());
    let once = "    retry: { retries: 0, schedule: [] }\n";
    let destinations = format!(
        "{}{}",
        webhook(
            "mutual",
            &url,
            &format!(
                "    tls: {{ client_cert: \"{cert}\", client_key: \"{key}\", ca: \"{ca_path}\" }}\n{once}"
            ),
        ),
        webhook(
            "anonymous",
            &url,
            &format!("    tls: {{ ca: \"{ca_path}\" }}\n{once}"),
        ),
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-mutual, destination: mutual }\n  - { name: to-anonymous, destination: anonymous }",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "mtls", &destinations, topics).start();
    kafka.produce_events("lifecycle", &updates(0..1)).await;
    let delivered = receiver.next().await;
    let letters = kafka.dead_letters(1).await;
    let handshakes = [front.next_handshake().await, front.next_handshake().await];
    router.stop().await;

    assert_eq!(delivered.path, "/hook");
    assert_eq!(delivered.event_id(), "evt-0");
    let refused: Vec<&String> = handshakes.iter().filter_map(|h| h.as_ref().err()).collect();
    assert_eq!(refused.len(), 1, "{handshakes:?}");
    assert!(refused[0].contains("certificate"), "{}", refused[0]);
    let (headers, _) = &letters[0];
    assert_eq!(headers["dlq-destination"], "anonymous");
    assert!(
        receiver.drain().is_empty(),
        "nothing came through without a certificate"
    );
}

#[test]
fn unreadable_or_mismatched_tls_files_stop_startup() {
    let dir = tempfile::tempdir().unwrap();
    let ca = testkit::tls::TestCa::new();
    let ca_path = ca.write_pem(dir.path());
    let cases = [
        (
            format!("{{ client_cert: \"{ca_path}\" }}"),
            "tls.client_key: is needed with client_cert",
        ),
        (
            format!("{{ ca: \"{ca_path}.missing\" }}"),
            "tls.ca: cannot read",
        ),
        (
            format!("{{ client_cert: \"{ca_path}\", client_key: \"{ca_path}\" }}"),
            "tls.client_cert: ",
        ),
    ];
    for (tls, expected) in cases {
        let destinations = format!(
            "  - id: hook\n    type: webhook\n    url: https://hooks.example.com/x\n    tls: {tls}\n"
        );
        let (_dir, path) = Setup::lifecycle("127.0.0.1:9092", "tls", &destinations, vec![]).write();
        let error = notification_router::config::load(&path)
            .expect_err("refused")
            .to_string();
        assert!(
            error.contains(&format!("router.yaml: destinations[0] (hook).{expected}")),
            "{expected}\n{error}"
        );
    }
}
