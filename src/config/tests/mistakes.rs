//! Each kind of mistake in a configuration stops loading with the file, the item and what is
//! valid.

use super::*;

/// Each case edits one shipped file (replacing `find` with `replace`) and expects exactly these
/// problems, with the temp folder written as `$DIR`.
#[test]
fn each_mistake_is_reported_with_file_item_and_what_is_valid() {
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "router.yaml",
            "  commit_interval: 1s",
            "  commit_intervall: 1s",
            &[
                "$DIR/router.yaml: kafka.commit_intervall: unknown field `commit_intervall`, expected one of `brokers`, `group_id`, `dead_letter_topic`, `retry_topic`, `digest_topic`, `control_topic`, `silences_topic`, `max_pending_retries`, `max_message_bytes`, `max_in_flight`, `max_in_flight_per_partition`, `drain_timeout`, `commit_interval`, `properties`, `internal_key`",
            ],
        ),
        (
            "router.yaml",
            "type: resource-lifecycle-events",
            "type: resource-lifecycle",
            &[
                "$DIR/router.yaml: sources[0].type (resource-lifecycle-events): unknown variant `resource-lifecycle`, expected one of `resource-lifecycle-events`, `activity-tracker`, `ubiops-audit`, `cloudevents`",
            ],
        ),
        (
            "router.yaml",
            "${PLATFORM_WEBHOOK_URL:-http://127.0.0.1:9000/platform}",
            "${NR_SURELY_UNSET}",
            &[
                "$DIR/router.yaml: destinations[0].url: environment variable NR_SURELY_UNSET is not set (set it, or write ${NR_SURELY_UNSET:-default})",
            ],
        ),
        (
            "router.yaml",
            "${PLATFORM_WEBHOOK_URL:-http://127.0.0.1:9000/platform}",
            "ftp://files.example.com/drop",
            &[
                "$DIR/router.yaml: destinations[0] (platform-webhook).url: scheme \"ftp\" is not supported: use http or https",
            ],
        ),
        (
            "router.yaml",
            "${PLATFORM_WEBHOOK_URL:-http://127.0.0.1:9000/platform}",
            "not a url",
            &[
                "$DIR/router.yaml: destinations[0] (platform-webhook).url: is not a URL: relative URL without a base",
            ],
        ),
        (
            "router.yaml",
            "id: security-webhook",
            "id: platform-webhook",
            &[
                "$DIR/router.yaml: destinations[1] (platform-webhook): duplicate destination id \"platform-webhook\"",
                "$DIR/topics/audit-archiving-turned-off.yaml: subscriptions[0] (security-audit-archiving).destination: unknown destination \"security-webhook\"; valid: platform-webhook, oncall-email, oncall-slack",
                "$DIR/topics/code-engine-secrets-changed.yaml: subscriptions[0] (security-secret-changes).destination: unknown destination \"security-webhook\"; valid: platform-webhook, oncall-email, oncall-slack",
                "$DIR/topics/resource-group-changes.yaml: subscriptions[0] (account-owners).destination: unknown destination \"security-webhook\"; valid: platform-webhook, oncall-email, oncall-slack",
                "$DIR/topics/us-south-key-changes.yaml: subscriptions[0] (security-key-audit).destination: unknown destination \"security-webhook\"; valid: platform-webhook, oncall-email, oncall-slack",
            ],
        ),
        (
            "router.yaml",
            "sensitive_headers: [authorization]",
            "sensitive_headers: [x-api-key]",
            &[
                "$DIR/router.yaml: destinations[0] (platform-webhook).sensitive_headers: \"x-api-key\" is not one of custom_headers; valid: authorization",
            ],
        ),
        (
            "router.yaml",
            "sensitive_headers: [authorization]",
            "sensitive_headers: [authorization]\n    public_headers: [authorization]",
            &[
                "$DIR/router.yaml: destinations[0] (platform-webhook).public_headers: \"authorization\" is also in sensitive_headers: a header is one or the other",
            ],
        ),
        (
            "router.yaml",
            "sensitive_headers: [authorization]",
            "public_headers: [x-team]",
            &[
                "$DIR/router.yaml: destinations[0] (platform-webhook).public_headers: \"x-team\" is not one of custom_headers; valid: authorization",
            ],
        ),
        (
            "router.yaml",
            "  properties: {}",
            "  properties: { enable.auto.offset.store: 'true' }",
            &[
                "$DIR/router.yaml: kafka.properties.enable.auto.offset.store: is set by the router: use kafka.brokers, kafka.group_id and kafka.commit_interval; offsets are stored by the router",
            ],
        ),
        (
            "router.yaml",
            "  properties: {}",
            "  properties: { security.protocol: SSL, ssl.endpoint.identification.algorithm: none, ssl.ca.location: /ca.pem }",
            &[
                "$DIR/router.yaml: kafka.properties.ssl.endpoint.identification.algorithm: may only be `https`: the broker's host name is always checked against its certificate; give the broker a certificate for the name in the brokers list",
            ],
        ),
        (
            "router.yaml",
            "  properties: {}",
            "  properties: { enable.ssl.certificate.verification: 'false', ssl.endpoint.identification.algorithm: HTTPS }",
            &[
                "$DIR/router.yaml: kafka.properties.enable.ssl.certificate.verification: may only be `true`: broker certificates are always verified; trust a private CA with ssl.ca.location",
            ],
        ),
        (
            "router.yaml",
            "kafka_topics: [resource-lifecycle-events]",
            "kafka_topics: [notification-router.dead-letter]",
            &[
                "$DIR/router.yaml: sources[0] (resource-lifecycle-events).kafka_topics: \"notification-router.dead-letter\" is the dead-letter topic",
            ],
        ),
        (
            "router.yaml",
            "kafka_topics: [resource-lifecycle-events]",
            "kafka_topics: [notification-router.retry]",
            &[
                "$DIR/router.yaml: sources[0] (resource-lifecycle-events).kafka_topics: \"notification-router.retry\" is the retry topic",
            ],
        ),
        (
            "router.yaml",
            "  retry_topic: notification-router.retry",
            "  retry_topic: notification-router.dead-letter",
            &[
                "$DIR/router.yaml: kafka.retry_topic: \"notification-router.dead-letter\" is also the dead-letter topic",
            ],
        ),
        (
            "router.yaml",
            "  retry_topic: notification-router.retry",
            "  retry_topic: notification-router.retry\n  control_topic: notification-router.dead-letter",
            &[
                "$DIR/router.yaml: kafka.control_topic: \"notification-router.dead-letter\" is also the dead-letter topic",
            ],
        ),
        (
            "router.yaml",
            "  retry_topic: notification-router.retry",
            "  retry_topic: notification-router.retry\n  control_topic: notification-router.ledger",
            &[
                "$DIR/router.yaml: kafka.control_topic: \"notification-router.ledger\" is also the ledger topic",
            ],
        ),
        (
            "router.yaml",
            "  retry_topic: notification-router.retry",
            "  retry_topic: notification-router.retry\n  silences_topic: notification-router.control",
            &[
                "$DIR/router.yaml: kafka.silences_topic: \"notification-router.control\" is also the control topic: the old silences topic is taken over into the control topic, and must be another",
            ],
        ),
        (
            "router.yaml",
            "kafka_topics: [resource-lifecycle-events]",
            "kafka_topics: [notification-router.control]",
            &[
                "$DIR/router.yaml: sources[0] (resource-lifecycle-events).kafka_topics: \"notification-router.control\" is the control topic",
            ],
        ),
        (
            "router.yaml",
            "  max_pending_retries: 20000",
            "  max_pending_retries: 0",
            &["$DIR/router.yaml: kafka.max_pending_retries: must be at least 1"],
        ),
        (
            "router.yaml",
            "schedule: [5m, 30m, 2h, 5h, 10h, 10h]",
            "schedule: [5m, 0s]",
            &[
                "$DIR/router.yaml: destinations[1] (security-webhook).retry.schedule: has a zero delay: every long retry waits (write 5m, 30m, ...), or write [] for none",
            ],
        ),
        (
            "router.yaml",
            "queue: 200 ",
            "queue: 8 ",
            &[
                "$DIR/router.yaml: destinations[1] (security-webhook).limits.queue: must be at least limits.concurrency (16)",
            ],
        ),
        (
            "router.yaml",
            "failures: 5 ",
            "failures: 0 ",
            &[
                "$DIR/router.yaml: destinations[1] (security-webhook).circuit_breaker.failures: must be at least 1",
            ],
        ),
        (
            "router.yaml",
            "probe_interval: 30s",
            "probe_intervall: 30s",
            &[
                "$DIR/router.yaml: destinations[1] (security-webhook): unknown field `probe_intervall`, expected `failures` or `probe_interval`",
            ],
        ),
        (
            "router.yaml",
            "  group_id: notification-router",
            "  group_id: [notification-router",
            &[
                "$DIR/router.yaml: line 12 column 3: not valid YAML: did not find expected ',' or ']' at line 12 column 3, while parsing a flow sequence at line 10 column 13",
            ],
        ),
        (
            "topics/instance-failures.yaml",
            "destination: platform-webhook",
            "destination: platform-hook",
            &[
                "$DIR/topics/instance-failures.yaml: subscriptions[0] (platform-oncall).destination: unknown destination \"platform-hook\"; valid: platform-webhook, security-webhook, oncall-email, oncall-slack",
            ],
        ),
        (
            "topics/instance-failures.yaml",
            "- id: resource-lifecycle-events",
            "- id: lifecycle-events",
            &[
                "$DIR/topics/instance-failures.yaml: sources[0].id: unknown source \"lifecycle-events\"; valid: resource-lifecycle-events, activity-tracker, ubiops-audit, api-events",
            ],
        ),
        (
            "topics/instance-failures.yaml",
            "template: webhook/lifecycle-summary.json.hbs",
            "template: webhook/summary.json.hbs",
            &[
                "$DIR/topics/instance-failures.yaml: subscriptions[0] (platform-oncall).template: unknown webhook template \"webhook/summary.json.hbs\"; valid: webhook/digest.json.hbs, webhook/lifecycle-summary.json.hbs",
            ],
        ),
        (
            "topics/instance-failures.yaml",
            "event_type_filter: $.type =~ '^com",
            "event_type_filter: $.type =~ ^'com",
            &[
                r"$DIR/topics/instance-failures.yaml: sources[0].rules[0].event_type_filter: column 11: unexpected character '^', in: $.type =~ ^'com\.ibm\.cloud\.resource-lifecycle-events\.instance:.*_failure$'",
            ],
        ),
        (
            "topics/instance-failures.yaml",
            "name: instance-failures",
            "name: resource-group-changes",
            &[
                "$DIR/topics/resource-group-changes.yaml: name: topic \"resource-group-changes\" is also defined in $DIR/topics/instance-failures.yaml",
            ],
        ),
        (
            "topics/instance-failures.yaml",
            "name: platform-oncall",
            "name: platform-inventory",
            &[
                "$DIR/topics/instance-provisioning.yaml: subscriptions[0] (platform-inventory): duplicate subscription name \"platform-inventory\", also in $DIR/topics/instance-failures.yaml",
            ],
        ),
        (
            "topics/instance-failures.yaml",
            "  - name: platform-oncall",
            "  - nme: platform-oncall",
            &[
                "$DIR/topics/instance-failures.yaml: subscriptions[0].nme: unknown field `nme`, expected one of `name`, `description`, `destination`, `template`, `recipients`, `add_notification_payload`, `reply_to_mail`, `reply_to_name`, `from_name`, `channels`, `attachment_color`, `signing_enabled`, `dedup_key`, `severity`, `resolve_on`, `mute_time_intervals`, `active_time_intervals`, `when_muted`, `digest`",
            ],
        ),
        (
            "topics/instance-failures.yaml",
            "recipients: [oncall@example.com,",
            "recipients: [oncall-at-example.com,",
            &[
                "$DIR/topics/instance-failures.yaml: subscriptions[1] (platform-oncall-email).recipients[0]: \"oncall-at-example.com\" is not an email address: Missing domain or user",
            ],
        ),
        (
            "topics/instance-failures.yaml",
            "template: slack/lifecycle.json.hbs",
            "template: slack/lifecycle.json.hbs\n    recipients: [a@example.com]\n    attachment_color: red",
            &[
                "$DIR/topics/instance-failures.yaml: subscriptions[2] (platform-oncall-slack).recipients: is an attribute of email subscriptions, but destination \"oncall-slack\" is a slack destination",
                "$DIR/topics/instance-failures.yaml: subscriptions[2] (platform-oncall-slack).attachment_color: invalid attachment_color \"red\": expected #RRGGBB (like #36a64f) or one of good, warning, danger",
            ],
        ),
        (
            "topics/instance-failures.yaml",
            "template: email/lifecycle",
            "template: email/lifecyle",
            &[
                "$DIR/topics/instance-failures.yaml: subscriptions[1] (platform-oncall-email).template: unknown email template \"email/lifecyle\" (an email template is named email/NAME, for its .subject.hbs, .text.hbs and .html.hbs files); valid: email/digest, email/lifecycle",
            ],
        ),
        (
            "router.yaml",
            "from: Notification Router <notifications@example.com>",
            "from: notifications",
            &[
                "$DIR/router.yaml: destinations[2] (oncall-email).from: \"notifications\" is not an email address: Invalid input",
            ],
        ),
        (
            "router.yaml",
            "${SMTP_URL:-smtp://127.0.0.1:1025}",
            "http://127.0.0.1:1025",
            &[
                "$DIR/router.yaml: destinations[2] (oncall-email).smtp: `url` scheme `http` is not supported: use smtp:// (STARTTLS) or smtps:// (implicit TLS)",
            ],
        ),
        (
            "router.yaml",
            "type: incoming_webhook\n      url: ${SLACK_WEBHOOK_URL:-http://127.0.0.1:9000/slack}",
            "type: bot\n      token: xoxb-test",
            &[
                "$DIR/topics/instance-failures.yaml: subscriptions[2] (platform-oncall-slack).channels: is empty: a bot destination posts to the channels named here",
            ],
        ),
        (
            "router.yaml",
            "    allow_http: true   # for the local default; https is required without it\n    verb: post",
            "    verb: post",
            &[
                "$DIR/router.yaml: destinations[0] (platform-webhook).url: http://127.0.0.1:9000 uses http, so deliveries could be read and changed on the way: use https, or set `allow_http: true` on the destination",
            ],
        ),
        (
            "router.yaml",
            "    allow_http: true   # for the local default; https is required without it\n    slack:",
            "    slack:",
            &[
                "$DIR/router.yaml: destinations[3] (oncall-slack).slack.url: http://127.0.0.1:9000/**** uses http, so deliveries could be read and changed on the way: use https, or set `allow_http: true` on the destination",
            ],
        ),
        (
            "router.yaml",
            "${PLATFORM_WEBHOOK_URL:-http://127.0.0.1:9000/platform}",
            "https://router:hunter2@hooks.example.com/x",
            &[
                "$DIR/router.yaml: destinations[0] (platform-webhook).url: must not carry credentials (user:password@): send them in a header listed in sensitive_headers",
            ],
        ),
        (
            "router.yaml",
            "${PLATFORM_WEBHOOK_URL:-http://127.0.0.1:9000/platform}",
            "https://169.254.169.254/latest/meta-data/",
            &[
                "$DIR/router.yaml: destinations[0] (platform-webhook).url: https://169.254.169.254: 169.254.169.254 (link-local) is not a public address: refused unless http.allow_private_networks covers it",
            ],
        ),
        (
            "router.yaml",
            "${PLATFORM_WEBHOOK_URL:-http://127.0.0.1:9000/platform}",
            "https://0xa9fea9fe/x",
            &[
                "$DIR/router.yaml: destinations[0] (platform-webhook).url: https://169.254.169.254: 169.254.169.254 (link-local) is not a public address: refused unless http.allow_private_networks covers it",
            ],
        ),
        (
            "router.yaml",
            "allow_private_networks: [127.0.0.0/8, \"::1/128\", \"${EXTRA_ALLOWED_NETWORK:-127.0.0.0/8}\"]",
            "allow_private_networks: [localhost]",
            &[
                "$DIR/router.yaml: http.allow_private_networks: \"localhost\" is not a network: write a CIDR like 127.0.0.0/8 or an address",
            ],
        ),
        (
            "router.yaml",
            "  connect_timeout: 5s",
            "  connect_timeout: 5s\n  proxy: socks5://proxy.internal:1080",
            &[
                "$DIR/router.yaml: http.proxy: scheme \"socks5\" is not supported: use http or https",
            ],
        ),
        (
            "router.yaml",
            "${KAFKA_BROKERS:-embedded}",
            "kafka.example.com:9092",
            &[
                "$DIR/router.yaml: kafka.internal_key: is required with a Kafka cluster: it authenticates the records the router writes to its retry and dead-letter topics; set it from the environment (`internal_key: ${ROUTER_INTERNAL_KEY}`, e.g. `openssl rand -base64 32`), the same on every instance",
            ],
        ),
        (
            "router.yaml",
            "${ROUTER_INTERNAL_KEY:-}",
            "too-short",
            &[
                "$DIR/router.yaml: kafka.internal_key: is too short: at least 32 bytes (e.g. `openssl rand -base64 32`)",
            ],
        ),
        (
            "router.yaml",
            "  connect_timeout: 5s",
            "  connect_timeout: 5s\n  proxy: http://user:pw@169.254.169.254:3128",
            &[
                "$DIR/router.yaml: http.proxy: 169.254.169.254 (link-local) is not a public address: refused unless http.allow_private_networks covers it",
            ],
        ),
        (
            "router.yaml",
            "secrets: [\"${PLATFORM_WEBHOOK_SECRET:-}\"]",
            "secrets: [\"${PLATFORM_WEBHOOK_SECRET:-}\", \"whsec_not base64\"]",
            &[
                "$DIR/router.yaml: destinations[0] (platform-webhook).signing: secrets[1] is not whsec_ followed by base64",
            ],
        ),
        (
            "topics/instance-failures.yaml",
            "template: webhook/lifecycle-summary.json.hbs",
            "template: webhook/lifecycle-summary.json.hbs\n    signing_enabled: true",
            &[
                "$DIR/topics/instance-failures.yaml: subscriptions[0] (platform-oncall).signing_enabled: is true, but destination \"platform-webhook\" has no signing secrets or keys: add `signing` to it",
            ],
        ),
        (
            "router.yaml",
            "      url: ${SLACK_WEBHOOK_URL:-http://127.0.0.1:9000/slack}",
            "      url: ${SLACK_WEBHOOK_URL:-http://127.0.0.1:9000/slack}\n  - id: partner-kafka\n    type: kafka\n    topic: out\n    brokers: kafka.partner.example:9092\n    properties:\n      plugin.library.paths: /tmp/evil.so",
            &[
                "$DIR/router.yaml: destinations[4] (partner-kafka).properties: plugin.library.paths: is refused: it makes librdkafka load a library or run a command inside the router; the router's TLS and SASL settings need none",
            ],
        ),
    ];
    let mut mismatches = Vec::new();
    for (file, find, replace, expected) in cases {
        let (dir, router) = shipped_copy();
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(find), "{file} does not contain {find:?}");
        std::fs::write(&path, text.replacen(find, replace, 1)).expect("write");
        let Err(errors) = load_with(&router, &no_env) else {
            mismatches.push(format!("{file}: {find:?} -> {replace:?} was accepted"));
            continue;
        };
        let prefix = dir.path().display().to_string();
        let got: Vec<String> = errors
            .0
            .iter()
            .map(|e| e.to_string().replace(&prefix, "$DIR"))
            .collect();
        if got != *expected {
            mismatches.push(format!(
                "{file}: {find:?} -> {replace:?}\n  expected: {expected:?}\n  got:      {got:?}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
