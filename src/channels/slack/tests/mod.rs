//! Tests of the Slack notifier against the Slack stand-in on `127.0.0.1:0`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use url::Url;

use testkit::slack::{SlackReply, SlackRequest, SlackServer};

use crate::channels::slack::{SECTION_TEXT_MAX, TRUNCATION_MARKER, default_message};
use crate::channels::test_retries::retried;
use crate::channels::{
    ChannelState, Delivered, FailureKind, SlackNotifier, SlackProgress, SlackSettings, SlackTarget,
    apply_color,
};

mod messages;

const TOKEN: &str = "xoxb-1234-secret-token";

fn client() -> crate::channels::HttpClient {
    crate::channels::http::loopback_client()
}

fn webhook(server: &SlackServer) -> SlackNotifier {
    SlackNotifier::new(
        client(),
        SlackSettings {
            target: SlackTarget::IncomingWebhook {
                url: server.webhook_url(),
            },
            timeout: Duration::from_secs(5),
        },
    )
}

fn bot(server: &SlackServer) -> SlackNotifier {
    SlackNotifier::new(
        client(),
        SlackSettings {
            target: SlackTarget::Bot {
                token: TOKEN.into(),
                api_url: server.api_url(),
            },
            timeout: Duration::from_secs(5),
        },
    )
}

fn channels(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

fn message() -> Value {
    json!({"text": "Instance created", "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Instance created*"}}
    ]})
}

fn posted_channels(requests: &[SlackRequest]) -> Vec<&str> {
    requests
        .iter()
        .map(|r| r.channel().expect("a channel"))
        .collect()
}

#[tokio::test]
async fn webhook_posts_the_message_as_json() {
    let mut server = SlackServer::start().await;
    let delivered = webhook(&server)
        .send(&message(), &[], &SlackProgress::new())
        .await;
    assert_eq!(
        delivered.expect("delivered"),
        Delivered {
            status: 200,
            attempts: 1
        }
    );
    let request = server.next().await;
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, server.webhook_url().path());
    assert_eq!(
        request.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(request.header("authorization"), None);
    assert_eq!(request.json, message());
}

#[tokio::test]
async fn webhook_no_service_is_permanent_and_names_the_redacted_endpoint() {
    let mut server = SlackServer::start().await;
    server.reply(SlackReply::status(404, "no_service"));
    let error = webhook(&server)
        .send(&message(), &[], &SlackProgress::new())
        .await
        .expect_err("no_service fails");
    server.next().await;
    assert_eq!(error.kind, FailureKind::Permanent);
    assert_eq!(error.status, Some(404));
    let port = server.webhook_url().port().expect("a port");
    assert_eq!(
        error.message,
        format!(
            "Slack webhook http://127.0.0.1:{port}/**** answered HTTP 404 Not Found: \
             no_service"
        )
    );
    assert!(!error.message.contains("webhookSecret123"));
}

#[tokio::test]
async fn webhook_errors_are_classified_by_string_then_status() {
    let cases = [
        (
            SlackReply::status(400, "invalid_payload"),
            FailureKind::Permanent,
        ),
        (
            SlackReply::status(403, "action_prohibited"),
            FailureKind::Permanent,
        ),
        (
            SlackReply::status(410, "channel_is_archived"),
            FailureKind::Permanent,
        ),
        (
            SlackReply::status(500, "rollup_error"),
            FailureKind::Retryable,
        ),
        (
            SlackReply::raw(502, "<html>bad gateway</html>"),
            FailureKind::Retryable,
        ),
        (SlackReply::rate_limited(7), FailureKind::Retryable),
    ];
    for (reply, kind) in cases {
        let server = SlackServer::start().await;
        server.reply(reply.clone());
        let error = webhook(&server)
            .send(&message(), &[], &SlackProgress::new())
            .await
            .expect_err("fails");
        assert_eq!(error.kind, kind, "{reply:?}: {}", error.message);
        if let SlackReply::RateLimited { .. } = reply {
            assert_eq!(error.retry_after, Some(Duration::from_secs(7)));
            assert!(error.message.contains("rate_limited"), "{}", error.message);
        }
    }
}

#[tokio::test]
async fn bot_posts_each_channel_and_records_a_rejected_one() {
    let mut server = SlackServer::start().await;
    server.reply_for("C2", SlackReply::api_error("channel_not_found"));
    let progress = SlackProgress::new();
    let delivered = bot(&server)
        .send(&message(), &channels(&["C1", "C2", "C3"]), &progress)
        .await
        .expect("delivered to the channels that exist");
    assert_eq!(delivered.status, 200);
    assert_eq!(progress.delivered(), channels(&["C1", "C3"]));
    assert_eq!(
        progress.rejected(),
        vec![("C2".to_owned(), "channel_not_found".to_owned())]
    );
    assert!(progress.pending().is_empty());

    let mut requests = Vec::new();
    for _ in 0..3 {
        requests.push(server.next().await);
    }
    assert_eq!(posted_channels(&requests), ["C1", "C2", "C3"]);
    for request in &requests {
        assert_eq!(request.path, "/api/chat.postMessage");
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(
            request.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        let mut expected = message();
        expected["channel"] = json!(request.channel());
        assert_eq!(request.json, expected);
    }
}

#[tokio::test]
async fn invalid_auth_is_permanent_and_stops_at_the_first_channel() {
    let mut server = SlackServer::start().await;
    server.reply(SlackReply::api_error("invalid_auth"));
    let progress = SlackProgress::new();
    let error = bot(&server)
        .send(&message(), &channels(&["C1", "C2"]), &progress)
        .await
        .expect_err("invalid_auth fails");
    assert_eq!(error.kind, FailureKind::Permanent);
    assert_eq!(error.status, Some(200));
    let port = server.api_url().port().expect("a port");
    assert_eq!(
        error.message,
        format!(
            "Slack chat.postMessage at http://127.0.0.1:{port} refused the \
             message for every channel: C1: invalid_auth; C2: invalid_auth"
        )
    );
    server.next().await;
    assert_eq!(server.hits(), 1, "no point posting C2 with a bad token");
    assert_eq!(
        progress.state("C2"),
        Some(ChannelState::Rejected {
            error: "invalid_auth".to_owned()
        })
    );
}

#[tokio::test]
async fn every_channel_rejected_is_permanent() {
    let server = SlackServer::start().await;
    server.reply(SlackReply::api_error("channel_not_found"));
    server.reply(SlackReply::api_error("is_archived"));
    let error = bot(&server)
        .send(&message(), &channels(&["C1", "C2"]), &SlackProgress::new())
        .await
        .expect_err("no channel takes it");
    assert_eq!(error.kind, FailureKind::Permanent);
    assert!(
        error
            .message
            .ends_with("every channel: C1: channel_not_found; C2: is_archived"),
        "{}",
        error.message
    );
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn ratelimited_in_a_200_answer_keeps_the_channel_pending() {
    let server = SlackServer::start().await;
    server.reply_for("C1", SlackReply::api_error("ratelimited"));
    let progress = SlackProgress::new();
    let error = bot(&server)
        .send(&message(), &channels(&["C1", "C2"]), &progress)
        .await
        .expect_err("rate limited");
    assert_eq!(error.kind, FailureKind::Retryable);
    assert_eq!(error.retry_after, None);
    assert!(
        error
            .message
            .contains(": 2 of 2 channels still pending (C1: ratelimited); 0 delivered"),
        "{}",
        error.message
    );
    assert_eq!(progress.pending(), channels(&["C1", "C2"]));
    assert_eq!(server.hits(), 1, "a rate limit stops the attempt");
}

#[tokio::test]
async fn retry_after_is_honoured_and_delivered_channels_are_not_posted_again() {
    let mut server = SlackServer::start().await;
    server.reply_for("C2", SlackReply::rate_limited(1));
    let notifier = bot(&server);
    let progress = SlackProgress::new();
    let targets = channels(&["C1", "C2", "C3"]);
    let message = message();
    let started = Instant::now();
    let delivered = retried(3, |_| notifier.send(&message, &targets, &progress))
        .await
        .expect("delivered on the second attempt");
    assert_eq!(delivered.attempts, 2);
    let mut requests = Vec::new();
    for _ in 0..4 {
        requests.push(server.next().await);
    }
    assert_eq!(posted_channels(&requests), ["C1", "C2", "C2", "C3"]);
    assert_eq!(server.hits(), 4);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}, Retry-After asked for 1 s",
        started.elapsed()
    );
    assert_eq!(progress.delivered(), targets);
}

#[tokio::test]
async fn a_429_reports_retry_after_and_status() {
    let server = SlackServer::start().await;
    server.reply(SlackReply::rate_limited(30));
    let error = bot(&server)
        .send(&message(), &channels(&["C1"]), &SlackProgress::new())
        .await
        .expect_err("rate limited");
    assert_eq!(error.kind, FailureKind::Retryable);
    assert_eq!(error.status, Some(429));
    assert_eq!(error.retry_after, Some(Duration::from_secs(30)));
    assert!(
        error
            .message
            .contains("(C1: ratelimited (HTTP 429 Too Many Requests))"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn unknown_answers_are_classified_by_status() {
    let cases = [
        (
            SlackReply::raw(503, "<html>down</html>"),
            FailureKind::Retryable,
        ),
        (
            SlackReply::api_error("something_new"),
            FailureKind::Permanent,
        ),
        (SlackReply::raw(200, "hello"), FailureKind::Permanent),
        (
            SlackReply::status(500, "internal_error"),
            FailureKind::Retryable,
        ),
    ];
    for (reply, kind) in cases {
        let server = SlackServer::start().await;
        server.reply(reply.clone());
        let error = bot(&server)
            .send(&message(), &channels(&["C1"]), &SlackProgress::new())
            .await
            .expect_err("fails");
        assert_eq!(error.kind, kind, "{reply:?}: {}", error.message);
    }
}

#[tokio::test]
async fn a_warning_is_still_success() {
    let server = SlackServer::start().await;
    server.reply(SlackReply::raw(
        200,
        r#"{"ok":true,"warning":"missing_charset","ts":"1.2"}"#,
    ));
    let delivered = bot(&server)
        .send(&message(), &channels(&["C1"]), &SlackProgress::new())
        .await;
    assert!(delivered.is_ok(), "{delivered:?}");
}

#[tokio::test]
async fn an_unreachable_api_keeps_every_channel_pending() {
    let port = testkit::receiver::free_port();
    let notifier = SlackNotifier::new(
        client(),
        SlackSettings {
            target: SlackTarget::Bot {
                token: TOKEN.into(),
                api_url: Url::parse(&format!("http://127.0.0.1:{port}/api/")).expect("url"),
            },
            timeout: Duration::from_secs(5),
        },
    );
    let progress = SlackProgress::new();
    let error = notifier
        .send(&message(), &channels(&["C1", "C2"]), &progress)
        .await
        .expect_err("nobody listens");
    assert_eq!(error.kind, FailureKind::Retryable);
    assert!(
        error.message.contains("connection refused"),
        "{}",
        error.message
    );
    assert_eq!(progress.pending(), channels(&["C1", "C2"]));
}

#[tokio::test]
async fn a_finished_delivery_posts_nothing_more() {
    let server = SlackServer::start().await;
    let notifier = bot(&server);
    let progress = SlackProgress::new();
    let targets = channels(&["C1", "C1", "C2"]);
    notifier
        .send(&message(), &targets, &progress)
        .await
        .expect("delivered");
    assert_eq!(server.hits(), 2, "C1 listed twice is posted once");
    notifier
        .send(&message(), &targets, &progress)
        .await
        .expect("still delivered");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_bot_without_channels_or_a_bad_message_fails_permanently_without_posting() {
    let server = SlackServer::start().await;
    let notifier = bot(&server);
    let error = notifier
        .send(&message(), &[], &SlackProgress::new())
        .await
        .expect_err("no channels");
    assert_eq!(error.kind, FailureKind::Permanent);
    assert!(error.message.contains("no channels"), "{}", error.message);

    let error = notifier
        .send(
            &json!({"blocks": []}),
            &channels(&["C1"]),
            &SlackProgress::new(),
        )
        .await
        .expect_err("nothing to show");
    assert_eq!(error.kind, FailureKind::Permanent);
    assert!(
        error.message.contains("needs a non-empty"),
        "{}",
        error.message
    );
    assert_eq!(server.hits(), 0);
}

#[test]
fn the_notifier_debug_hides_the_token() {
    let notifier = SlackNotifier::new(
        client(),
        SlackSettings {
            target: SlackTarget::bot(TOKEN),
            timeout: Duration::from_secs(10),
        },
    );
    let shown = format!("{notifier:?}");
    assert!(shown.contains("token: \"****\""), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
}

#[tokio::test]
async fn misconfigured_settings_fail_every_attempt_permanently() {
    let notifier = SlackNotifier::new(
        client(),
        SlackSettings {
            target: SlackTarget::bot(""),
            timeout: Duration::from_secs(1),
        },
    );
    let error = notifier
        .send(&message(), &channels(&["C1"]), &SlackProgress::new())
        .await
        .expect_err("misconfigured");
    assert_eq!(error.kind, FailureKind::Permanent);
    assert_eq!(
        error.message,
        "Slack destination https://slack.com is misconfigured: the bot \
         token is empty"
    );
}

#[tokio::test]
async fn a_bot_posts_to_one_channel_once_a_second_and_to_others_meanwhile() {
    let mut server = SlackServer::start().await;
    let notifier = bot(&server);
    let started = std::time::Instant::now();
    let busy = async {
        for _ in 0..3 {
            let progress = SlackProgress::new();
            notifier
                .send(&message(), &channels(&["C1"]), &progress)
                .await
                .expect("posted");
        }
    };
    let other = async {
        let progress = SlackProgress::new();
        notifier
            .send(&message(), &channels(&["C2"]), &progress)
            .await
            .expect("posted");
    };
    tokio::join!(busy, other);
    let requests: Vec<SlackRequest> = vec![
        server.next().await,
        server.next().await,
        server.next().await,
        server.next().await,
    ];
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1900),
        "three posts to C1 take two intervals"
    );
    let posted = posted_channels(&requests);
    assert_eq!(
        posted.iter().rposition(|c| *c == "C1"),
        Some(3),
        "C2 does not wait behind C1's paced posts: {posted:?}"
    );
    assert_eq!(posted.iter().filter(|c| **c == "C1").count(), 3);
}
