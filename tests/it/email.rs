//! Email deliveries end to end: Kafka to a real SMTP server on 127.0.0.1, parsed as received.

use crate::support::*;
use testkit::smtp::{Received, Script, SmtpServer};

/// The shipped lifecycle email template, as files under `templates/`.
const SHIPPED: [(&str, &str); 3] = [
    (
        "email/lifecycle.subject.hbs",
        include_str!("../../templates/email/lifecycle.subject.hbs"),
    ),
    (
        "email/lifecycle.text.hbs",
        include_str!("../../templates/email/lifecycle.text.hbs"),
    ),
    (
        "email/lifecycle.html.hbs",
        include_str!("../../templates/email/lifecycle.html.hbs"),
    ),
];

fn email_destination(server: &SmtpServer, extra: &str) -> String {
    format!(
        "  - id: mail\n    type: email\n    smtp: {{ url: {}, starttls: off }}\n    from: Platform Alerts <alerts@example.com>\n    retry: {{ retries: 2, initial_backoff: 50ms, max_backoff: 100ms }}\n{extra}",
        server.url()
    )
}

/// Waits, off the async workers, until the server has accepted `count` messages.
async fn accepted(server: &SmtpServer, count: usize) -> Vec<Received> {
    let server = server.clone();
    tokio::task::spawn_blocking(move || server.wait_for(count))
        .await
        .expect("wait_for does not panic")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_template_arrives_in_batches_with_both_parts_escaped_as_they_should_be() {
    let kafka = Kafka::start(&["lifecycle"]);
    let server = SmtpServer::start(Script::new());
    let destinations = email_destination(&server, "    batch_size: 2\n");
    let topics = vec![topic(
        "failures",
        "  - id: lifecycle",
        "  - name: oncall\n    destination: mail\n    template: email/lifecycle\n    recipients: [ana@example.net, bo@example.net, cy@example.org]\n    add_notification_payload: true\n    reply_to_mail: platform@example.com\n    reply_to_name: Platform team\n    from_name: Platform on-call",
    )];
    let router = Setup {
        templates: SHIPPED.to_vec(),
        ..Setup::lifecycle(kafka.brokers(), "email", &destinations, topics)
    }
    .start();

    let hostile = "<b>db</b> & \"prod\"";
    let event = lifecycle_event(
        "resource-controller.instance.create_failure",
        "evt-mail",
        "eu-de",
        hostile,
    );
    kafka.produce_events("lifecycle", &[event]).await;
    let messages = accepted(&server, 2).await;
    router.stop().await;

    let envelopes: Vec<Vec<String>> = messages.iter().map(|m| m.recipients.clone()).collect();
    assert_eq!(
        envelopes,
        [
            vec!["ana@example.net".to_owned(), "bo@example.net".to_owned()],
            vec!["cy@example.org".to_owned()]
        ],
        "batches of two, in order"
    );
    for message in &messages {
        assert_eq!(message.from, "alerts@example.com");
        let raw = String::from_utf8_lossy(&message.data);
        for address in ["ana@example.net", "bo@example.net", "cy@example.org"] {
            assert!(
                !raw.contains(address),
                "no recipient appears in the message itself"
            );
        }
    }
    let email = messages[0].parse();
    let subject = email.subject.clone().expect("a subject");
    assert!(
        subject.starts_with("[HIGH] instance create_failure"),
        "{subject}"
    );
    assert!(
        subject.contains(hostile),
        "the subject is not escaped: {subject}"
    );
    assert_eq!(email.from[0].name.as_deref(), Some("Platform on-call"));
    assert_eq!(email.from[0].address, "alerts@example.com");
    assert_eq!(email.reply_to[0].name.as_deref(), Some("Platform team"));
    assert_eq!(email.reply_to[0].address, "platform@example.com");
    assert_eq!(email.part_types, ["text/plain", "text/html"]);

    let text = email.text.expect("a text part");
    assert!(
        text.contains(&format!("Resource:        {hostile}")),
        "{text}"
    );
    assert!(text.contains("Region:          eu-de"), "{text}");
    assert!(
        text.contains("Initiated by:    jane.doe@example.com"),
        "{text}"
    );
    assert!(
        text.contains("Outcome:         success (reason code 201)"),
        "{text}"
    );
    assert!(text.contains("Notification payload:"), "{text}");
    assert!(text.contains("\"event_id\": \"evt-mail\""), "{text}");

    let html = email.html.expect("an HTML part");
    assert!(
        html.contains("&lt;b&gt;db&lt;/b&gt; &amp; &quot;prod&quot;"),
        "the name is escaped in the HTML part: {html}"
    );
    assert!(
        !html.contains("<b>db</b>"),
        "no markup from the event: {html}"
    );
    assert!(html.contains("#da1e28"), "HIGH is red: {html}");
    assert!(html.contains("<pre"), "the payload is appended: {html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_failures_retry_on_4xx_and_dead_letter_5xx_and_refused_recipients() {
    let kafka = Kafka::start(&["lifecycle"]);
    // First transaction: 451 (retried, then accepted). Second event: 554 for good. A refused
    // recipient does not stop the others.
    let transient = SmtpServer::start(Script::new().fail_data(1, 451, "4.3.0 Try again later"));
    let permanent = SmtpServer::start(Script::new().fail_data(10, 554, "5.7.1 Message refused"));
    let partial =
        SmtpServer::start(Script::new().reject_rcpt("gone@example.net", 550, "5.1.1 No such user"));
    let destinations = email_destination(&transient, "").replace("id: mail", "id: transient")
        + &email_destination(&permanent, "").replace("id: mail", "id: permanent")
        + &email_destination(&partial, "").replace("id: mail", "id: partial");
    let subscriptions = [
        ("to-transient", "transient", "[ana@example.net]"),
        ("to-permanent", "permanent", "[ana@example.net]"),
        (
            "to-partial",
            "partial",
            "[ana@example.net, gone@example.net, bo@example.net]",
        ),
    ]
    .map(|(name, destination, recipients)| {
        format!("  - {{ name: {name}, destination: {destination}, recipients: {recipients} }}")
    })
    .join("\n");
    let topics = vec![topic("all", "  - id: lifecycle", &subscriptions)];
    let router = Setup::lifecycle(kafka.brokers(), "email-failures", &destinations, topics).start();

    let event = lifecycle_event(
        "resource-controller.instance.delete",
        "evt-smtp",
        "us-east",
        "old-db",
    );
    kafka.produce_events("lifecycle", &[event]).await;
    let letters = kafka.dead_letters(2).await;
    let retried = accepted(&transient, 1).await;
    let delivered = partial.accepted();
    router.stop().await;

    assert_eq!(transient.transactions(), 2, "one 451, then accepted");
    assert_eq!(retried[0].recipients, ["ana@example.net"]);
    let default = retried[0].parse();
    assert_eq!(
        default.subject.as_deref(),
        Some("instance delete: old-db (success)"),
        "without a template the subject is ibmendefaultshort"
    );
    assert!(default.text.expect("text").contains("old-db"));

    let mut partial_recipients: Vec<String> = delivered
        .iter()
        .flat_map(|m| m.recipients.clone())
        .collect();
    partial_recipients.sort();
    assert_eq!(partial_recipients, ["ana@example.net", "bo@example.net"]);

    let by_destination = |d: &str| {
        letters
            .iter()
            .find(|(h, _)| h["dlq-destination"] == d)
            .map(|(h, _)| h)
            .unwrap_or_else(|| panic!("no dead letter for {d}: {letters:?}"))
    };
    let refused = by_destination("permanent");
    assert_eq!(refused["dlq-reason"], "delivery-rejected");
    assert_eq!(refused["dlq-last-status"], "554");
    assert_eq!(refused["dlq-attempts"], "1", "a 5xx is not retried");
    assert!(
        refused["dlq-detail"].contains("5.7.1 Message refused"),
        "the SMTP reply is kept: {}",
        refused["dlq-detail"]
    );
    let some = by_destination("partial");
    assert_eq!(some["dlq-reason"], "recipients-rejected");
    assert!(
        some["dlq-detail"].contains("gone@example.net")
            && some["dlq-detail"].contains("No such user"),
        "{}",
        some["dlq-detail"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_retry_sends_only_to_the_recipients_still_waiting() {
    let kafka = Kafka::start(&["lifecycle"]);
    // bo's mailbox answers 450 four times: twice in process, twice from the retry topic.
    let server = SmtpServer::start(Script::new().reject_rcpt_times(
        "bo@example.net",
        4,
        450,
        "4.2.1 Mailbox busy, try later",
    ));
    let destinations = format!(
        "  - id: mail\n    type: email\n    smtp: {{ url: {}, starttls: off }}\n    from: alerts@example.com\n    retry: {{ retries: 1, initial_backoff: 50ms, max_backoff: 50ms, schedule: [200ms, 200ms, 200ms, 200ms, 200ms], horizon: 10m }}\n    circuit_breaker: {{ failures: 100 }}\n",
        server.url()
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - name: oncall\n    destination: mail\n    recipients: [ana@example.net, bo@example.net, cy@example.org]",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "email-retry", &destinations, topics).start();
    kafka.produce_events("lifecycle", &updates(0..1)).await;
    // The retry consumer joins its group first: wait longer than the server's own wait.
    let deadline = std::time::Instant::now() + WAIT;
    while server.accepted().len() < 3 {
        assert!(std::time::Instant::now() < deadline, "bo never got it");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let retries = read_topic(kafka.brokers(), RETRY_TOPIC, 3, 2).await;
    router.stop().await;

    let envelopes: Vec<Vec<String>> = server
        .accepted()
        .iter()
        .map(|m| m.recipients.clone())
        .collect();
    let mut recipients: Vec<&String> = envelopes.iter().flatten().collect();
    recipients.sort();
    assert_eq!(
        recipients,
        ["ana@example.net", "bo@example.net", "cy@example.org"],
        "everybody got it once: {envelopes:?}"
    );
    for (_, value) in &retries {
        let job: serde_json::Value = serde_json::from_slice(value).expect("a job");
        assert_eq!(
            job["pending"],
            serde_json::json!(["bo@example.net"]),
            "the retry topic remembers who still waits"
        );
    }
}
