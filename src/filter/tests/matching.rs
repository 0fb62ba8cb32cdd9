//! Table-driven matching cases: existential semantics, types, regexes and every path selector.

use serde_json::{Value, json};

use super::assert_cases;

fn notification() -> Value {
    json!({
        "type": "com.example:create",
        "n": 20, "f": 20.0, "neg": -3.5, "big": 9007199254740993_u64, "s20": "20",
        "flag": true, "nothing": null, "not": 1, "event-type": "x",
        "nums": [1, 2, 3, 4, 5],
        "tags": ["a", "b", "prod"],
        "obj": {"x": 1, "y": 2, "z": "three"},
        "same": {"nums": [1, 2, 3, 4, 5], "obj": {"z": "three", "y": 2.0, "x": 1}},
        "weird": {"a name": 1, "a.b": 2, "0": "zero", "it's": "q"},
        "people": [
            {"name": "Alice", "age": 25, "pets": [{"kind": "cat"}]},
            {"name": "Bob", "age": 30, "pets": []}
        ],
        "empty": {}, "emptyarr": [],
        "deep": {"a": {"b": {"c": "found"}}}
    })
}

#[test]
fn existential_semantics_and_missing_paths() {
    assert_cases(
        &notification(),
        &[
            ("$.nums[*] == 3", true),
            ("$.nums[*] > 5", false),
            ("$.nums[*] != 1", true),
            ("$.people[*].age >= 30", true),
            ("$.nums[*] == $.obj.*", true),
            ("$.nums[*] == $.emptyarr[*]", false),
            ("$.tags[*] == $.people[*].name", false),
            ("$.missing != 'a'", false),
            ("not($.missing == 'a')", true),
            ("$.missing == null", false),
            ("$.missing", false),
            ("$.nothing", true),
            ("$", true),
            ("$.*", true),
        ],
    );
}

#[test]
fn regex_matching() {
    assert_cases(
        &notification(),
        &[
            (r"$.type =~ '^com\\.example:create$'", true),
            (r"$.type =~ '^com\.example:create$'", true),
            (r"$.type =~ '^com\.exampleXcreate$'", false),
            (r"$.n =~ '\d'", false),
            (r"$.tags[*] =~ '^\w+$'", true),
            ("$.type =~ '^create'", false),
            ("$.type =~ 'create'", true),
            ("$.type =~ '(?i)EXAMPLE'", true),
            ("$.n =~ '20'", false),
            ("$.nothing =~ '.*'", false),
            ("$.tags[*] =~ '^pro'", true),
            ("$.missing =~ ''", false),
        ],
    );
}

#[test]
fn not_parentheses_and_precedence() {
    assert_cases(
        &notification(),
        &[
            ("not($.flag == true)", false),
            ("not(not($.flag))", true),
            ("true || false && false", true),
            ("(true || false) && false", false),
            ("not(false) && ($.n == 1 || $.n == 20)", true),
            ("((($.n == 20)))", true),
            ("false || not(true) || $.flag", true),
            ("not ( $.n == 1 ) && not($.missing)", true),
            ("true", true),
            ("false", false),
            ("1 == 1.0", true),
        ],
    );
}

#[test]
fn types_numbers_strings_null_and_bool() {
    assert_cases(
        &notification(),
        &[
            ("$.s20 == 20", false),
            ("$.s20 != 20", true),
            ("$.s20 == '20'", true),
            ("$.s20 < 21", false),
            ("$.n == 20.0", true),
            ("$.f == 20", true),
            ("$.n == 2e1", true),
            ("$.n < 20.5", true),
            ("$.neg < -3", true),
            ("$.big == 9007199254740992", false),
            ("$.big > 9007199254740992", true),
            ("$.type > 'com'", true),
            ("'B' < 'a'", true),
            ("$.flag == true", true),
            ("$.flag != false", true),
            ("$.flag > false", false),
            ("$.nothing == null", true),
            ("$.nothing == false", false),
            ("$.nothing < 1", false),
            ("$.not == 1 && $.event-type == 'x'", true),
        ],
    );
}

#[test]
fn deep_equality_of_arrays_and_objects() {
    assert_cases(
        &notification(),
        &[
            ("$.nums == $.same.nums", true),
            ("$.nums != $.same.nums", false),
            ("$.obj == $.same.obj", true),
            ("$.nums == $.obj", false),
            ("$.nums == $.tags", false),
            ("$.empty == $.emptyarr", false),
            ("$.obj < $.same.obj", false),
        ],
    );
}

#[test]
fn indices_slices_and_unions() {
    assert_cases(
        &notification(),
        &[
            ("$.nums[0] == 1", true),
            ("$.nums[-1] == 5", true),
            ("$.nums[-5] == 1", true),
            ("$.nums[-6]", false),
            ("$.nums[5]", false),
            ("$.obj[0]", false),
            ("$.nums[1:3] == 3", true),
            ("$.nums[1:3] == 4", false),
            ("$.nums[:2] == 2", true),
            ("$.nums[:2] == 3", false),
            ("$.nums[3:] == 5", true),
            ("$.nums[3:] == 3", false),
            ("$.nums[::2] == 3", true),
            ("$.nums[::2] == 2", false),
            ("$.nums[-2:] == 4", true),
            ("$.nums[-2:] == 3", false),
            ("$.nums[4:1:-1] == 3", true),
            ("$.nums[4:1:-1] == 2", false),
            ("$.nums[::-2] == 1", true),
            ("$.nums[10:]", false),
            ("$.nums[1:1]", false),
            ("$.nums[0,4] == 5", true),
            ("$.nums[0,4] == 3", false),
            ("$.nums[0, 3:] == 4", true),
            ("$.obj['x','z'] == 'three'", true),
            ("$.obj['x','z'] == 2", false),
        ],
    );
}

#[test]
fn wildcards_descent_and_bracket_names() {
    assert_cases(
        &notification(),
        &[
            ("$.obj.* == 2", true),
            ("$.obj[*] == 'three'", true),
            ("$.nums.* == 5", true),
            ("$.empty.*", false),
            ("$.emptyarr[*]", false),
            ("$.n.*", false),
            ("$..c == 'found'", true),
            ("$..kind == 'cat'", true),
            ("$..[0] == 1", true),
            ("$..* == 'found'", true),
            ("$..missing", false),
            ("$.deep..c", true),
            ("$.deep..* == 'found'", true),
            ("$.weird['a name'] == 1", true),
            (r#"$.weird["a.b"] == 2"#, true),
            ("$.weird.a.b", false),
            ("$.weird['0'] == 'zero'", true),
            (r"$.weird['\u0030'] == 'zero'", true),
            (r"$.weird['it\'s'] == 'q'", true),
            ("$ . weird [ 'a name' ] == 1", true),
        ],
    );
}

#[test]
fn filters_current_node_and_nested_filters() {
    assert_cases(
        &notification(),
        &[
            (
                "$.people[?(@.pets[?(@.kind == 'cat')])].name == 'Alice'",
                true,
            ),
            ("$.people[?(@.pets[?(@.kind == 'dog')])]", false),
            ("$.nums[?(@ > 3)] == 4", true),
            ("$.nums[?(@ > 5)]", false),
            ("$.people[?(@)]", true),
            ("$.obj[?(@ == 'three')]", true),
            ("$.people[?(@.age > $.n)].name == 'Alice'", true),
            ("$.people[?(@.age > 26)].name == 'Alice'", false),
            ("$.people[?@.age > 26].name == 'Bob'", true),
            ("$.people[?(not(@.pets[0]))].name == 'Bob'", true),
            ("$.n[?(@)]", false),
        ],
    );
}

#[test]
fn filters_with_the_same_pattern_share_one_compiled_regex() {
    let regex = |source: &str| match crate::filter::Filter::parse(source)
        .expect("test filter parses")
        .expr()
    {
        crate::filter::Expr::Regex { regex, .. } => regex.clone(),
        other => panic!("not a regex: {other:?}"),
    };
    let (a, b) = (
        regex("$.a =~ '^shared-pattern'"),
        regex("$.b =~ '^shared-pattern'"),
    );
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    assert!(!std::sync::Arc::ptr_eq(
        &a,
        &regex("$.a =~ '^other-pattern'")
    ));
}

#[test]
fn filters_with_the_same_path_share_its_segments_unless_it_has_a_filter_selector() {
    let path = |source: &str| match crate::filter::Filter::parse(source)
        .expect("test filter parses")
        .expr()
    {
        crate::filter::Expr::Exists(path) => path.segments.clone(),
        other => panic!("not a bare path: {other:?}"),
    };
    let shared = path("$.data.shared_path");
    assert!(std::sync::Arc::ptr_eq(
        &shared,
        &path("$['data'].shared_path")
    ));
    assert!(!std::sync::Arc::ptr_eq(&shared, &path("$.data.other_path")));
    assert!(!std::sync::Arc::ptr_eq(
        &path("$.people[?(@.age > 26)]"),
        &path("$.people[?(@.age > 26)]")
    ));
}
