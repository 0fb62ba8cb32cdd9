//! Load-time checks of a compiled template: every helper it calls exists, and no partials or decorators.

use handlebars::Path;
use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};

use super::helpers;

/// One problem in a template: the line it is on (when Handlebars recorded one) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub message: String,
}

/// Every problem in `template`, in source order.
///
/// Handlebars only notices a missing helper when it renders the expression that calls it, which
/// may be on a branch taken once a month: we walk the whole tree instead. A name-only
/// `{{name}}` is a value lookup unless `name` is a helper, so it is never a problem.
pub fn problems(template: &Template) -> Vec<Problem> {
    let mut found = Vec::new();
    walk(template, None, &mut found);
    found
}

fn walk(template: &Template, parent_line: Option<usize>, found: &mut Vec<Problem>) {
    for (index, element) in template.elements.iter().enumerate() {
        let line = template.mapping.get(index).map(|m| m.0).or(parent_line);
        match element {
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => {}
            TemplateElement::Expression(call) | TemplateElement::HtmlExpression(call) => {
                let name_only = call.params.is_empty() && call.hash.is_empty();
                check_call(call, !name_only, line, found);
            }
            TemplateElement::HelperBlock(call) => {
                check_call(call, true, line, found);
                if let Some(body) = &call.template {
                    walk(body, line, found);
                }
                if let Some(inverse) = &call.inverse {
                    walk(inverse, line, found);
                }
            }
            TemplateElement::DecoratorExpression(_) | TemplateElement::DecoratorBlock(_) => {
                found.push(Problem {
                    line,
                    message: "decorators ({{* ...}}) are not supported".to_owned(),
                });
            }
            TemplateElement::PartialExpression(_) | TemplateElement::PartialBlock(_) => {
                found.push(Problem {
                    line,
                    message: "partials ({{> ...}}) are not supported".to_owned(),
                });
            }
            // `TemplateElement` is non-exhaustive: reject what this check does not know.
            _ => found.push(Problem {
                line,
                message: "unsupported template element".to_owned(),
            }),
        }
    }
}

/// Checks the helper name when `calls_helper`, then any subexpression among the arguments.
fn check_call(
    call: &HelperTemplate,
    calls_helper: bool,
    line: Option<usize>,
    found: &mut Vec<Problem>,
) {
    if calls_helper {
        check_helper_name(&call.name, line, found);
    }
    if let Parameter::Subexpression(_) = &call.name {
        check_parameter(&call.name, line, found);
    }
    for parameter in call.params.iter().chain(call.hash.values()) {
        check_parameter(parameter, line, found);
    }
}

fn check_parameter(parameter: &Parameter, line: Option<usize>, found: &mut Vec<Problem>) {
    if let Parameter::Subexpression(sub) = parameter {
        match sub.as_element() {
            // A subexpression always calls a helper, even without arguments.
            TemplateElement::Expression(call) => check_call(call, true, line, found),
            _ => found.push(Problem {
                line,
                message: "unsupported subexpression".to_owned(),
            }),
        }
    }
}

fn check_helper_name(name: &Parameter, line: Option<usize>, found: &mut Vec<Problem>) {
    let name = match name {
        Parameter::Name(name) => name.as_str(),
        Parameter::Path(Path::Relative((_, raw)) | Path::Local((_, _, raw))) => raw.as_str(),
        Parameter::Literal(_) | Parameter::Subexpression(_) => return,
        _ => return,
    };
    if !helpers::is_known(name) {
        let mut known: Vec<&str> = helpers::CUSTOM
            .iter()
            .chain(&helpers::BUILT_IN)
            .copied()
            .collect();
        known.sort_unstable();
        found.push(Problem {
            line,
            message: format!(
                "unknown helper {name:?}; known helpers: {}",
                known.join(", ")
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(source: &str) -> Vec<Problem> {
        let template = Template::compile(source).expect("test template compiles");
        problems(&template)
    }

    #[test]
    fn finds_unknown_helpers_wherever_they_are() {
        let cases: [(&str, Option<usize>, &str); 7] = [
            ("{{nope a}}", Some(1), "\"nope\""),
            ("\n{{#nope}}x{{/nope}}", Some(2), "\"nope\""),
            ("{{#if a}}\n\n{{upper b}}{{/if}}", Some(3), "\"upper\""),
            (
                "{{#if a}}x{{else}}\n{{upper b}}{{/if}}",
                Some(2),
                "\"upper\"",
            ),
            ("{{#if (nope a)}}x{{/if}}", Some(1), "\"nope\""),
            ("{{json (missing)}}", Some(1), "\"missing\""),
            ("{{> other}}", Some(1), "partials"),
        ];
        for (source, line, needle) in cases {
            let found = check(source);
            assert_eq!(found.len(), 1, "{source}: {found:?}");
            assert_eq!(found[0].line, line, "{source}");
            assert!(
                found[0].message.contains(needle),
                "{source}: {}",
                found[0].message
            );
        }
    }

    #[test]
    fn accepts_values_and_known_helpers() {
        let source = r#"{"a": "{{data.name}}", "b": {{json data}}, "c": "{{#if (equal a "x")}}y{{else if (contains t "p")}}z{{/if}}", "d": "{{#each items}}{{this}}{{/each}}"}"#;
        assert_eq!(check(source), Vec::new());
    }
}
