//! What the email notifier does when the SMTP server refuses, is unreachable, stays silent or
//! lacks STARTTLS.

use testkit::receiver::Silent;

use super::*;

#[tokio::test]
async fn refused_data_is_permanent_with_the_reply() {
    let server =
        SmtpServer::start(Script::new().fail_data(1, 554, "5.6.0 Message content rejected"));
    let notifier = notifier(settings(&server.url()));
    let recipients = addresses(&["a"]);
    let content = content();

    let (result, progress) = deliver(&notifier, &message(&recipients, &content)).await;

    let error = result.expect_err("refused");
    assert_eq!(error.kind, FailureKind::Permanent);
    assert_eq!((error.status, error.attempts), (Some(554), 1));
    assert_eq!(
        error.message,
        format!(
            "{} rejected all 1 recipient: <a@example.net>: 554 5.6.0 Message content rejected",
            server.url()
        )
    );
    assert_eq!(
        progress.rejected(),
        vec![(
            recipients[0].clone(),
            "554 5.6.0 Message content rejected".to_owned()
        )]
    );
    assert!(server.accepted().is_empty());
}

#[tokio::test]
async fn refused_data_for_a_batch_rejects_each_recipient() {
    let server =
        SmtpServer::start(Script::new().fail_data(4, 554, "5.6.0 Message content rejected"));
    let notifier = notifier(settings(&server.url()));
    let recipients = addresses(&["a", "b", "c"]);
    let content = content();

    let (result, progress) = deliver(&notifier, &message(&recipients, &content)).await;

    let error = result.expect_err("refused");
    assert_eq!(
        (error.kind, error.status),
        (FailureKind::Permanent, Some(554))
    );
    assert!(
        error.message.contains("rejected all 3 recipients"),
        "{}",
        error.message
    );
    assert_eq!(progress.rejected().len(), 3);
    assert_eq!(server.transactions(), 4);
    assert!(server.accepted().is_empty());
}

#[tokio::test]
async fn connection_refused_is_retryable() {
    let url = format!("smtp://127.0.0.1:{}", closed_port());
    let notifier = notifier(settings(&url));
    let recipients = addresses(&["a"]);
    let content = content();
    let progress = EmailProgress::new(&recipients);

    let error = notifier
        .send(&message(&recipients, &content), &progress)
        .await
        .expect_err("nobody listens");

    assert_eq!((error.kind, error.status), (FailureKind::Retryable, None));
    assert!(
        error
            .message
            .starts_with(&format!("cannot send to {url}: "))
            && error.message.to_lowercase().contains("refused"),
        "{}",
        error.message
    );
    assert_eq!(progress.pending(), recipients);
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let silent = Silent::start().await;
    let url = format!("smtp://{}", silent.addr);
    let notifier = notifier(EmailSettings {
        send_timeout: Duration::from_millis(300),
        ..settings(&url)
    });
    let recipients = addresses(&["a"]);
    let content = content();

    let error = notifier
        .send(
            &message(&recipients, &content),
            &EmailProgress::new(&recipients),
        )
        .await
        .expect_err("no greeting");

    assert_eq!(error.kind, FailureKind::Retryable);
    assert_eq!(
        error.message,
        format!(
            "timed out after 300ms sending batch 1 (1 recipient) to {url}; \
             1 of 1 recipient pending, 0 delivered, 0 rejected"
        )
    );
    drop(silent);
}

#[tokio::test]
async fn starttls_required_sends_nothing_to_a_server_without_it() {
    let server = SmtpServer::start(Script::new());
    let recipients = addresses(&["a"]);
    let content = content();
    let required = notifier(EmailSettings {
        starttls: StartTls::Required,
        ..settings(&server.url())
    });

    let error = required
        .send(
            &message(&recipients, &content),
            &EmailProgress::new(&recipients),
        )
        .await
        .expect_err("no STARTTLS offered");

    assert_eq!(error.kind, FailureKind::Permanent);
    assert!(error.message.contains("STARTTLS"), "{}", error.message);
    assert_eq!(server.transactions(), 0);

    let opportunistic = notifier(EmailSettings {
        starttls: StartTls::Opportunistic,
        ..settings(&server.url())
    });
    opportunistic
        .send(
            &message(&recipients, &content),
            &EmailProgress::new(&recipients),
        )
        .await
        .expect("clear text when not offered");
    assert_eq!(server.wait_for(1).len(), 1);
}
