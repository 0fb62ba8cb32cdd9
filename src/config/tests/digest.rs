//! Digests in the configuration: a subscription's `digest:` compiles, and each mistake stops the
//! load naming the file, the item and the reason.

use super::mute::load_edited;

#[test]
fn a_subscription_with_a_digest_compiles_with_its_groups_and_timing() {
    let config = load_edited(
        "",
        "\n    digest: { group_by: [$.data.event_properties.region_id, $.type], wait: 30s, interval: 5m, max_items: 100 }",
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
            "\n    digest: { wait: 0s }",
            &[format!(
                "{item}.wait: must be more than 0s: the first notification of a group waits this long for company"
            )],
        ),
        (
            "\n    digest: { group_by: ['$.data.region == 1'] }",
            &[format!(
                "{item}.group_by[0]: \"$.data.region == 1\" is not an EN path: column 1: expected one path from the notification's root, such as $.data.region"
            )],
        ),
        (
            "\n    digest: { max_items: 0 }",
            &[format!("{item}.max_items: must be from 1 to 1000, not 0")],
        ),
        (
            "\n    digest: { group_by: [$.data.region, 'data.region'] }",
            &[format!(
                "{item}.group_by[1]: \"data.region\" is not an EN path: column 1: unexpected 'data', expected a condition: a path, a comparison, '(' or 'not(' (strings must be quoted)"
            )],
        ),
    ];
    for (extra, expected) in cases {
        match load_edited("", extra) {
            Ok(_) => panic!("{extra:?} was accepted"),
            Err(got) => assert_eq!(got, *expected, "{extra:?}"),
        }
    }
}
