//! The operator console in a real browser: headless Chromium, driven through chromedriver,
//! against `notification-router run` on its embedded broker with a webhook receiver. Signing in
//! (a wrong token refused), turning a source off (its confirmation showing what that would have
//! done to its retained traffic) and seeing the next event not delivered, explaining an event
//! down to its failing clause, replaying a dead letter (dry run first) and seeing it arrive, a
//! change without the CSRF token refused, a retried delivery's attempts and its resend, a silence
//! made, muting, and expired; axe-core finds no serious or critical violation on any page, and
//! each page is saved as a screenshot (`target/ui-screenshots/`).
//!
//! Not part of plain `cargo test` (it needs chromium and chromium-driver): run with
//! `cargo test --locked --test ui` (`scripts/test` does, after the rest).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod browser;
mod history;
mod impact;
mod router;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use thirtyfour::prelude::*;

use testkit::kafka::produce_events_to;
use testkit::receiver::Receiver;
use testkit::router::{Setup, lifecycle_event, topic, webhook};
use testkit::smtp::{Script, SmtpServer};

use browser::{Driver, assert_accessible, click_through, eventually_on_page, screenshot};
use router::{Router, TOKEN, admin_lines};

/// The lifecycle source's Kafka topic.
pub const LIFECYCLE: &str = "lifecycle";

/// Two topics on the lifecycle source: instance updates to `hook`, instance creations to
/// `refusing` (which answers 400 while it is broken: its deliveries are dead-lettered) and by
/// email.
fn topics() -> Vec<(String, String)> {
    vec![
        topic(
            "instance-updates",
            "  - id: lifecycle\n    rules:\n      - event_type_filter: $.type =~ 'instance:update$'",
            "  - { name: updates-to-hook, destination: hook }",
        ),
        topic(
            "instance-creations",
            "  - id: lifecycle\n    rules:\n      - event_type_filter: $.type =~ 'instance:create$'",
            "  - { name: creations-to-refusing, destination: refusing }\n  - { name: creations-by-email, destination: mail, recipients: [oncall@example.com] }",
        ),
        topic(
            "instance-deletions",
            "  - id: lifecycle\n    rules:\n      - event_type_filter: $.type =~ 'instance:delete$'",
            "  - { name: deletions-to-flaky, destination: flaky }",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_browser() {
    let broken = Arc::new(AtomicBool::new(true));
    let is_broken = broken.clone();
    let flaky_once = AtomicBool::new(true);
    let mut receiver = Receiver::answering(Arc::new(move |path, _| {
        Some(match path {
            "/refusing" if is_broken.load(Ordering::SeqCst) => 400,
            "/flaky" if flaky_once.swap(false, Ordering::SeqCst) => 503,
            _ => 200,
        })
    }))
    .await;
    let smtp = SmtpServer::start(Script::new());
    let destinations = format!(
        "{}{}{}  - id: mail\n    type: email\n    smtp: {{ url: {}, starttls: off }}\n    from: alerts@example.com\n",
        webhook("hook", receiver.url("/hook"), ""),
        webhook("refusing", receiver.url("/refusing"), ""),
        webhook(
            "flaky",
            receiver.url("/flaky"),
            "    retry: { retries: 2, initial_backoff: 100ms, max_backoff: 200ms, schedule: [] }\n"
        ),
        smtp.url()
    );
    let (admin, base) = admin_lines();
    // The deliveries page reads the delivery ledger.
    let router_extra = format!("{admin}ledger:\n  enabled: true\n");
    let setup = Setup {
        router_extra: &router_extra,
        ..Setup::lifecycle("embedded", "console", &destinations, topics())
    };
    let (dir, config) = setup.write();
    let router = Router::start(&config, base.clone()).await;
    let driver = Driver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.browser(profile.path()).await;

    sign_in(&browser, &base).await;
    let webhook_id = dead_letter_replayed(&browser, &router, &mut receiver, &broken).await;
    impact::shown_before_a_source_is_turned_off(&browser, &router, &mut receiver).await;
    source_off_drops_events(&browser, &router, &mut receiver).await;
    explain_shows_the_failing_clause(&browser, &base).await;
    change_without_csrf_refused(&browser, &base).await;
    other_pages(&browser, &base).await;
    history::delivery_retried_and_resent(&browser, &router, &mut receiver).await;
    history::silence_mutes_then_expires(&browser, &router, &mut receiver).await;
    println!("replayed delivery {webhook_id} arrived");

    browser.quit().await.unwrap();
    drop(router);
    drop(dir);
}

/// A wrong token is refused without detail; the admin token opens a session.
async fn sign_in(browser: &WebDriver, base: &str) {
    browser.goto(format!("{base}/ui/sign-in")).await.unwrap();
    screenshot(browser, "sign-in").await;
    assert_accessible(browser, "sign-in").await;
    browser
        .find(By::Id("token"))
        .await
        .unwrap()
        .send_keys("not-the-token")
        .await
        .unwrap();
    click_through(browser, By::Css("main button[type=submit]")).await;
    let problem = browser.find(By::Id("sign-in-problem")).await.unwrap();
    assert_eq!(
        problem.text().await.unwrap(),
        "✗ That token is not accepted."
    );
    assert!(
        browser
            .find_all(By::Css("form[action='/ui/sign-out']"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_accessible(browser, "sign-in, refused").await;

    browser
        .find(By::Id("token"))
        .await
        .unwrap()
        .send_keys(TOKEN)
        .await
        .unwrap();
    click_through(browser, By::Css("main button[type=submit]")).await;
    let signed_in = browser
        .find(By::Css("form[action='/ui/sign-out'] button"))
        .await
        .unwrap();
    assert_eq!(signed_in.text().await.unwrap(), "Sign out");
    assert_eq!(browser.current_url().await.unwrap().path(), "/ui/");
    let cookies = browser.get_all_cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|c| c.name == "nr_console")
        .expect("a session cookie");
    assert_eq!(session.http_only, Some(true));
}

/// An instance creation refused by `refusing` (400) is dead-lettered; the dead-letters page
/// lists it, a dry run says what a replay would do, and the replay (the receiver fixed) arrives
/// with the same webhook-id.
async fn dead_letter_replayed(
    browser: &WebDriver,
    router: &Router,
    receiver: &mut Receiver,
    broken: &AtomicBool,
) -> String {
    let create = lifecycle_event(
        "resource-controller.instance.create",
        "evt-create",
        "us-south",
        "db",
    );
    produce_events_to(&router.brokers, LIFECYCLE, &[create]).await;
    let refused = receiver.next().await;
    assert_eq!((refused.path.as_str(), refused.status), ("/refusing", 400));
    let webhook_id = refused.header("webhook-id").unwrap().to_owned();

    browser
        .goto(format!("{}/ui/dead-letters", router.admin))
        .await
        .unwrap();
    eventually_on_page(browser, "the dead letter", |page| {
        page.contains(&webhook_id)
    })
    .await;
    let row = browser
        .find(By::Css("table.letters tbody tr"))
        .await
        .unwrap();
    let text = row.text().await.unwrap();
    assert!(text.contains("delivery: delivery-rejected"), "{text}");
    assert!(text.contains("creations-to-refusing → refusing"), "{text}");
    row.find(By::Css("summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let headers = row
        .find(By::Css("table.headers"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(headers.contains(&webhook_id), "{headers}");
    screenshot(browser, "dead-letters").await;
    assert_accessible(browser, "dead letters").await;

    broken.store(false, Ordering::SeqCst);
    click_through(browser, By::Id("replay-dry-run")).await;
    let summary = browser
        .find(By::Id("replay-summary"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(summary.contains("1 would be replayed"), "{summary}");
    assert!(
        receiver.next_within(Duration::from_secs(2)).await.is_none(),
        "a dry run sends nothing"
    );
    screenshot(browser, "dead-letters-dry-run").await;
    assert_accessible(browser, "dead letters, dry run").await;
    click_through(browser, By::Id("replay-for-real")).await;
    let summary = browser
        .find(By::Id("replay-summary"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(summary.contains("1 replayed"), "{summary}");
    let replayed = receiver.next().await;
    assert_eq!(
        (replayed.path.as_str(), replayed.status),
        ("/refusing", 200)
    );
    assert_eq!(replayed.header("webhook-id"), Some(webhook_id.as_str()));
    webhook_id
}

/// Turning the lifecycle source off through its confirmation: the next event is read and
/// dropped, never delivered; turned on again, the one after is delivered.
async fn source_off_drops_events(browser: &WebDriver, router: &Router, receiver: &mut Receiver) {
    browser
        .goto(format!("{}/ui/sources", router.admin))
        .await
        .unwrap();
    screenshot(browser, "sources").await;
    assert_accessible(browser, "sources").await;
    click_through(browser, By::Id("disable-lifecycle")).await;
    let meanwhile = browser
        .find(By::Id("meanwhile"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(meanwhile.contains("each event is dropped"), "{meanwhile}");
    assert!(
        meanwhile.contains("does not deliver what arrived meanwhile"),
        "{meanwhile}"
    );
    screenshot(browser, "source-confirm").await;
    assert_accessible(browser, "source confirmation").await;
    click_through(browser, By::Id("confirm")).await;
    let notice = browser
        .find(By::Css("p.notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(notice, "✓ Source lifecycle is now off.");

    let dropped = "notification_router_events_dropped_source_disabled_total{source=\"lifecycle\"}";
    let off = lifecycle_event(
        "resource-controller.instance.update",
        "evt-while-off",
        "us-south",
        "db",
    );
    produce_events_to(&router.brokers, LIFECYCLE, &[off]).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while router.metric(dropped).await < 1.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the event was never read and dropped"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    click_through(browser, By::Id("enable-lifecycle")).await;
    impact::shown_before_a_source_is_turned_on(browser).await;
    click_through(browser, By::Id("confirm")).await;
    let notice = browser
        .find(By::Css("p.notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(notice, "✓ Source lifecycle is now on.");
    let on = lifecycle_event(
        "resource-controller.instance.update",
        "evt-while-on",
        "us-south",
        "db",
    );
    produce_events_to(&router.brokers, LIFECYCLE, &[on]).await;
    let delivered = receiver.next().await;
    assert_eq!(delivered.path, "/hook");
    assert_eq!(
        delivered.event_id(),
        "evt-while-on",
        "the event read while off was not delivered"
    );
    assert!(receiver.drain().is_empty());
}

/// The shipped instance-creation example, explained: the creations topic matches, the updates
/// topic's rule fails, its failing clause marked.
async fn explain_shows_the_failing_clause(browser: &WebDriver, base: &str) {
    browser.goto(format!("{base}/ui/explain")).await.unwrap();
    let example = browser.find(By::Id("example")).await.unwrap();
    thirtyfour::components::SelectElement::new(&example)
        .await
        .unwrap()
        .select_by_value("instance-create.json")
        .await
        .unwrap();
    click_through(browser, By::Css("form[method=get] button")).await;
    let event = browser
        .find(By::Id("event"))
        .await
        .unwrap()
        .value()
        .await
        .unwrap()
        .unwrap();
    assert!(event.contains("App Configuration"), "{event}");
    click_through(browser, By::Id("explain")).await;
    let mut failing = Vec::new();
    for clause in browser
        .find_all(By::Css("li.clause.fails > code"))
        .await
        .unwrap()
    {
        failing.push(clause.text().await.unwrap());
    }
    assert!(
        failing.iter().any(|c| c == "$.type =~ 'instance:update$'"),
        "{failing:?}"
    );
    let verdict = browser
        .find(By::Css("li.clause.fails > .verdict"))
        .await
        .unwrap();
    assert_eq!(verdict.text().await.unwrap(), "✗ fails");
    let result = browser
        .find(By::Id("result"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(result.contains("✓ matches instance-creations"), "{result}");
    assert!(
        result.contains("✗ does not match instance-updates"),
        "{result}"
    );
    assert!(
        result.contains("creations-to-refusing → refusing"),
        "{result}"
    );
    let frame = browser.find(By::Css("iframe.email")).await.unwrap();
    assert_eq!(frame.attr("sandbox").await.unwrap().as_deref(), Some(""));
    frame.enter_frame().await.unwrap();
    let email = browser
        .find(By::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(email.contains("App Configuration-0001"), "{email}");
    browser.enter_default_frame().await.unwrap();
    screenshot(browser, "explain").await;
    assert_accessible(browser, "explain").await;
}

/// A change posted from the page without the form's CSRF token is refused with 403, and
/// changes nothing.
async fn change_without_csrf_refused(browser: &WebDriver, base: &str) {
    browser.goto(format!("{base}/ui/sources")).await.unwrap();
    let status = browser
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            fetch('/ui/sources/lifecycle', {method: 'POST', credentials: 'same-origin',
              headers: {'content-type': 'application/x-www-form-urlencoded'},
              body: 'enabled=false'})
              .then(r => done(r.status)).catch(e => done(String(e)));"#,
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(status.json(), 403);
    browser.refresh().await.unwrap();
    assert!(
        !browser
            .find_all(By::Id("disable-lifecycle"))
            .await
            .unwrap()
            .is_empty(),
        "still on"
    );
}

/// The overview (with the last hour's deliveries) and topics pages.
async fn other_pages(browser: &WebDriver, base: &str) {
    browser.goto(format!("{base}/ui/")).await.unwrap();
    let chart = browser.find(By::Css("svg.chart")).await.unwrap();
    assert!(
        !chart
            .find_all(By::Css("rect.bar.delivered"))
            .await
            .unwrap()
            .is_empty()
    );
    screenshot(browser, "overview").await;
    assert_accessible(browser, "overview").await;
    keyboard(browser).await;

    browser.goto(format!("{base}/ui/topics")).await.unwrap();
    let updates = browser
        .find(By::Css("section[aria-labelledby='topic-instance-updates']"))
        .await
        .unwrap();
    let matched = updates
        .find(By::Css("tbody td.num"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(matched, "1", "the update delivered while the source was on");
    screenshot(browser, "topics").await;
    assert_accessible(browser, "topics").await;
}

/// From the keyboard: the first Tab reaches the skip link, with its focus outline shown; Enter
/// on it moves focus to the page's content, and the next Tabs walk the navigation.
async fn keyboard(browser: &WebDriver) {
    browser
        .action_chain()
        .send_keys(Key::Tab)
        .perform()
        .await
        .unwrap();
    let focused = browser.active_element().await.unwrap();
    assert_eq!(focused.text().await.unwrap(), "Skip to content");
    assert_eq!(focused.css_value("outline-style").await.unwrap(), "solid");
    browser
        .action_chain()
        .send_keys(Key::Enter)
        .perform()
        .await
        .unwrap();
    let focused = browser.active_element().await.unwrap();
    assert_eq!(focused.id().await.unwrap().as_deref(), Some("main"));
    browser
        .find(By::Css("nav a"))
        .await
        .unwrap()
        .focus()
        .await
        .unwrap();
    browser
        .action_chain()
        .send_keys(Key::Tab)
        .perform()
        .await
        .unwrap();
    let focused = browser.active_element().await.unwrap();
    assert_eq!(focused.text().await.unwrap(), "Sources");
    assert_eq!(focused.css_value("outline-style").await.unwrap(), "solid");
}
