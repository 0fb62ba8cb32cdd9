//! Mute windows in the configuration: named intervals compile, subscriptions find them, and each
//! mistake names the file, the item and the reason.

use super::*;

const NIGHTS: &str = "\ntime_intervals:\n  - name: nights\n    time_intervals:\n      - times: [{start_time: '22:00', end_time: '24:00'}, {start_time: '00:00', end_time: '08:00'}]\n        location: Europe/Amsterdam\n";
const SUBSCRIPTION: &str = "template: webhook/lifecycle-summary.json.hbs";

/// Loads the shipped configuration with `router_extra` appended to `router.yaml` and
/// `subscription_extra` added to `instance-failures`' first subscription.
pub(super) fn load_edited(
    router_extra: &str,
    subscription_extra: &str,
) -> Result<Config, Vec<String>> {
    load_replaced(router_extra, &format!("{SUBSCRIPTION}{subscription_extra}"))
}

/// Loads the shipped configuration with `router_extra` appended to `router.yaml` and the
/// `template:` line of `instance-failures`' first subscription replaced with `subscription`.
pub(super) fn load_replaced(router_extra: &str, subscription: &str) -> Result<Config, Vec<String>> {
    let (dir, router) = shipped_copy();
    let text = std::fs::read_to_string(&router).expect("read");
    std::fs::write(&router, format!("{text}{router_extra}")).expect("write");
    let topic = dir.path().join("topics/instance-failures.yaml");
    let text = std::fs::read_to_string(&topic).expect("read");
    assert!(text.contains(SUBSCRIPTION));
    let edited = text.replacen(SUBSCRIPTION, subscription, 1);
    std::fs::write(&topic, edited).expect("write");
    let prefix = dir.path().display().to_string();
    load_with(&router, &no_env).map_err(|errors| {
        errors
            .0
            .iter()
            .map(|e| e.to_string().replace(&prefix, "$DIR"))
            .collect()
    })
}

#[test]
fn a_subscription_refers_to_named_intervals_and_says_what_happens_when_muted() {
    let loaded = load_edited(
        NIGHTS,
        "\n    mute_time_intervals: [nights]\n    when_muted: delay",
    );
    let config = loaded.unwrap_or_else(|e| panic!("{e:?}"));
    let subscription = config
        .table
        .subscription_by_name("platform-oncall")
        .expect("configured");
    let mute = subscription.mute.as_ref().expect("muted by nights");
    assert_eq!(mute.mute[0].name, "nights");
    assert_eq!(mute.when_muted, crate::mute::WhenMuted::Delay);
    let others = config
        .table
        .subscriptions()
        .iter()
        .filter(|s| s.mute.is_some());
    assert_eq!(
        others.count(),
        1,
        "only the subscription that names an interval"
    );
}

#[test]
fn each_mute_mistake_names_file_item_and_reason() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            NIGHTS,
            "\n    mute_time_intervals: [night]",
            &[
                "$DIR/topics/instance-failures.yaml: subscriptions[0] (platform-oncall).mute_time_intervals: unknown time interval \"night\"; valid (router.yaml time_intervals): nights",
            ],
        ),
        (
            "",
            "\n    active_time_intervals: [business-hours]",
            &[
                "$DIR/topics/instance-failures.yaml: subscriptions[0] (platform-oncall).active_time_intervals: unknown time interval \"business-hours\"; valid (router.yaml time_intervals): none defined",
            ],
        ),
        (
            NIGHTS,
            "\n    when_muted: delay",
            &[
                "$DIR/topics/instance-failures.yaml: subscriptions[0] (platform-oncall).when_muted: has no effect without mute_time_intervals or active_time_intervals",
            ],
        ),
        (
            "\ntime_intervals:\n  - name: weekends\n    time_intervals:\n      - weekdays: ['saturday:sunday']\n",
            "\n    mute_time_intervals: [weekends]",
            &[
                "$DIR/router.yaml: time_intervals[0] (weekends).time_intervals[0].weekdays: \"saturday:sunday\" ends before it starts: a week runs from sunday to saturday (write saturday, sunday)",
            ],
        ),
        (
            "\ntime_intervals:\n  - name: office\n    time_intervals:\n      - location: Europe/Amsterdm\n",
            "",
            &[
                "$DIR/router.yaml: time_intervals[0] (office).time_intervals[0].location: \"Europe/Amsterdm\" is not in the time-zone database: write a name like Europe/Amsterdam, America/New_York or UTC",
            ],
        ),
    ];
    for (router_extra, subscription_extra, expected) in cases {
        let loaded = load_edited(router_extra, subscription_extra);
        match loaded {
            Ok(_) => panic!("{router_extra:?} / {subscription_extra:?} was accepted"),
            Err(got) => assert_eq!(got, *expected, "{router_extra:?} / {subscription_extra:?}"),
        }
    }
}
