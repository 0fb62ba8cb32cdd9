//! Tests of the webhook notifier and retries against real HTTP servers on `127.0.0.1:0`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use url::Url;

use testkit::receiver::{Receiver, Reply, Silent, endless_error, refused_url};

use crate::channels::http::loopback_client;
use crate::channels::test_retries::retried;
use crate::channels::{Delivered, FailureKind, Signer, Verb, WebhookNotifier, WebhookSettings};

mod signing;
mod verbs;

const BODY: &str =
    r#"{"id":"n-1","type":"com.ibm.cloud.resource-lifecycle-events.instance:create"}"#;

fn settings(url: Url) -> WebhookSettings {
    WebhookSettings {
        url,
        verb: Verb::Post,
        custom_headers: vec![("X-Team".to_owned(), "platform".to_owned())],
        sensitive_headers: vec![("Authorization".to_owned(), "Bearer s3cret".into())],
        timeout: Duration::from_secs(5),
        signer: Signer::default(),
        oauth2: None,
        tls: None,
    }
}

fn notifier(settings: WebhookSettings) -> WebhookNotifier {
    WebhookNotifier::new(loopback_client(), settings)
}

#[tokio::test]
async fn sends_the_verb_headers_and_body() {
    for verb in [Verb::Post, Verb::Put, Verb::Patch, Verb::Get] {
        let mut receiver = Receiver::start(vec![]).await;
        let hook = notifier(WebhookSettings {
            verb,
            ..settings(receiver.url("hooks/a?b=c"))
        });
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after epoch")
            .as_secs();
        let delivered = hook
            .send("msg_1", Bytes::from_static(BODY.as_bytes()), false)
            .await;
        assert_eq!(
            delivered.expect("delivered"),
            Delivered {
                status: 200,
                attempts: 1
            }
        );

        let request = receiver.next().await;
        assert_eq!(request.method.as_str(), format!("{verb:?}").to_uppercase());
        assert_eq!(request.uri.to_string(), "/hooks/a?b=c");
        assert_eq!(request.header("webhook-id"), Some("msg_1"));
        let timestamp: u64 = request
            .header("webhook-timestamp")
            .expect("timestamp")
            .parse()
            .expect("seconds");
        assert!((before..=before + 5).contains(&timestamp), "{timestamp}");
        let agent = format!("notification-router/{}", env!("CARGO_PKG_VERSION"));
        assert_eq!(request.header("user-agent"), Some(agent.as_str()));
        assert_eq!(request.header("x-team"), Some("platform"));
        assert_eq!(request.header("authorization"), Some("Bearer s3cret"));
        if verb == Verb::Get {
            assert_eq!(request.header("content-type"), None);
            assert!(request.body.is_empty());
        } else {
            assert_eq!(request.header("content-type"), Some("application/json"));
            assert_eq!(request.body, BODY.as_bytes());
        }
    }
}

#[tokio::test]
async fn any_2xx_is_delivered() {
    for status in [200, 201, 202, 204] {
        let receiver = Receiver::start(vec![Reply::status(status)]).await;
        let delivered = notifier(settings(receiver.url("x")))
            .send("id", Bytes::from(BODY), false)
            .await;
        assert_eq!(
            delivered.expect("delivered"),
            Delivered {
                status,
                attempts: 1
            }
        );
    }
}

#[tokio::test]
async fn a_500_is_retried_with_the_same_id() {
    let mut receiver = Receiver::start(vec![Reply::status(500).body("busy")]).await;
    let hook = notifier(settings(receiver.url("x")));
    let result = retried(3, |_| hook.send("msg_2", Bytes::from(BODY), false)).await;
    assert_eq!(
        result.expect("second attempt succeeds"),
        Delivered {
            status: 200,
            attempts: 2
        }
    );
    for _ in 0..2 {
        assert_eq!(receiver.next().await.header("webhook-id"), Some("msg_2"));
    }
}

#[tokio::test]
async fn client_errors_are_permanent_and_not_retried() {
    for status in [400, 404, 410] {
        let receiver = Receiver::start(vec![Reply::status(status).body("no such hook")]).await;
        let hook = notifier(settings(receiver.url("x")));
        let error = retried(3, |_| hook.send("id", Bytes::from(BODY), false))
            .await
            .expect_err("client error fails");
        assert_eq!(
            (error.kind, error.status, error.attempts),
            (FailureKind::Permanent, Some(status), 1)
        );
        assert!(
            error.message.starts_with(&format!("HTTP {status} ")),
            "{}",
            error.message
        );
        assert!(
            error.message.ends_with(": no such hook"),
            "{}",
            error.message
        );
        assert_eq!(receiver.hits(), 1);
    }
}

#[tokio::test]
async fn a_429_retry_after_is_honoured() {
    let mut receiver = Receiver::start(vec![Reply::status(429).header("retry-after", "1")]).await;
    let hook = notifier(settings(receiver.url("x")));
    let started = Instant::now();
    let result = retried(3, |_| hook.send("id", Bytes::from(BODY), false)).await;
    assert_eq!(
        result.expect("retry succeeds"),
        Delivered {
            status: 200,
            attempts: 2
        }
    );
    receiver.next().await;
    receiver.next().await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let target = Receiver::start(vec![]).await;
    let redirect = Reply::status(302).header("location", target.url("elsewhere").to_string());
    let receiver = Receiver::start(vec![redirect]).await;
    let error = notifier(settings(receiver.url("x")))
        .send("id", Bytes::from(BODY), false)
        .await
        .expect_err("a redirect is a failure");
    assert_eq!(
        (error.kind, error.status),
        (FailureKind::Retryable, Some(302))
    );
    assert!(error.message.contains("not followed"), "{}", error.message);
    assert_eq!(receiver.hits(), 1);
    assert_eq!(target.hits(), 0);
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let silent = Silent::start().await;
    let hook = notifier(WebhookSettings {
        timeout: Duration::from_millis(200),
        ..settings(silent.url.clone())
    });
    let started = Instant::now();
    let error = hook
        .send("id", Bytes::from(BODY), false)
        .await
        .expect_err("times out");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((error.kind, error.status), (FailureKind::Retryable, None));
    assert!(
        error.message.starts_with("timed out after 200ms"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_refused_connection_is_retryable() {
    let url = refused_url();
    let error = notifier(settings(url.clone()))
        .send("id", Bytes::from(BODY), false)
        .await
        .expect_err("nobody listens");
    assert_eq!((error.kind, error.status), (FailureKind::Retryable, None));
    let origin = format!("http://{}:{}", url.host_str().unwrap(), url.port().unwrap());
    assert_eq!(error.message, format!("connection refused to {origin}"));
}

#[tokio::test]
async fn error_messages_quote_at_most_512_characters_of_the_body() {
    let long = format!("{}{}", "a".repeat(512), "b".repeat(100_000));
    let receiver = Receiver::start(vec![Reply::status(503).body(long)]).await;
    let error = notifier(settings(receiver.url("x")))
        .send("id", Bytes::from(BODY), false)
        .await
        .expect_err("503 fails");
    assert_eq!(
        error.message,
        format!("HTTP 503 Service Unavailable: {}…", "a".repeat(512))
    );
    assert_eq!(error.kind, FailureKind::Retryable);
}

#[tokio::test]
async fn misconfigured_headers_fail_permanently_without_a_request() {
    let receiver = Receiver::start(vec![]).await;
    let cases = [
        (("bad name", "v"), false, "invalid header name"),
        (("webhook-id", "v"), false, "set by the notifier"),
        (("x-token", "line\nbreak"), true, "invalid value \"****\""),
    ];
    for ((name, value), sensitive, needle) in cases {
        let mut settings = settings(receiver.url("x"));
        if sensitive {
            settings.sensitive_headers = vec![(name.to_owned(), value.into())];
        } else {
            settings.custom_headers = vec![(name.to_owned(), value.to_owned())];
        }
        assert!(
            settings
                .check()
                .expect_err("rejected")
                .to_string()
                .contains(needle)
        );
        let error = notifier(settings)
            .send("id", Bytes::from(BODY), false)
            .await
            .expect_err("misconfigured");
        assert_eq!(error.kind, FailureKind::Permanent);
        assert!(!error.message.contains("line\nbreak"), "{}", error.message);
    }
    assert_eq!(receiver.hits(), 0);
}

#[test]
fn debug_never_shows_sensitive_values() {
    let url = Url::parse("https://user:pw@example.com/hook").expect("valid url");
    let shown = format!("{:?}", notifier(settings(url)));
    assert!(shown.contains("\"Authorization\", \"****\""), "{shown}");
    assert!(shown.contains("platform"), "{shown}");
    assert!(
        !shown.contains("s3cret") && !shown.contains(":pw@"),
        "{shown}"
    );
}

/// A receiver answering 500 with a body that never ends: the router reads 20,000 bytes of it
/// (`MAX_BODY_READ`), fails the delivery with what it read and closes the connection. Reading on
/// would last until the request timeout (10 minutes here, past the test's wait) and take
/// gigabytes; the receiver manages to write only what the kernel's socket buffers hold.
#[tokio::test]
async fn an_endless_error_body_is_read_only_up_to_the_cap() {
    let (url, receiver) = endless_error().await;
    let hook = notifier(WebhookSettings {
        timeout: Duration::from_secs(600),
        ..settings(url)
    });
    let error = tokio::time::timeout(
        Duration::from_secs(60),
        hook.send("id", Bytes::from(BODY), false),
    )
    .await
    .expect("the delivery ends without reading the whole body")
    .expect_err("500 fails");
    drop(hook);
    assert_eq!(error.status, Some(500));
    assert_eq!(
        error.message,
        format!("HTTP 500 Internal Server Error: {}…", "z".repeat(512))
    );
    let written = tokio::time::timeout(Duration::from_secs(60), receiver)
        .await
        .expect("the router closed the connection")
        .unwrap();
    assert!(
        written < 64 << 20,
        "{written} bytes written: the body was read on"
    );
}
