//! `POST /v1/impact` under the router's runtime state: a source overridden through the control
//! topic, a paused subscription and a silence apply to both sides, so none shows as a change.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{FAILURES, call, counts, failures_topic, router_with_admin};
use crate::support::{Kafka, Receiver};

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_applies_the_runtime_state_to_both_sides() {
    const TOKEN: &str = "impact-runtime-token";
    let kafka = Kafka::start(&["lifecycle"]);
    let receiver = Receiver::ok().await;
    let (router, port) = router_with_admin(&kafka, &receiver, TOKEN).await;
    let base = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(answer) = reqwest::get(format!("{base}/readyz")).await
            && answer.status() == 200
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (name, narrowed) = failures_topic(
        "$.type =~ 'create_failure' && $.data.event_properties.region_id == 'us-south'",
        "hook",
    );
    let unchanged = json!({"files": {format!("topics/{name}"): failures_topic(FAILURES, "hook").1}, "last": 100000});
    let narrowing = json!({"files": {format!("topics/{name}"): narrowed}, "last": 100000});
    let impact_url = format!("{base}/v1/impact");
    let impact = |body: &Value| call(Method::POST, &impact_url, TOKEN, body.clone());

    // The source turned off through the control topic: the files propose it on, yet it is off
    // on both sides; nothing is reported gained, even for a narrowed rule.
    let off = json!({"enabled": false});
    let (status, answer) = call(
        Method::PATCH,
        &format!("{base}/v1/sources/lifecycle"),
        TOKEN,
        off,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    for body in [&unchanged, &narrowing] {
        let (status, report) = impact(body).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["changed"], false, "{report:#}");
        assert!(report["rows"].as_array().unwrap().is_empty(), "{report:#}");
    }
    let (status, _) = call(
        Method::DELETE,
        &format!("{base}/v1/sources/lifecycle/override"),
        TOKEN,
        Value::Null,
    )
    .await;
    assert!(status < 300, "{status}");

    // The subscription paused: delivered on neither side, so narrowing it changes nothing.
    let paused = json!({"paused": true});
    let (status, answer) = call(
        Method::PATCH,
        &format!("{base}/v1/subscriptions/oncall"),
        TOKEN,
        paused,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (_, report) = impact(&narrowing).await;
    assert_eq!(report["records"], 2000, "{report:#}");
    assert_eq!(report["changed"], false, "{report:#}");
    let resumed = json!({"paused": false});
    call(
        Method::PATCH,
        &format!("{base}/v1/subscriptions/oncall"),
        TOKEN,
        resumed,
    )
    .await;
    let (_, report) = impact(&narrowing).await;
    assert_eq!(counts(&report, "oncall", "hook"), (1500, 1200, 0, 300));

    // The eu-de failures silenced: not delivered on either side, so the narrowing loses none.
    let silence = json!({
        "matcher": "$.data.event_properties.region_id == 'eu-de'",
        "scope": {"subscription": "oncall"},
        "ends_at": chrono::Utc::now() + chrono::TimeDelta::hours(1),
    });
    let (status, answer) = call(Method::POST, &format!("{base}/v1/silences"), TOKEN, silence).await;
    assert!(status < 300, "{status} {answer}");
    let (_, report) = impact(&narrowing).await;
    assert_eq!(report["changed"], false, "{report:#}");
    assert_eq!(counts(&report, "oncall", "hook"), (1200, 1200, 0, 0));
    router.stop().await;
}
