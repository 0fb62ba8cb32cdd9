//! Tests of the email notifier against a real SMTP server, parsing what it received.

use std::time::Duration;

use lettre::Address;
use lettre::message::Mailbox;

use testkit::smtp::{ParsedMailbox, Received, Script, SmtpServer, closed_port};

use crate::channels::test_retries::retried;
use crate::channels::{
    DeliveryError, EmailContent, EmailMessage, EmailNotifier, EmailProgress, EmailSettings,
    FailureKind, StartTls,
};

mod failures;
mod injection;

fn address(text: &str) -> Address {
    text.parse().expect("valid address")
}

fn addresses(names: &[&str]) -> Vec<Address> {
    names
        .iter()
        .map(|n| address(&format!("{n}@example.net")))
        .collect()
}

fn mailbox(text: &str) -> Mailbox {
    text.parse().expect("valid mailbox")
}

fn settings(url: &str) -> EmailSettings {
    EmailSettings {
        starttls: StartTls::Off,
        reply_to: Some(mailbox("Ops <ops@example.com>")),
        connect_timeout: Duration::from_secs(2),
        send_timeout: Duration::from_secs(5),
        ..EmailSettings::new(
            url.parse().expect("valid url"),
            mailbox("Notification Router <router@example.com>"),
        )
    }
}

fn notifier(settings: EmailSettings) -> EmailNotifier {
    EmailNotifier::new(settings).expect("valid settings")
}

fn content() -> EmailContent {
    EmailContent {
        subject: "Größe überschritten – instance deleted".to_owned(),
        text: "Instance db-1 was deleted.\r\nRegion: eu-de\r\n".to_owned(),
        html: "<p>Instance <b>db-1</b> was deleted &amp; is gone.</p>".to_owned(),
    }
}

fn message<'a>(recipients: &'a [Address], content: &'a EmailContent) -> EmailMessage<'a> {
    EmailMessage {
        delivery_id: "msg_5d1e",
        notification_id: "notif-42",
        recipients,
        from_name: None,
        reply_to: None,
        content,
    }
}

/// Sends with retries, returning the result and the progress.
async fn deliver(
    notifier: &EmailNotifier,
    message: &EmailMessage<'_>,
) -> (
    Result<crate::channels::Delivered, DeliveryError>,
    EmailProgress,
) {
    let progress = EmailProgress::new(message.recipients);
    let result = retried(2, |_| notifier.send(message, &progress)).await;
    (result, progress)
}

fn envelope_recipients(received: &[Received]) -> Vec<Vec<String>> {
    received.iter().map(|r| r.recipients.clone()).collect()
}

fn strings(addresses: &[Address]) -> Vec<String> {
    addresses.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn sends_both_parts_and_every_header() {
    let server = SmtpServer::start(Script::new());
    let notifier = notifier(settings(&server.url()));
    let recipients = addresses(&["ana", "bo"]);
    let content = content();
    let progress = EmailProgress::new(&recipients);

    let delivered = notifier
        .send(&message(&recipients, &content), &progress)
        .await
        .expect("delivered");

    assert_eq!((delivered.status, delivered.attempts), (250, 1));
    assert_eq!(progress.delivered(), recipients);
    let [received] = server.wait_for(1).try_into().expect("one message");
    assert_eq!(received.from, "router@example.com");
    assert_eq!(received.recipients, strings(&recipients));
    assert!(received.data.is_ascii(), "lettre encodes everything");
    let email = received.parse();
    assert_eq!(
        email.from,
        vec![ParsedMailbox {
            name: Some("Notification Router".to_owned()),
            address: "router@example.com".to_owned()
        }]
    );
    assert_eq!(
        email.reply_to,
        vec![ParsedMailbox {
            name: Some("Ops".to_owned()),
            address: "ops@example.com".to_owned()
        }]
    );
    assert_eq!(email.subject.as_deref(), Some(content.subject.as_str()));
    assert_eq!(email.message_id.as_deref(), Some("msg_5d1e.0@example.com"));
    assert_eq!(email.header("Auto-Submitted"), Some("auto-generated"));
    assert_eq!(email.header("X-Notification-Id"), Some("notif-42"));
    assert!(email.header("Date").is_some());
    assert_eq!(email.header("To"), Some("undisclosed-recipients:;"));
    assert_eq!(email.to_groups, vec!["undisclosed-recipients".to_owned()]);
    assert!(email.to.is_empty());
    assert_eq!(email.part_types, vec!["text/plain", "text/html"]);
    assert_eq!(
        email.part_charsets,
        vec![Some("utf-8".to_owned()), Some("utf-8".to_owned())]
    );
    assert_eq!(email.text.as_deref(), Some(content.text.as_str()));
    assert_eq!(email.html.as_deref(), Some(content.html.as_str()));
}

#[tokio::test]
async fn from_name_and_reply_to_replace_the_configured_ones() {
    let server = SmtpServer::start(Script::new());
    let notifier = notifier(settings(&server.url()));
    let recipients = addresses(&["ana"]);
    let content = content();
    let message = EmailMessage {
        from_name: Some("Billing Alerts"),
        reply_to: Some(mailbox("Billing <billing@example.org>")),
        ..message(&recipients, &content)
    };

    notifier
        .send(&message, &EmailProgress::new(&recipients))
        .await
        .expect("delivered");

    let email = server.wait_for(1)[0].parse();
    assert_eq!(
        email.from,
        vec![ParsedMailbox {
            name: Some("Billing Alerts".to_owned()),
            address: "router@example.com".to_owned()
        }]
    );
    assert_eq!(email.reply_to[0].address, "billing@example.org");
}

#[tokio::test]
async fn hostile_subject_adds_no_header_and_no_recipient() {
    let server = SmtpServer::start(Script::new());
    let notifier = notifier(settings(&server.url()));
    let recipients = addresses(&["ana"]);
    let content = EmailContent {
        subject: "x\r\nBcc: evil@example.com".to_owned(),
        ..content()
    };
    let message = EmailMessage {
        notification_id: "n\r\nCc: evil@example.com",
        from_name: Some("Eve\r\nTo: evil@example.com"),
        ..message(&recipients, &content)
    };

    notifier
        .send(&message, &EmailProgress::new(&recipients))
        .await
        .expect("delivered");

    let received = &server.wait_for(1)[0];
    assert_eq!(received.recipients, strings(&recipients));
    let email = received.parse();
    assert_eq!(email.subject.as_deref(), Some("x Bcc: evil@example.com"));
    assert_eq!(email.from[0].address, "router@example.com");
    assert_eq!(
        email.header_names(),
        vec![
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "Auto-Submitted",
            "X-Notification-Id",
            "Reply-To",
            "MIME-Version",
            "Content-Type",
        ]
    );
}

#[tokio::test]
async fn batches_carry_their_own_recipients_only() {
    let server = SmtpServer::start(Script::new());
    let notifier = notifier(EmailSettings {
        batch_size: 3,
        ..settings(&server.url())
    });
    let recipients = addresses(&["a", "b", "c", "d", "e", "f", "g"]);
    let content = content();
    let progress = EmailProgress::new(&recipients);

    notifier
        .send(&message(&recipients, &content), &progress)
        .await
        .expect("delivered");

    assert_eq!(server.transactions(), 3);
    let received = server.wait_for(3);
    assert_eq!(
        envelope_recipients(&received),
        vec![
            strings(&recipients[0..3]),
            strings(&recipients[3..6]),
            strings(&recipients[6..7]),
        ]
    );
    for (batch, message) in received.iter().enumerate() {
        let email = message.parse();
        assert_eq!(
            email.message_id,
            Some(format!("msg_5d1e.{batch}@example.com"))
        );
        let data = String::from_utf8_lossy(&message.data);
        for recipient in &recipients {
            assert!(
                !data.contains(&recipient.to_string()),
                "{recipient} appears in batch {batch}"
            );
        }
    }
    assert_eq!(progress.delivered(), recipients);
}

#[tokio::test]
async fn a_rejected_recipient_does_not_stop_the_others() {
    let server =
        SmtpServer::start(Script::new().reject_rcpt("b@example.net", 550, "5.1.1 No such user"));
    let notifier = notifier(settings(&server.url()));
    let recipients = addresses(&["a", "b", "c"]);
    let content = content();

    let (result, progress) = deliver(&notifier, &message(&recipients, &content)).await;

    let delivered = result.expect("delivered to the others");
    assert_eq!((delivered.status, delivered.attempts), (250, 1));
    assert_eq!(
        progress.delivered(),
        vec![recipients[0].clone(), recipients[2].clone()]
    );
    assert_eq!(
        progress.rejected(),
        vec![(recipients[1].clone(), "550 5.1.1 No such user".to_owned())]
    );
    assert!(progress.pending().is_empty());
    // The batch, then one transaction per recipient.
    assert_eq!(server.transactions(), 4);
    assert_eq!(
        envelope_recipients(&server.accepted()),
        vec![strings(&recipients[0..1]), strings(&recipients[2..3])]
    );
}

#[tokio::test]
async fn a_deferred_batch_is_retried_one_recipient_at_a_time() {
    let server = SmtpServer::start(Script::new().reject_rcpt_times(
        "b@example.net",
        1,
        450,
        "4.2.0 Greylisted, try again",
    ));
    let notifier = notifier(settings(&server.url()));
    let recipients = addresses(&["a", "b", "c"]);
    let content = content();

    let (result, progress) = deliver(&notifier, &message(&recipients, &content)).await;

    assert_eq!(result.expect("delivered on the retry").attempts, 2);
    assert_eq!(progress.delivered(), recipients);
    assert_eq!(server.transactions(), 4);
    let received = server.accepted();
    assert_eq!(
        envelope_recipients(&received),
        vec![
            strings(&recipients[0..1]),
            strings(&recipients[1..2]),
            strings(&recipients[2..3]),
        ]
    );
    for message in &received {
        assert_eq!(
            message.parse().message_id.as_deref(),
            Some("msg_5d1e.0@example.com")
        );
    }
}

#[tokio::test]
async fn delivered_and_rejected_recipients_are_not_sent_again() {
    let server = SmtpServer::start(
        Script::new()
            .reject_rcpt("b@example.net", 550, "5.1.1 No such user")
            .reject_rcpt_times("c@example.net", 1, 452, "4.2.2 Mailbox full"),
    );
    let notifier = notifier(settings(&server.url()));
    let recipients = addresses(&["a", "b", "c"]);
    let content = content();
    let message = message(&recipients, &content);
    let progress = EmailProgress::new(&recipients);

    let first = notifier
        .send(&message, &progress)
        .await
        .expect_err("c is deferred");
    assert_eq!(first.kind, FailureKind::Retryable);
    assert_eq!(first.status, Some(452));
    assert!(
        first.message.contains("4.2.2 Mailbox full")
            && first.message.contains("<c@example.net>")
            && first.message.contains(&server.url()),
        "{}",
        first.message
    );
    assert!(
        first
            .message
            .ends_with("1 of 3 recipients pending, 1 delivered, 1 rejected"),
        "{}",
        first.message
    );
    assert_eq!(progress.pending(), recipients[2..3]);

    let second = notifier.send(&message, &progress).await.expect("c now");
    assert_eq!(second.status, 250);
    assert_eq!(
        envelope_recipients(&server.accepted()),
        vec![strings(&recipients[0..1]), strings(&recipients[2..3])]
    );
    assert_eq!(progress.rejected()[0].0, recipients[1]);
    // Batch, a, b, c; then c alone.
    assert_eq!(server.transactions(), 5);
}

#[tokio::test]
async fn message_id_is_stable_across_a_retry() {
    let server = SmtpServer::start(Script::new().fail_data(1, 451, "4.3.0 Try again later"));
    let notifier = notifier(settings(&server.url()));
    let recipients = addresses(&["a"]);
    let content = content();

    let (result, _) = deliver(&notifier, &message(&recipients, &content)).await;

    assert_eq!(result.expect("delivered on the retry").attempts, 2);
    let refused = server.refused();
    let accepted = server.accepted();
    assert_eq!((refused.len(), accepted.len()), (1, 1));
    assert_eq!(
        refused[0].parse().message_id,
        accepted[0].parse().message_id
    );
}

#[tokio::test]
async fn format_renders_the_first_batch_without_network() {
    let notifier = notifier(EmailSettings {
        batch_size: 2,
        ..settings(&format!("smtp://127.0.0.1:{}", closed_port()))
    });
    let recipients = addresses(&["a", "b", "c"]);
    let content = EmailContent {
        text: "line 1\nline 2\n".to_owned(),
        ..content()
    };

    let data = notifier
        .format(&message(&recipients, &content))
        .expect("formats");

    let email = Received {
        from: String::new(),
        recipients: Vec::new(),
        data: data.clone(),
    }
    .parse();
    assert_eq!(email.message_id.as_deref(), Some("msg_5d1e.0@example.com"));
    assert_eq!(email.text.as_deref(), Some("line 1\r\nline 2\r\n"));
    assert_eq!(email.html.as_deref(), Some(content.html.as_str()));
    let text = String::from_utf8(data).expect("ASCII");
    assert!(!text.contains("example.net"), "no recipient in {text}");
}

#[tokio::test]
async fn progress_for_other_recipients_is_refused() {
    let notifier = notifier(settings("smtp://127.0.0.1:25"));
    let content = content();
    let recipients = addresses(&["a"]);
    let error = notifier
        .send(
            &message(&recipients, &content),
            &EmailProgress::new(&addresses(&["b"])),
        )
        .await
        .expect_err("mismatch");
    assert_eq!(error.kind, FailureKind::Permanent);
}

#[test]
fn send_is_spawnable() {
    fn is_send<T: Send>(_: &T) {}
    let content = content();
    let recipients = addresses(&["a"]);
    let message = message(&recipients, &content);
    let progress = EmailProgress::new(&recipients);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    let notifier = notifier(settings("smtp://127.0.0.1:25"));
    is_send(&notifier.send(&message, &progress));
}

#[test]
fn new_outside_a_runtime_is_an_error() {
    let error = EmailNotifier::new(settings("smtp://127.0.0.1:25")).expect_err("no runtime");
    assert_eq!(
        error.to_string(),
        "the email notifier for smtp://127.0.0.1:25 must be created inside a Tokio runtime"
    );
}
