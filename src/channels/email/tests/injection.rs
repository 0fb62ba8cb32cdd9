//! Property test: hostile event text in the subject, the sender's and reply-to names and the
//! notification id cannot add a header line or a recipient, checked on what a real SMTP server
//! received. (The names come from config in practice; this test found that a line break or NUL
//! in one made lettre panic or refuse the message.)

use std::time::Duration;

use lettre::Address;
use lettre::message::Mailbox;
use proptest::prelude::*;

use testkit::smtp::{Script, SmtpServer};

use crate::channels::{EmailMessage, EmailNotifier, EmailProgress, EmailSettings, StartTls};
use crate::render::tests::safety::{hostile, real_notification, shipped, with_every_string};

/// The header block of a raw message: its lines up to the first empty one.
fn header_lines(data: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    text.split("\r\n")
        .take_while(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The names of the header fields, folded continuation lines (starting with a space or tab)
/// belonging to the field above.
fn field_names(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|line| !line.starts_with([' ', '\t']))
        .map(|line| line.split(':').next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn hostile_names_and_subjects_add_no_header_line_or_recipient() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let server = SmtpServer::start(Script::new());
    let settings = EmailSettings {
        starttls: StartTls::Off,
        connect_timeout: Duration::from_secs(2),
        send_timeout: Duration::from_secs(5),
        ..EmailSettings::new(
            server.url().parse().expect("url"),
            "Router <router@example.com>".parse().expect("mailbox"),
        )
    };
    let notifier = runtime
        .block_on(async { EmailNotifier::new(settings) })
        .expect("valid settings");
    let templates = shipped();
    let recipients: Vec<Address> = vec!["ana@example.net".parse().expect("address")];
    let send = |text: &str| {
        let notification = with_every_string(&real_notification(), text);
        let content = templates
            .render_email("email/lifecycle", &notification)
            .expect("renders");
        let message = EmailMessage {
            delivery_id: "msg_1",
            notification_id: text,
            recipients: &recipients,
            from_name: Some(text),
            reply_to: Some(Mailbox::new(
                Some(text.to_owned()),
                "ops@example.com".parse().expect("address"),
            )),
            content: &content,
        };
        runtime
            .block_on(notifier.send(&message, &EmailProgress::new(&recipients)))
            .expect("delivered");
        let received = server.wait_for(1).remove(0);
        (content.subject, received)
    };
    let (_, baseline) = send("plain");
    let expected = field_names(&header_lines(&baseline.data));

    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(48));
    runner
        .run(&hostile(), |text| {
            let (subject, received) = send(&text);
            prop_assert_eq!(&received.recipients, &vec!["ana@example.net".to_owned()]);
            prop_assert_eq!(field_names(&header_lines(&received.data)), expected.clone());
            let email = received.parse();
            // ASCII text is sent as is, so a mail client decodes an RFC 2047 encoded word
            // (`=?utf-8?b?...?=`) that an event wrote: it shows other text, on the same line.
            if !subject.contains("=?") {
                prop_assert_eq!(email.subject.as_deref(), Some(subject.as_str()));
            }
            prop_assert_eq!(&email.from[0].address, "router@example.com");
            prop_assert_eq!(&email.reply_to[0].address, "ops@example.com");
            prop_assert!(email.to.is_empty());
            Ok(())
        })
        .expect("no hostile text changes the header");
}
