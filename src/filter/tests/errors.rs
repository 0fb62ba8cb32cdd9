//! Table-driven parse errors: each asserts the exact column and message.

use crate::filter::{Filter, FilterError, MAX_DEPTH};

/// Checks every `(filter, column, message)` case, reporting all mismatches at once.
fn assert_errors(cases: &[(&str, usize, &str)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|&(source, column, message)| {
            let expected = FilterError::new(column, message);
            match Filter::parse(source) {
                Err(error) if error == expected => None,
                Err(error) => Some(format!("{source:?}: got `{error}`, expected `{expected}`")),
                Ok(_) => Some(format!("{source:?}: parsed, expected `{expected}`")),
            }
        })
        .collect();
    assert!(
        failures.is_empty(),
        "failing cases:\n{}",
        failures.join("\n")
    );
}

#[test]
fn lexical_errors() {
    assert_errors(&[
        ("", 1, "empty filter"),
        ("   ", 1, "empty filter"),
        ("$.#", 3, "unexpected character '#'"),
        (
            "$.a = 1",
            5,
            "unexpected character '='; did you mean '==' or '=~'?",
        ),
        (
            "$.a & $.b",
            5,
            "unexpected character '&'; did you mean '&&'?",
        ),
        ("!$.a", 1, "unexpected character '!'; use '!=' or 'not( )'"),
        ("$.a == 'abc", 8, "unterminated string"),
        (r#"$.a == "abc\""#, 8, "unterminated string"),
        (r"$.a == '\u12'", 9, r"expected 4 hex digits after '\u'"),
        (r"$.a == '\ud800'", 9, r"unpaired surrogate in '\u' escape"),
        (
            "$.a == 012",
            8,
            "invalid number 012: leading zeros are not allowed",
        ),
        ("$.a == 1e999", 8, "number 1e999 is out of range"),
        ("$.a == -x", 8, "expected a digit after '-'"),
        ("'é' == $.#", 10, "unexpected character '#'"),
    ]);
}

#[test]
fn expression_errors() {
    assert_errors(&[
        (
            "not($.x == 1 $.y)",
            14,
            "expected ')' to close '(' at column 4",
        ),
        ("($.x == 1", 10, "expected ')' to close '(' at column 1"),
        ("$.data <", 9, "unexpected end of filter, expected a value"),
        (
            "$.a &&",
            7,
            "unexpected end of filter, expected a condition",
        ),
        (
            "$.a == 1 foo",
            10,
            "unexpected 'foo' after the end of the expression",
        ),
        (
            "$.a == 1 == 2",
            10,
            "unexpected '==' after the end of the expression",
        ),
        ("$.a == 1)", 9, "unexpected ')' with no matching '('"),
        (
            "$.a && || $.b",
            8,
            "unexpected '||', expected a condition: a path, a comparison, '(' or 'not('",
        ),
        (
            "$.a == foo",
            8,
            "unexpected 'foo', expected a value: a path, a quoted string, a number, true, false or null (strings must be quoted)",
        ),
        ("not $.a", 5, "unexpected '$', expected '(' after 'not'"),
        (
            "'abc'",
            1,
            "a literal alone is not a condition; compare it with ==, !=, <, <=, > or >=",
        ),
        ("$.type =~ 'a('", 11, "invalid regex: unclosed group"),
        (
            "$.a =~ $.b",
            8,
            "unexpected '$', expected a quoted regular expression after '=~'",
        ),
        ("'x' =~ 'y'", 1, "the left side of '=~' must be a path"),
        (
            "@.a == 1",
            1,
            "'@' is the current node and is only valid inside a filter '[?( )]'",
        ),
    ]);
}

#[test]
fn path_errors() {
    assert_errors(&[
        (
            "$.",
            3,
            "unexpected end of filter, expected a member name or '*' after '.'",
        ),
        (
            "$..",
            4,
            "unexpected end of filter, expected a member name or '*' after '..'",
        ),
        (
            "$.1 == 1",
            3,
            "unexpected number 1, expected a member name or '*' after '.'",
        ),
        ("$.a[0", 6, "expected ',' or ']' to close '[' at column 4"),
        (
            "$.a[]",
            5,
            "unexpected ']', expected a quoted name, an index, a slice, '*' or '?(' inside '[ ]'",
        ),
        ("$.a[1.5]", 5, "expected an integer index, found number 1.5"),
        ("$.a[1:2:0]", 9, "slice step cannot be zero"),
        (
            "$.a[?(@.b == 1]",
            15,
            "expected ')' to close '(' at column 6",
        ),
    ]);
}

#[test]
fn nesting_beyond_the_cap_is_an_error() {
    let message = "nesting too deep: at most 64 levels of parentheses, 'not( )' and '[?( )]'";
    let parens = format!(
        "{}true{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let nots = format!(
        "{}true{}",
        "not(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    // Each "[?(@.b" opens two levels; the '?' of the 33rd is one too many.
    let filters = format!("$.a{}", "[?(@.b".repeat(MAX_DEPTH));
    assert_errors(&[
        (&parens, MAX_DEPTH + 1, message),
        (&nots, 4 * (MAX_DEPTH + 1), message),
        (&filters, 4 + 6 * (MAX_DEPTH / 2) + 1, message),
    ]);
}
