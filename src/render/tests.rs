//! Tests of loading template folders and rendering webhook bodies.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use super::{Channel, MAX_TEMPLATE_BYTES, RenderError, Templates};

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
        ("email/body.hbs", "{{"),
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
