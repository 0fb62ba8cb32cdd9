//! Tests of loading template folders and rendering webhook bodies, email and Slack messages.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use super::{Channel, MAX_TEMPLATE_BYTES, RenderError, Templates};

mod digest;
pub(crate) mod safety;

fn write(dir: &Path, name: &str, source: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().expect("test paths have a parent")).expect("create dirs");
    fs::write(path, source).expect("write template");
}

/// Templates loaded from a temp dir holding `files` (name relative to the dir, source).
fn load(files: &[(&str, &str)]) -> Templates {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, source) in files {
        write(dir.path(), name, source);
    }
    Templates::load(dir.path()).expect("templates load")
}

fn notification() -> Value {
    json!({
        "type": "com.ibm.cloud.resource-lifecycle-events.instance:create",
        "ibmenseverity": "LOW",
        "data": {
            "event_properties": {"name": "db-1", "tags": ["prod", "eu"]},
            "count": 2
        }
    })
}

#[test]
fn loads_templates_recursively_with_relative_names() {
    let templates = load(&[
        ("webhook/b.json.hbs", "{}"),
        ("webhook/nested/a.json.hbs", "[]"),
        ("webhook/readme.txt", "not a template"),
        ("webhook/.hidden.hbs", "{{"),
        ("other/body.hbs", "{{"),
    ]);
    assert_eq!(
        templates.names(Channel::Webhook),
        ["webhook/b.json.hbs", "webhook/nested/a.json.hbs"]
    );
    assert!(templates.contains(Channel::Webhook, "webhook/nested/a.json.hbs"));
    assert!(!templates.contains(Channel::Webhook, "nested/a.json.hbs"));
}

#[test]
fn missing_dir_or_channel_folder_has_no_templates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = Templates::load(&dir.path().join("absent")).expect("missing dir is fine");
    assert!(missing.names(Channel::Webhook).is_empty());
    let no_folder = Templates::load(dir.path()).expect("missing folder is fine");
    assert!(no_folder.names(Channel::Webhook).is_empty());
    assert!(Templates::empty().names(Channel::Webhook).is_empty());
}

#[test]
fn reports_every_bad_template_with_path_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "webhook/good.json.hbs",
        "{\"a\": \"{{data.count}}\"}",
    );
    write(
        dir.path(),
        "webhook/syntax.json.hbs",
        "{\n\"a\": \"{{data.count}}\",\n\"b\": \"{{#if x}}y{{/each}}\"\n}",
    );
    write(
        dir.path(),
        "webhook/helper.json.hbs",
        "{\n\n\"a\": \"{{shout data}}\"}",
    );
    write(
        dir.path(),
        "webhook/big.json.hbs",
        &" ".repeat(MAX_TEMPLATE_BYTES as usize + 1),
    );
    let errors = Templates::load(dir.path()).expect_err("bad templates are reported");
    let mut shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    shown.sort();
    assert_eq!(shown.len(), 3, "{shown:#?}");

    let root = dir.path().join("webhook").display().to_string();
    assert!(
        shown[0].starts_with(&format!("{root}/big.json.hbs: ")),
        "{}",
        shown[0]
    );
    assert!(shown[0].contains("64 KiB"), "{}", shown[0]);
    assert!(
        shown[1].starts_with(&format!("{root}/helper.json.hbs:3: ")),
        "{}",
        shown[1]
    );
    assert!(
        shown[1].contains("unknown helper \"shout\""),
        "{}",
        shown[1]
    );
    assert!(
        shown[2].starts_with(&format!("{root}/syntax.json.hbs:3: ")),
        "{}",
        shown[2]
    );
    assert!(
        shown[2].contains("\"if\" was opened, but \"each\""),
        "{}",
        shown[2]
    );
}

#[test]
fn template_of_exactly_64_kib_loads() {
    let mut source = String::from("\"");
    source.push_str(&"x".repeat(MAX_TEMPLATE_BYTES as usize - 2));
    source.push('"');
    let templates = load(&[("webhook/max.json.hbs", &source)]);
    let body = templates
        .render_webhook("webhook/max.json.hbs", &notification())
        .expect("renders");
    assert_eq!(body.len() as u64, MAX_TEMPLATE_BYTES);
}

#[test]
fn hostile_strings_stay_inside_their_json_string() {
    let templates = load(&[("webhook/t.json.hbs", r#"{"name": "{{data.name}}"}"#)]);
    let hostile = [
        "quote\" and \\backslash\\",
        "\",\"injected\":\"yes",
        "line\nbreak\r\ttab\u{0}nul",
        "</script><script>alert(1)</script>",
        "ünïcödé 漢字 🚀 \u{2028}\u{2029}",
    ];
    for name in hostile {
        let body = templates
            .render_webhook("webhook/t.json.hbs", &json!({"data": {"name": name}}))
            .unwrap_or_else(|e| panic!("{name:?}: {e}"));
        let parsed: Value = serde_json::from_slice(&body).expect("body is JSON");
        assert_eq!(parsed, json!({"name": name}), "{name:?}");
    }
}

#[test]
fn json_helper_embeds_values_unescaped() {
    let templates = load(&[(
        "webhook/t.json.hbs",
        r#"{"data": {{json data}}, "tags": {{json data.event_properties.tags}}, "n": {{json data.count}}, "s": {{json ibmenseverity}}}"#,
    )]);
    let body = templates
        .render_webhook("webhook/t.json.hbs", &notification())
        .expect("renders");
    let parsed: Value = serde_json::from_slice(&body).expect("body is JSON");
    let expected = json!({
        "data": notification()["data"],
        "tags": ["prod", "eu"],
        "n": 2,
        "s": "LOW"
    });
    assert_eq!(parsed, expected);
}

#[test]
fn equal_and_contains_helpers() {
    let cases = [
        (
            r#"{{#if (equal ibmenseverity "LOW")}}1{{else}}0{{/if}}"#,
            "1",
        ),
        (
            r#"{{#if (equal ibmenseverity "HIGH")}}1{{else}}0{{/if}}"#,
            "0",
        ),
        ("{{#if (equal data.count 2)}}1{{else}}0{{/if}}", "1"),
        ("{{#if (equal data.count 2.0)}}1{{else}}0{{/if}}", "1"),
        (
            r#"{{#if (contains data.event_properties.tags "prod")}}1{{else}}0{{/if}}"#,
            "1",
        ),
        (
            r#"{{#if (contains data.event_properties.tags "dev")}}1{{else}}0{{/if}}"#,
            "0",
        ),
        (
            r#"{{#if (contains type "instance:create")}}1{{else}}0{{/if}}"#,
            "1",
        ),
        (r#"{{#if (contains type "key:")}}1{{else}}0{{/if}}"#, "0"),
        (r#"{{#if (contains data.count "2")}}1{{else}}0{{/if}}"#, "0"),
    ];
    for (expression, expected) in cases {
        let templates = load(&[("webhook/t.json.hbs", &format!("[{expression}]"))]);
        let body = templates
            .render_webhook("webhook/t.json.hbs", &notification())
            .unwrap_or_else(|e| panic!("{expression}: {e}"));
        assert_eq!(body, format!("[{expected}]").into_bytes(), "{expression}");
    }
}

#[test]
fn strict_mode_rejects_missing_fields() {
    let cases = [
        (r#"{"a": "{{data.absent}}"}"#, "data.absent"),
        (r#"{"a": {{json data.absent}}}"#, "data.absent"),
        (
            r#"{"a": {{#if (equal data.absent 1)}}1{{else}}0{{/if}}}"#,
            "data.absent",
        ),
    ];
    for (source, field) in cases {
        let templates = load(&[("webhook/t.json.hbs", source)]);
        let error = templates
            .render_webhook("webhook/t.json.hbs", &notification())
            .expect_err("missing field fails");
        assert_eq!(
            error,
            RenderError::MissingField {
                name: "webhook/t.json.hbs".to_owned(),
                field: field.to_owned()
            },
            "{source}"
        );
    }
}

#[test]
fn output_that_is_not_json_is_rejected() {
    let templates = load(&[("webhook/t.json.hbs", "{\"a\": {{data.count}}, oops}")]);
    let error = templates
        .render_webhook("webhook/t.json.hbs", &notification())
        .expect_err("not JSON");
    assert!(
        matches!(&error, RenderError::InvalidJson { name, .. } if name == "webhook/t.json.hbs"),
        "{error:?}"
    );
}

#[test]
fn unknown_template_is_an_error() {
    let error = Templates::empty()
        .render_webhook("webhook/none.json.hbs", &notification())
        .expect_err("unknown");
    assert_eq!(
        error,
        RenderError::UnknownTemplate("webhook/none.json.hbs".to_owned())
    );
}

#[test]
fn templates_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Templates>();
}

/// Errors of loading `files`, as `path:line: message` relative to the temp dir.
fn load_errors(files: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, source) in files {
        write(dir.path(), name, source);
    }
    let errors = Templates::load(dir.path()).expect_err("templates fail to load");
    let mut errors: Vec<String> = errors
        .iter()
        .map(|e| {
            e.to_string()
                .replace(&format!("{}/", dir.path().display()), "")
        })
        .collect();
    errors.sort();
    errors
}

const EMAIL_SET: [(&str, &str); 3] = [
    (
        "email/ops.subject.hbs",
        "[{{ibmenseverity}}]\n  {{data.event_properties.name}}\n",
    ),
    (
        "email/ops.text.hbs",
        "Name: {{data.event_properties.name}}\n",
    ),
    (
        "email/ops.html.hbs",
        "<p>Name: <b>{{data.event_properties.name}}</b></p>",
    ),
];

#[test]
fn email_parts_escape_html_only_in_the_html_part() {
    let templates = load(&EMAIL_SET);
    assert_eq!(templates.names(Channel::Email), ["email/ops"]);
    assert!(templates.contains(Channel::Email, "email/ops"));
    let hostile = json!({
        "ibmenseverity": "HIGH",
        "data": {"event_properties": {"name": "<script>x</script> & \"q\"\r\nBcc: evil@example.com"}}
    });
    let email = templates
        .render_email("email/ops", &hostile)
        .expect("renders");
    assert_eq!(
        email.subject, "[HIGH] <script>x</script> & \"q\" Bcc: evil@example.com",
        "the subject is one line"
    );
    assert_eq!(
        email.text,
        "Name: <script>x</script> & \"q\"\r\nBcc: evil@example.com\n"
    );
    assert_eq!(
        email.html,
        "<p>Name: <b>&lt;script&gt;x&lt;/script&gt; &amp; &quot;q&quot;\r\nBcc: evil@example.com</b></p>"
    );
}

#[test]
fn an_email_template_lacking_a_part_is_not_usable() {
    let templates = load(&EMAIL_SET[..2]);
    assert!(templates.names(Channel::Email).is_empty());
    assert!(!templates.contains(Channel::Email, "email/ops"));
    assert_eq!(
        templates.email_parts_missing("email/ops"),
        ["email/ops.html.hbs"]
    );
    let errors = load_errors(&[("email/ops.hbs", "x")]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("email/ops.hbs: an email template file is named"));
}

#[test]
fn slack_templates_escape_for_slack_inside_json() {
    let templates = load(&[(
        "slack/t.json.hbs",
        r#"{"text": "{{data.event_properties.name}}", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*{{data.event_properties.name}}*"}}]}"#,
    )]);
    let notification = json!({"data": {"event_properties": {"name": "<!channel> & \"<@U1>\""}}});
    let message = templates
        .render_slack("slack/t.json.hbs", &notification)
        .expect("renders");
    assert_eq!(message["text"], "&lt;!channel&gt; &amp; \"&lt;@U1&gt;\"");
    assert_eq!(
        message["blocks"][0]["text"]["text"],
        "*&lt;!channel&gt; &amp; \"&lt;@U1&gt;\"*"
    );
}

#[test]
fn partials_render_and_bad_partials_fail_the_load() {
    let templates = load(&[
        (
            "webhook/main.json.hbs",
            r#"{"a": {{> webhook/part.json.hbs}}}"#,
        ),
        ("webhook/part.json.hbs", r#""{{ibmenseverity}}""#),
    ]);
    let body = templates
        .render_webhook("webhook/main.json.hbs", &notification())
        .expect("renders");
    assert_eq!(String::from_utf8(body).expect("utf-8"), r#"{"a": "LOW"}"#);

    let errors = load_errors(&[
        ("webhook/a.json.hbs", "{{> webhook/b.json.hbs}}"),
        ("webhook/b.json.hbs", "\n{{> webhook/a.json.hbs}}"),
        ("slack/c.json.hbs", "{{> webhook/a.json.hbs}}"),
    ]);
    assert_eq!(
        errors,
        [
            "slack/c.json.hbs:1: unknown partial \"webhook/a.json.hbs\": name it by its path under the templates folder, in the same channel (and for email, the same part)",
            "webhook/b.json.hbs:2: partials include each other: webhook/a.json.hbs → webhook/b.json.hbs → webhook/a.json.hbs",
        ]
    );
}

/// Issue 17, item 2: `email/x.text.hbs -> /proc/self/environ` passed `validate` and `render`
/// printed the router's environment. A template whose real path is outside the templates folder
/// is refused at load, without its content in the error; links within the folder (a Kubernetes
/// ConfigMap mount) still load.
#[test]
fn a_template_linked_to_a_file_outside_the_folder_is_refused() {
    use std::os::unix::fs::symlink;
    let parent = tempfile::tempdir().expect("tempdir");
    let secret = parent.path().join("environ");
    fs::write(&secret, "ROUTER_ADMIN_TOKEN=canary-environ-Zk4").expect("write");
    let dir = parent.path().join("templates");
    for (name, source) in EMAIL_SET {
        write(&dir, name, source);
    }
    write(&dir, "..data/slack/ok.json.hbs", r#"{"text": "ok"}"#);
    fs::create_dir_all(dir.join("slack")).expect("mkdir");
    fs::create_dir_all(dir.join("webhook")).expect("mkdir");
    symlink("../..data/slack/ok.json.hbs", dir.join("slack/ok.json.hbs")).expect("link");
    let links = [
        ("email/ops.text.hbs", secret.clone()),
        ("webhook/env.json.hbs", "/proc/self/environ".into()),
        ("slack/up.json.hbs", "../../environ".into()),
    ];
    fs::remove_file(dir.join(links[0].0)).expect("rm");
    for (name, target) in &links {
        symlink(target, dir.join(name)).expect("link");
    }

    let errors = Templates::load(&dir).expect_err("links outside are refused");
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    for (name, _) in &links {
        assert!(
            shown
                .iter()
                .any(|e| e.contains(name) && e.contains("outside the folder")),
            "{name} is refused: {shown:?}"
        );
    }
    assert_eq!(shown.len(), links.len(), "{shown:?}");
    assert!(!shown.concat().contains("canary-environ"), "{shown:?}");

    for (name, _) in &links {
        fs::remove_file(dir.join(name)).expect("rm");
    }
    write(&dir, EMAIL_SET[1].0, EMAIL_SET[1].1);
    let templates = Templates::load(&dir).expect("links inside load");
    assert_eq!(templates.names(Channel::Slack), ["slack/ok.json.hbs"]);
    assert_eq!(templates.names(Channel::Email), ["email/ops"]);
}
