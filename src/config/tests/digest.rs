//! Digests in the configuration: a subscription's `digest:` compiles, and each mistake stops the
//! load naming the file, the item and the reason.

use super::mute::{load_edited, load_replaced};

/// The first subscription of `instance-failures` (a webhook) with `digest`, and the shipped
/// webhook digest template.
fn with_digest(digest: &str) -> Result<crate::config::Config, Vec<String>> {
    load_replaced(
        "",
        &format!("template: webhook/digest.json.hbs\n    digest: {digest}"),
    )
}

#[test]
fn a_subscription_with_a_digest_compiles_with_its_groups_and_timing() {
    let config = with_digest(
        "{ group_by: [$.data.event_properties.region_id, $.type], wait: 30s, interval: 5m, max_items: 100 }",
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let subscription = config
        .table
        .subscription_by_name("platform-oncall")
        .expect("configured");
    let digest = subscription.digest.as_ref().expect("a digest");
    let paths: Vec<&str> = digest.group_by.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["$.data.event_properties.region_id", "$.type"]);
    assert_eq!(digest.interval, std::time::Duration::from_secs(300));
    assert_eq!(digest.max_items, 100);
}

#[test]
fn each_digest_mistake_names_file_item_and_reason() {
    let item = "$DIR/topics/instance-failures.yaml: subscriptions[0] (platform-oncall).digest";
    let cases: &[(&str, &[String])] = &[
        (
            "{ wait: 0s }",
            &[format!(
                "{item}.wait: must be more than 0s: the first notification of a group waits this long for company"
            )],
        ),
        (
            "{ group_by: ['$.data.region == 1'] }",
            &[format!(
                "{item}.group_by[0]: \"$.data.region == 1\" is not an EN path: column 1: expected one path from the notification's root, such as $.data.region"
            )],
        ),
        (
            "{ max_items: 0 }",
            &[format!("{item}.max_items: must be from 1 to 1000, not 0")],
        ),
        (
            "{ group_by: [$.data.region, 'data.region'] }",
            &[format!(
                "{item}.group_by[1]: \"data.region\" is not an EN path: column 1: unexpected 'data', expected a condition: a path, a comparison, '(' or 'not(' (strings must be quoted)"
            )],
        ),
    ];
    for (extra, expected) in cases {
        match with_digest(extra) {
            Ok(_) => panic!("{extra:?} was accepted"),
            Err(got) => assert_eq!(got, *expected, "{extra:?}"),
        }
    }
}

#[test]
fn a_digest_with_a_template_of_one_notification_is_refused_naming_file_item_and_reason() {
    // The shipped subscription's template renders one notification (`{{notification_id}}`...).
    let Err(errors) = load_edited("", "\n    digest: { group_by: [$.type] }") else {
        panic!("a single-event template with a digest is refused");
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    let error = &errors[0];
    assert!(
        error.starts_with(
            "$DIR/topics/instance-failures.yaml: subscriptions[0] (platform-oncall).template: \"webhook/lifecycle-summary.json.hbs\" does not render a digest ("
        ),
        "{error}"
    );
    assert!(
        error.ends_with(
            "with `digest`, the template sees `notifications`, `group` and `count` instead of one notification; use a digest template such as webhook/digest.json.hbs, or none for the default digest"
        ),
        "{error}"
    );
}

#[test]
fn each_channel_accepts_its_digest_template_and_refuses_its_single_event_one() {
    // (subscription of instance-failures, its template line, a digest template of its channel)
    let cases = [
        (
            "template: webhook/lifecycle-summary.json.hbs",
            "webhook/digest.json.hbs",
        ),
        ("template: email/lifecycle", "email/digest"),
        (
            "template: slack/lifecycle.json.hbs",
            "slack/digest.json.hbs",
        ),
    ];
    for (line, digest_template) in cases {
        let (dir, router) = super::shipped_copy();
        let topic = dir.path().join("topics/instance-failures.yaml");
        let text = std::fs::read_to_string(&topic).expect("read");
        let digest = "\n    digest: { wait: 1m }";
        let single = text.replacen(line, &format!("{line}{digest}"), 1);
        std::fs::write(&topic, &single).expect("write");
        let errors = super::load_with(&router, &super::no_env)
            .err()
            .unwrap_or_else(|| panic!("{line} with a digest was accepted"));
        assert!(
            errors.0[0].to_string().contains("does not render a digest"),
            "{line}: {errors:?}"
        );
        let fixed = text.replacen(line, &format!("template: {digest_template}{digest}"), 1);
        std::fs::write(&topic, fixed).expect("write");
        if let Err(errors) = super::load_with(&router, &super::no_env) {
            panic!("{digest_template}: {errors:?}");
        }
    }
}
