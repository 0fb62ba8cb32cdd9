//! The admin API's send-notification and destination-test endpoints, against a running router
//! on the mock cluster and real HTTP receivers.

use std::sync::Arc;
use std::time::Duration;

use notification_router::admin::MAX_BODY;
use notification_router::event::notification_id;
use serde_json::{Value, json};

use crate::support::*;

const TOKEN: &str = "api-test-token";

/// A Standard Webhooks secret for tests only: `whsec_` and the base64 of 24 bytes.
const SECRET: &str = "whsec_dGVzdC1zZWNyZXQtb2YtMjQtYnl0ZXMh";

/// The admin API of a router started with `admin.token` [`TOKEN`] on `port`.
struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    fn admin_lines(port: u16) -> String {
        format!("admin:\n  listen: 127.0.0.1:{port}\n  token: {TOKEN}\n")
    }

    /// Waits until the router is consuming.
    async fn ready(port: u16) -> Api {
        let api = Api {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        };
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let answer = api.client.get(format!("{}/readyz", api.base)).send().await;
            if answer.is_ok_and(|a| a.status() == 200) {
                return api;
            }
            assert!(tokio::time::Instant::now() < deadline, "never ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut request = self.client.post(format!("{}{path}", self.base)).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        answer(request.send().await.expect("the admin server answers")).await
    }

    /// Sends `event` to `POST /v1/notifications` in structured mode, with the token.
    async fn send_structured(&self, event: &Value) -> (u16, Value) {
        self.post(
            "/v1/notifications",
            Some(TOKEN),
            &STRUCTURED,
            event.to_string().into_bytes(),
        )
        .await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("the admin server answers");
        answer(response).await
    }

    /// Polls a destination test until it is no longer in progress.
    async fn settled(&self, id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (status, body) = self.get(&format!("/v1/notifications/{id}")).await;
            assert_eq!(status, 200, "{body}");
            if body["status"] != "inprogress" {
                return body;
            }
            assert!(tokio::time::Instant::now() < deadline, "test never ended");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn binary_headers<'a>(id: &'a str, event_type: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("ce-specversion", "1.0"),
        ("ce-id", id),
        ("ce-source", "/shop"),
        ("ce-type", event_type),
        ("ce-ibmensourceid", "api"),
        ("content-type", "application/json"),
    ]
}

const STRUCTURED: [(&str, &str); 1] = [("content-type", "application/cloudevents+json")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_notifications_go_through_kafka_to_the_subscribers() {
    let kafka = Kafka::start(&["api-events"]);
    let mut receiver = Receiver::ok().await;
    let port = free_port();
    let admin = Api::admin_lines(port);
    let destinations = webhook("hook", receiver.url("/orders"), "");
    let topics = vec![topic(
        "orders",
        "  - id: api\n    rules:\n      - event_type_filter: $.type == 'com.example.order:created'",
        "  - { name: orders, destination: hook }",
    )];
    let router = Setup {
        sources: "  - { id: api, type: cloudevents, enabled: true, kafka_topics: [api-events] }\n  - { id: dormant, type: cloudevents, kafka_topics: [dormant-events] }",
        router_extra: &admin,
        ..Setup::lifecycle(kafka.brokers(), "api", &destinations, topics)
    }
    .start();
    let api = Api::ready(port).await;
    let created = "com.example.order:created";

    // Binary mode: the answer's id is the one the router assigns on consuming the record.
    let (status, body) = api
        .post(
            "/v1/notifications",
            Some(TOKEN),
            &binary_headers("order-1", created),
            br#"{"order": 1}"#.to_vec(),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let first = body["notification_id"].as_str().expect("an id").to_owned();
    assert_eq!(first, notification_id(&["api", "/shop", "order-1"]));
    let delivered = receiver.next().await;
    assert_eq!(delivered.json()["notification_id"], first.as_str());
    assert_eq!(delivered.json()["id"], "order-1");
    assert_eq!(delivered.json()["data"], json!({"order": 1}));
    assert_eq!(delivered.json()["ibmensourceid"], "api");

    // Structured mode.
    let event = json!({
        "specversion": "1.0", "id": "order-2", "source": "/shop", "type": created,
        "ibmensourceid": "api", "subject": "order 2", "data": {"order": 2},
    });
    let (status, body) = api.send_structured(&event).await;
    assert_eq!(status, 202, "{body}");
    let second = body["notification_id"].as_str().expect("an id").to_owned();
    let delivered = receiver.next().await;
    assert_eq!(delivered.json()["notification_id"], second.as_str());
    assert_eq!(delivered.json()["subject"], "order 2");

    // Refusals: none of these is published.
    let cancelled = binary_headers("order-3", "com.example.order:cancelled");
    let (status, body) = api
        .post("/v1/notifications", Some(TOKEN), &cancelled, b"{}".to_vec())
        .await;
    assert_eq!(status, 422, "no rule matches: {body}");
    assert_eq!(body["errors"][0]["code"], "no_matching_topic");

    let no_type: Vec<_> = binary_headers("order-4", created)
        .into_iter()
        .filter(|(name, _)| *name != "ce-type")
        .collect();
    let (status, body) = api
        .post("/v1/notifications", Some(TOKEN), &no_type, b"{}".to_vec())
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["code"], "missing_field");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("ce_type")),
        "{body}"
    );

    let mut unnamed = event.clone();
    unnamed.as_object_mut().unwrap().remove("ibmensourceid");
    let (status, body) = api.send_structured(&unnamed).await;
    assert_eq!(status, 400, "the source must be named: {body}");

    let mut large = event.clone();
    large["id"] = json!("order-5");
    large["data"] = json!({"padding": "x".repeat(MAX_BODY)});
    let (status, body) = api.send_structured(&large).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["status_code"], 413);

    for token in [None, Some("wrong")] {
        let (status, body) = api
            .post(
                "/v1/notifications",
                token,
                &binary_headers("order-6", created),
                b"{}".to_vec(),
            )
            .await;
        assert_eq!(status, 401, "{token:?}: {body}");
    }

    let mut elsewhere = event.clone();
    elsewhere["ibmensourceid"] = json!("nope");
    let (status, body) = api.send_structured(&elsewhere).await;
    assert_eq!(status, 404, "{body}");
    elsewhere["ibmensourceid"] = json!("dormant");
    let (status, body) = api.send_structured(&elsewhere).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["code"], "source_disabled");

    // Exactly the two accepted events were published, each in the mode it was sent in.
    assert_eq!(record_count(kafka.brokers(), "api-events", 3).await, 2);
    let records = read_topic(kafka.brokers(), "api-events", 3, 2).await;
    let binary = records
        .iter()
        .find(|(headers, _)| headers.contains_key("ce_id"))
        .expect("the binary-mode record");
    assert_eq!(binary.0["ce_type"], created);
    assert_eq!(binary.1, br#"{"order": 1}"#);
    let structured = records
        .iter()
        .find(|(headers, _)| !headers.contains_key("ce_id"))
        .expect("the structured-mode record");
    assert_eq!(structured.0["content-type"], "application/cloudevents+json");
    router.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destination_tests_report_what_the_receiver_answered() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut ok = Receiver::ok().await;
    let failing = Receiver::answering(Arc::new(|_, _| Some(500))).await;
    let held = Receiver::holding().await;
    let port = free_port();
    let admin = Api::admin_lines(port);
    let signing = format!("    signing: {{ secrets: [\"{SECRET}\"] }}\n");
    let destinations = [
        webhook("ok-hook", ok.url("/ok"), &signing),
        webhook("failing-hook", failing.url("/fail"), ""),
        webhook("held-hook", held.url("/held"), ""),
    ]
    .concat();
    let router = Setup {
        router_extra: &admin,
        ..Setup::lifecycle(
            kafka.brokers(),
            "tests",
            &destinations,
            all_to_hook_of("ok-hook"),
        )
    }
    .start();
    let api = Api::ready(port).await;
    let test = |destination: &str| format!("/v1/destinations/{destination}/test");

    let (status, body) = api.post(&test("ok-hook"), Some(TOKEN), &[], vec![]).await;
    assert_eq!(status, 202, "{body}");
    let id = body["notification_id"].as_str().expect("an id").to_owned();
    let received = ok.next().await;
    assert_eq!(received.json()["notification_id"], id.as_str());
    assert_eq!(
        received.json()["type"],
        "com.notification-router.destination:test"
    );
    let mut headers = axum::http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(
            name,
            received
                .header(name)
                .unwrap()
                .parse()
                .expect("a header value"),
        );
    }
    standardwebhooks::Webhook::new(SECRET)
        .expect("the library reads the secret")
        .verify(&received.body, &headers)
        .expect("signed as deliveries are");
    let status = api.settled(&id).await;
    assert_eq!(
        (
            status["id"].clone(),
            status["status"].clone(),
            status["status_code"].clone()
        ),
        (json!(id), json!("success"), json!(200)),
        "{status}"
    );
    assert_eq!(status["error"], Value::Null);

    let (_, body) = api
        .post(&test("failing-hook"), Some(TOKEN), &[], vec![])
        .await;
    let status = api
        .settled(body["notification_id"].as_str().expect("an id"))
        .await;
    assert_eq!(
        (status["status"].clone(), status["status_code"].clone()),
        (json!("failure"), json!(500)),
        "{status}"
    );
    assert!(
        status["error"].as_str().is_some_and(|e| e.contains("500")),
        "{status}"
    );

    let (_, body) = api.post(&test("held-hook"), Some(TOKEN), &[], vec![]).await;
    let id = body["notification_id"].as_str().expect("an id").to_owned();
    held.hits_reach(1).await;
    let (_, status) = api.get(&format!("/v1/notifications/{id}")).await;
    assert_eq!(status["status"], "inprogress", "{status}");
    assert_eq!(status["status_code"], Value::Null);
    held.release(1);
    let status = api.settled(&id).await;
    assert_eq!(
        (status["status"].clone(), status["status_code"].clone()),
        (json!("success"), json!(200))
    );

    assert_eq!(
        api.post(&test("nope"), Some(TOKEN), &[], vec![]).await.0,
        404
    );
    assert_eq!(api.post(&test("ok-hook"), None, &[], vec![]).await.0, 401);
    assert_eq!(api.get("/v1/notifications/unknown").await.0, 404);
    assert!(ok.drain().is_empty(), "a refused call sends nothing");
    router.stop().await;
}

/// The topic file that sends every lifecycle event to `destination`.
fn all_to_hook_of(destination: &str) -> Vec<(String, String)> {
    vec![topic(
        "all",
        "  - id: lifecycle",
        &format!("  - {{ name: all, destination: {destination} }}"),
    )]
}
