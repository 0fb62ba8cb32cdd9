//! The `enabled:` line edit: block and flow entries, comments, quoting, a missing line, and what
//! it refuses.

use super::*;

/// Asserts that turning `id` to `enabled` turns `before` into exactly `after`.
fn edits(before: &str, id: &str, enabled: bool, after: &str) {
    let edited = set_source_enabled(before, id, enabled)
        .unwrap_or_else(|e| panic!("cannot edit {id}: {e}\n{before}"));
    assert_eq!(edited, after, "editing {id}");
}

const BLOCK: &str = "\
# Sources, each off by default.
kafka:
  brokers: embedded   # enabled: true is not here
sources:
  - id: lifecycle
    name: Lifecycle   # the first one
    # Off by default, as in Event Notifications.
    enabled: false  # keep me
    kafka_topics: [lifecycle]

  # The audit one.
  - id: \"audit\"
    type: activity-tracker
    enabled: true
    kafka_topics:
      - audit
destinations: []
";

#[test]
fn a_block_entry_gets_its_one_line_changed_and_keeps_its_comments() {
    edits(
        BLOCK,
        "lifecycle",
        true,
        &BLOCK.replace("enabled: false  # keep me", "enabled: true  # keep me"),
    );
    edits(
        BLOCK,
        "audit",
        false,
        &BLOCK.replace("    enabled: true\n", "    enabled: false\n"),
    );
}

#[test]
fn setting_the_value_it_has_changes_nothing() {
    edits(BLOCK, "lifecycle", false, BLOCK);
}

#[test]
fn a_missing_enabled_line_is_added_after_the_id() {
    let before =
        "sources:\n  - id: a\n    kafka_topics: [a]\n  - name: B\n    id: 'b'\n    type: x\n";
    edits(
        before,
        "a",
        true,
        "sources:\n  - id: a\n    enabled: true\n    kafka_topics: [a]\n  - name: B\n    id: 'b'\n    type: x\n",
    );
    edits(
        before,
        "b",
        true,
        "sources:\n  - id: a\n    kafka_topics: [a]\n  - name: B\n    id: 'b'\n    enabled: true\n    type: x\n",
    );
    edits(
        "sources:\n- id: last",
        "last",
        true,
        "sources:\n- id: last\n  enabled: true",
    );
}

#[test]
fn an_enabled_line_first_in_the_entry_is_changed() {
    edits(
        "sources:\n  - enabled: false\n    id: a\n",
        "a",
        true,
        "sources:\n  - enabled: true\n    id: a\n",
    );
}

#[test]
fn a_flow_entry_is_changed_in_place() {
    let before = "sources:\n  - { id: a, type: resource-lifecycle-events, enabled: true, kafka_topics: [a, b] }  # a\n  - {id: \"b, c\", kafka_topics: [x]}\n";
    edits(
        before,
        "a",
        false,
        &before.replace("enabled: true,", "enabled: false,"),
    );
    edits(
        before,
        "b, c",
        true,
        &before.replace("kafka_topics: [x]}", "kafka_topics: [x], enabled: true}"),
    );
}

#[test]
fn quoted_values_are_matched_and_replaced() {
    edits(
        "sources:\n  - id: 'a'\n    enabled: \"false\"\n",
        "a",
        true,
        "sources:\n  - id: 'a'\n    enabled: true\n",
    );
}

#[test]
fn keys_of_nested_maps_and_other_sections_are_left_alone() {
    let before = "\
kafka:
  id: a
  enabled: false
sources:
  - id: b
    kafka_topics: [b]
    extra:
      id: a
      enabled: false
    list:
      - id: a
        enabled: false
  - id: a
    kafka_topics: [a]
";
    edits(
        before,
        "a",
        true,
        &before.replace(
            "  - id: a\n    kafka_topics: [a]\n",
            "  - id: a\n    enabled: true\n    kafka_topics: [a]\n",
        ),
    );
}

#[test]
fn what_it_cannot_edit_is_refused() {
    assert_eq!(
        set_source_enabled("kafka: {}\n", "a", true),
        Err(ToggleError::NoSources)
    );
    assert_eq!(
        set_source_enabled("sources: [{id: a}]\n", "a", true),
        Err(ToggleError::NoSources)
    );
    assert_eq!(
        set_source_enabled(BLOCK, "nope", true),
        Err(ToggleError::UnknownSource("nope".into()))
    );
    assert_eq!(
        set_source_enabled(
            "sources:\n  - { id: a,\n      enabled: false }\n",
            "a",
            true
        ),
        Err(ToggleError::Unsupported("a".into()))
    );
    // An anchor's alias would lose its value: the parsed result shows it, and nothing is written.
    let anchored = "sources:\n  - id: a\n    enabled: &on false\n  - id: b\n    enabled: *on\n";
    assert!(
        matches!(
            set_source_enabled(anchored, "a", true),
            Err(ToggleError::Invalid(_) | ToggleError::Unverified(_))
        ),
        "{:?}",
        set_source_enabled(anchored, "a", true)
    );
}
