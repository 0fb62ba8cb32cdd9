//! Filters written back as text read back as the same filter; explanations say which part failed.

use serde_json::json;

use super::super::Filter;

#[test]
fn written_filters_parse_back_to_the_same_expression() {
    let sources = [
        "$.type == 'com.ibm.cloud.resource-lifecycle-events.instance:create'",
        r"$.type =~ '^com\.ibm\.cloud\.resource-lifecycle-events\.instance:.*_failure$'",
        r"$.a =~ 'back\\slash \\n and quote \' and \d'",
        "$.a == 'x' || $.b != 2 && not($.c) || ($.d == 1 || $.e == 2) && $.f",
        "$.data['a name'].x[0][-1][1:3][::2][0,'k'].*..y..* == null",
        "$.items[?(@.age > 20 && @.name =~ '(?i)^a')].name == true",
        "$..['0'] >= 1.5e3",
        "false",
        "$['trailing\\\\']",
        // Found by fuzzing: a backslash before a tab, which is written back as `\t`.
        "$.type =~ '~com[?\0\0&&oud\\.resource-lifecy\\^\\\\\\\\\\t-lifecy\\^#\0]]e$'",
        "$.a == 'x\\\n'",
    ];
    for source in sources {
        let filter = Filter::parse(source).unwrap_or_else(|e| panic!("{source}: {e}"));
        let written = filter.expr().to_string();
        let again = Filter::parse(&written).unwrap_or_else(|e| panic!("{written}: {e}"));
        assert_eq!(
            again.expr(),
            filter.expr(),
            "{source} was written as {written}"
        );
    }
    let simple = Filter::parse("$.a=='x'&&($.b||$.c)").unwrap();
    assert_eq!(simple.expr().to_string(), "$.a == 'x' && ($.b || $.c)");
}

#[test]
fn explanations_show_each_part_and_what_its_paths_selected() {
    let notification = json!({
        "type": "com.ibm.cloud.resource-lifecycle-events.key:create",
        "data": {"event_properties": {"region_id": "eu-de"}, "tags": [1, 2, 3, 4, 5, 6, 7]}
    });
    let filter = Filter::parse(
        "$.type =~ 'key:(create|delete)' && $.data.event_properties.region_id == 'us-south' && not($.data.missing)",
    )
    .unwrap();
    let explanation = filter.explain(&notification);
    assert!(!explanation.holds);
    assert_eq!(
        explanation.lines(2),
        "  ✗ $.type =~ 'key:(create|delete)' && $.data.event_properties.region_id == 'us-south' && not($.data.missing)
    ✓ $.type =~ 'key:(create|delete)'
        $.type is \"com.ibm.cloud.resource-lifecycle-events.key:create\"
    ✗ $.data.event_properties.region_id == 'us-south'
        $.data.event_properties.region_id is \"eu-de\"
    ✓ not($.data.missing)
      ✗ $.data.missing
          $.data.missing selects nothing
"
    );
    let many = Filter::parse("$.data.tags[*] == 9")
        .unwrap()
        .explain(&notification);
    assert_eq!(
        many.selected,
        [(
            "$.data.tags.*".to_owned(),
            ["1", "2", "3", "4", "5", "… and 2 more"]
                .map(String::from)
                .to_vec()
        )]
    );
}
