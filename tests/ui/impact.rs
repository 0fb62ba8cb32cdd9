//! A source toggle's confirmation shows what the toggle would have done to the source's retained
//! traffic: per subscription, the deliveries before and after, those lost or gained, and sample
//! events with the reason.

use thirtyfour::prelude::*;

use testkit::kafka::produce_events_to;
use testkit::receiver::Receiver;
use testkit::router::lifecycle_event;

use crate::LIFECYCLE;
use crate::browser::{assert_accessible, click_through, screenshot};
use crate::router::Router;

/// Two more instance creations (three with the one dead-lettered before), delivered; then the
/// confirmation of turning the lifecycle source off counts the three lost by each creations
/// subscription, with samples, and the page is left without confirming.
pub async fn shown_before_a_source_is_turned_off(
    browser: &WebDriver,
    router: &Router,
    receiver: &mut Receiver,
) {
    let creations: Vec<_> = (1..=2)
        .map(|n| {
            lifecycle_event(
                "resource-controller.instance.create",
                &format!("evt-create-{n}"),
                "us-south",
                "db",
            )
        })
        .collect();
    produce_events_to(&router.brokers, LIFECYCLE, &creations).await;
    for _ in 0..2 {
        let delivered = receiver.next().await;
        assert_eq!(
            (delivered.path.as_str(), delivered.status),
            ("/refusing", 200)
        );
    }

    browser
        .goto(format!("{}/ui/sources", router.admin))
        .await
        .unwrap();
    click_through(browser, By::Id("disable-lifecycle")).await;
    let summary = text(browser, By::Id("impact-summary")).await;
    assert!(
        summary.starts_with("3 record(s) of lifecycle's Kafka topics"),
        "{summary}"
    );
    for subscription in ["creations-to-refusing", "creations-by-email"] {
        assert_eq!(
            counts(browser, subscription).await,
            ["3", "0", "0", "3"],
            "{subscription}"
        );
    }
    let samples = text(browser, By::Css("ul.samples")).await;
    for id in ["evt-create", "evt-create-1", "evt-create-2"] {
        assert!(samples.contains(&format!("lost: {id} ")), "{samples}");
    }
    assert!(
        samples.contains(
            "before: topic instance-creations rule 1 matches; now: source lifecycle is disabled"
        ),
        "{samples}"
    );
    assert!(
        browser
            .find_all(By::Css("tr[data-subscription='updates-to-hook']"))
            .await
            .unwrap()
            .is_empty(),
        "no update was read"
    );
    screenshot(browser, "source-confirm-impact").await;
    assert_accessible(browser, "source confirmation with its impact").await;
}

/// On the confirmation of turning the source on again: the creations are gained.
pub async fn shown_before_a_source_is_turned_on(browser: &WebDriver) {
    for subscription in ["creations-to-refusing", "creations-by-email"] {
        assert_eq!(
            counts(browser, subscription).await,
            ["0", "3", "3", "0"],
            "{subscription}"
        );
    }
    let samples = text(browser, By::Css("ul.samples")).await;
    assert!(samples.contains("gained: evt-create-1 "), "{samples}");
}

/// Before, after, gained and lost of `subscription`'s row.
async fn counts(browser: &WebDriver, subscription: &str) -> Vec<String> {
    let row = browser
        .find(By::Css(format!(
            "table.impact tr[data-subscription='{subscription}']"
        )))
        .await
        .unwrap();
    let mut counts = Vec::new();
    for cell in row.find_all(By::Css("td.num")).await.unwrap() {
        counts.push(cell.text().await.unwrap());
    }
    counts
}

async fn text(browser: &WebDriver, by: By) -> String {
    browser.find(by).await.unwrap().text().await.unwrap()
}
