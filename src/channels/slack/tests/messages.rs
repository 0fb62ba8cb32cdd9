//! What the Slack messages look like when they arrive: escaping, limits, colour, previews.

use super::*;

#[tokio::test]
async fn event_text_arrives_escaped() {
    let mut server = SlackServer::start().await;
    let message = default_message(
        "Hello <!channel> & <@U123>",
        "see <http://evil.example|here>",
        &json!({"note": "<!here>"}),
    );
    webhook(&server)
        .send(&message, &[], &SlackProgress::new())
        .await
        .expect("delivered");
    let request = server.next().await;
    let body = String::from_utf8(request.body.to_vec()).expect("utf-8");
    assert!(
        body.contains("&lt;!channel&gt; &amp; &lt;@U123&gt;"),
        "{body}"
    );
    assert!(body.contains("&lt;http://evil.example|here&gt;"), "{body}");
    assert!(body.contains("&lt;!here&gt;"), "{body}");
    assert!(!body.contains("<!"), "{body}");
}

#[tokio::test]
async fn oversized_messages_arrive_within_slack_limits() {
    let mut server = SlackServer::start().await;
    let mut blocks =
        vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": "x".repeat(10_000)}})];
    for i in 1..60 {
        blocks.push(
            json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("block {i}")}}),
        );
    }
    let message = json!({"text": "t".repeat(50_000), "blocks": blocks});
    webhook(&server)
        .send(&message, &[], &SlackProgress::new())
        .await
        .expect("delivered");
    let arrived = server.next().await.json;

    let text = arrived["text"].as_str().expect("text");
    assert!(text.chars().count() <= 40_000);
    assert!(text.ends_with(TRUNCATION_MARKER));

    let blocks = arrived["blocks"].as_array().expect("blocks");
    assert_eq!(blocks.len(), 50);
    let first = blocks[0]["text"]["text"].as_str().expect("section text");
    assert!(first.chars().count() <= SECTION_TEXT_MAX);
    assert!(first.ends_with(TRUNCATION_MARKER));
    assert_eq!(blocks[48]["text"]["text"], "block 48");
    assert_eq!(blocks[49]["type"], "context");
    assert_eq!(
        blocks[49]["elements"][0]["text"],
        "… 11 more blocks left out"
    );
}

#[tokio::test]
async fn colour_wraps_the_blocks_in_an_attachment() {
    let mut server = SlackServer::start().await;
    let message = apply_color(message(), "#36a64f");
    bot(&server)
        .send(&message, &channels(&["C1"]), &SlackProgress::new())
        .await
        .expect("delivered");
    let arrived = server.next().await.json;
    assert_eq!(
        arrived,
        json!({
            "channel": "C1",
            "attachments": [{
                "color": "#36a64f",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Instance created*"}}],
                "fallback": "Instance created",
            }],
        })
    );
}

#[tokio::test]
async fn preview_shows_each_request_with_secrets_hidden() {
    let server = SlackServer::start().await;
    let port = server.api_url().port().expect("a port");
    let previews = bot(&server)
        .preview(&message(), &channels(&["C1", "C2"]))
        .expect("a preview");
    assert_eq!(previews.len(), 2);
    assert_eq!(previews[1].method, "POST");
    assert_eq!(previews[1].url, format!("http://127.0.0.1:{port}"));
    assert_eq!(previews[1].channel.as_deref(), Some("C2"));
    assert_eq!(previews[1].body["channel"], "C2");
    assert!(
        previews[1]
            .headers
            .contains(&("authorization", "Bearer ****".to_owned()))
    );
    assert!(!format!("{previews:?}").contains(TOKEN));

    let previews = webhook(&server)
        .preview(&message(), &[])
        .expect("a preview");
    assert_eq!(previews.len(), 1);
    assert_eq!(previews[0].url, format!("http://127.0.0.1:{port}/****"));
    assert_eq!(previews[0].body, message());
    assert_eq!(server.hits(), 0);
}
