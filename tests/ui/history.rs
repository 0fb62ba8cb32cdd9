//! The deliveries and silences pages: a delivery answered 503 then 200 found in the ledger with
//! both attempts, resent from its page (arriving again with the same webhook-id); a silence made
//! in the form mutes a matching event, then expired from the list.

use std::time::{Duration, Instant};

use thirtyfour::prelude::*;

use testkit::kafka::produce_events_to;
use testkit::receiver::Receiver;
use testkit::router::lifecycle_event;

use crate::LIFECYCLE;
use crate::browser::{assert_accessible, click_through, eventually_on_page, screenshot};
use crate::router::Router;

/// An instance deletion goes to `flaky`, which answers 503 once, then 200 (its in-process retry
/// is quick): the deliveries page finds it, its page shows both attempts, and Resend delivers it
/// again with the same webhook-id.
pub async fn delivery_retried_and_resent(
    browser: &WebDriver,
    router: &Router,
    receiver: &mut Receiver,
) {
    let delete = lifecycle_event(
        "resource-controller.instance.delete",
        "evt-delete",
        "us-south",
        "db",
    );
    produce_events_to(&router.brokers, LIFECYCLE, &[delete]).await;
    let first = receiver.next().await;
    assert_eq!((first.path.as_str(), first.status), ("/flaky", 503));
    let webhook_id = first.header("webhook-id").unwrap().to_owned();
    let second = receiver.next().await;
    assert_eq!((second.path.as_str(), second.status), ("/flaky", 200));
    assert_eq!(second.header("webhook-id"), Some(webhook_id.as_str()));

    browser
        .goto(format!(
            "{}/ui/deliveries?subscription=deletions-to-flaky&status=delivered",
            router.admin
        ))
        .await
        .unwrap();
    eventually_on_page(browser, "the delivered deletion", |page| {
        page.contains(&webhook_id)
    })
    .await;
    let row = browser
        .find(By::Css("table.deliveries tbody tr"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row.contains("✓ delivered"), "{row}");
    assert!(row.contains("deletions-to-flaky → flaky"), "{row}");
    screenshot(browser, "deliveries").await;
    assert_accessible(browser, "deliveries").await;

    click_through(browser, By::Css("table.deliveries tbody a")).await;
    let attempts = browser
        .find_all(By::Css("#attempts tbody tr"))
        .await
        .unwrap();
    assert_eq!(attempts.len(), 2);
    let first = attempts[0].text().await.unwrap();
    let second = attempts[1].text().await.unwrap();
    assert!(first.contains("503"), "{first}");
    assert!(second.contains("200"), "{second}");
    screenshot(browser, "delivery").await;
    assert_accessible(browser, "a delivery").await;

    click_through(browser, By::Id("resend")).await;
    let notice = browser
        .find(By::Id("resent"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(notice.starts_with("✓ Resent"), "{notice}");
    let resent = receiver.next().await;
    assert_eq!((resent.path.as_str(), resent.status), ("/flaky", 200));
    assert_eq!(resent.header("webhook-id"), Some(webhook_id.as_str()));
    assert_eq!(resent.event_id(), "evt-delete");
}

/// A silence made from the form (pre-filled by the explain page's link) mutes the next
/// matching event: it is counted as silenced and never arrives; expired, it is listed so.
pub async fn silence_mutes_then_expires(
    browser: &WebDriver,
    router: &Router,
    receiver: &mut Receiver,
) {
    browser
        .goto(format!(
            "{}/ui/explain?example=instance-create.json",
            router.admin
        ))
        .await
        .unwrap();
    click_through(browser, By::Id("explain")).await;
    let link = browser
        .find(By::Css("a.silence-link"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(link.contains("matcher=%24.type%20%3D%3D%20%27"), "{link}");
    assert!(
        link.contains("subscription=creations-to-refusing"),
        "{link}"
    );

    browser
        .goto(format!(
            "{}/ui/silences?matcher=%24.type%20%3D~%20%27instance%3Aupdate%24%27&subscription=updates-to-hook&duration=1h",
            router.admin
        ))
        .await
        .unwrap();
    let matcher = browser
        .find(By::Id("s-matcher"))
        .await
        .unwrap()
        .value()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(matcher, "$.type =~ 'instance:update$'");
    browser
        .find(By::Id("s-comment"))
        .await
        .unwrap()
        .send_keys("maintenance of db")
        .await
        .unwrap();
    click_through(browser, By::Id("make-silence")).await;
    browser.find(By::Id("silence-made")).await.unwrap();
    let row = browser
        .find(By::Css("#silences tbody tr"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row.contains("● active"), "{row}");
    assert!(row.contains("subscription updates-to-hook"), "{row}");
    assert!(row.contains("maintenance of db"), "{row}");
    screenshot(browser, "silences").await;
    assert_accessible(browser, "silences").await;

    let silenced =
        "notification_router_deliveries_silenced_total{subscription=\"updates-to-hook\"}";
    let update = lifecycle_event(
        "resource-controller.instance.update",
        "evt-silenced",
        "us-south",
        "db",
    );
    produce_events_to(&router.brokers, LIFECYCLE, &[update]).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while router.metric(silenced).await < 1.0 {
        assert!(Instant::now() < deadline, "the update was never silenced");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        receiver.next_within(Duration::from_secs(1)).await.is_none(),
        "a silenced delivery is not sent"
    );

    click_through(browser, By::Css("#silences tbody button")).await;
    browser.find(By::Id("silence-expired")).await.unwrap();
    let row = browser
        .find(By::Css("#silences tbody tr"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row.contains("○ expired"), "{row}");
    assert_accessible(browser, "silences, expired").await;
}
