//! Load-time checks of a compiled template: every helper it calls exists, partials are named
//! literally (so they can be checked), and no decorators.

use handlebars::Path;
use handlebars::template::{
    DecoratorTemplate, HelperTemplate, Parameter, Template, TemplateElement,
};

use super::helpers;

/// One problem in a template: the line it is on (when Handlebars recorded one) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    pub line: Option<usize>,
    pub message: String,
}

/// A partial a template includes (`{{> name}}` or `{{#> name}}...{{/name}}`), and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PartialUse {
    pub name: String,
    pub line: Option<usize>,
}

/// What the walk of one template found.
#[derive(Debug, Default)]
pub(super) struct Inspection {
    pub problems: Vec<Problem>,
    /// The partials it includes, in source order (`@partial-block` left out).
    pub partials: Vec<PartialUse>,
    /// Where it writes a value unescaped (`{{{value}}}`), which only some formats allow.
    pub raw_outputs: Vec<Option<usize>>,
}

/// Every problem in `template`, in source order, and the partials it includes.
///
/// Handlebars only notices a missing helper or partial when it renders the expression that calls
/// it, which may be on a branch taken once a month: we walk the whole tree instead. A name-only
/// `{{name}}` is a value lookup unless `name` is a helper, so it is never a problem.
pub(super) fn inspect(template: &Template) -> Inspection {
    let mut found = Inspection::default();
    walk(template, None, &mut found);
    found
}

/// Just the problems of [`inspect`].
#[cfg(test)]
pub(super) fn problems(template: &Template) -> Vec<Problem> {
    inspect(template).problems
}

fn walk(template: &Template, parent_line: Option<usize>, found: &mut Inspection) {
    for (index, element) in template.elements.iter().enumerate() {
        let line = template.mapping.get(index).map(|m| m.0).or(parent_line);
        match element {
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => {}
            TemplateElement::Expression(call) => {
                let name_only = call.params.is_empty() && call.hash.is_empty();
                check_call(call, !name_only, line, found);
            }
            TemplateElement::HtmlExpression(call) => {
                found.raw_outputs.push(line);
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
                found.problems.push(Problem {
                    line,
                    message: "decorators ({{* ...}}, inline partials included) are not supported"
                        .to_owned(),
                });
            }
            TemplateElement::PartialExpression(partial)
            | TemplateElement::PartialBlock(partial) => check_partial(partial, line, found),
            // `TemplateElement` is non-exhaustive: reject what this check does not know.
            _ => found.problems.push(Problem {
                line,
                message: "unsupported template element".to_owned(),
            }),
        }
    }
}

/// Records the partial's name, which must be written literally; walks its arguments and body.
fn check_partial(partial: &DecoratorTemplate, line: Option<usize>, found: &mut Inspection) {
    let name = match &partial.name {
        Parameter::Literal(serde_json::Value::String(name)) => Some(name.as_str()),
        other => other.as_name(),
    };
    match name {
        Some("@partial-block") => {}
        Some(name) => found.partials.push(PartialUse {
            name: name.to_owned(),
            line,
        }),
        None => found.problems.push(Problem {
            line,
            message: "a partial's name must be written literally ({{> name}}), not computed"
                .to_owned(),
        }),
    }
    for parameter in partial.params.iter().chain(partial.hash.values()) {
        check_parameter(parameter, line, found);
    }
    if let Some(body) = &partial.template {
        walk(body, line, found);
    }
}

/// Checks the helper name when `calls_helper`, then any subexpression among the arguments.
fn check_call(
    call: &HelperTemplate,
    calls_helper: bool,
    line: Option<usize>,
    found: &mut Inspection,
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

fn check_parameter(parameter: &Parameter, line: Option<usize>, found: &mut Inspection) {
    if let Parameter::Subexpression(sub) = parameter {
        match sub.as_element() {
            // A subexpression always calls a helper, even without arguments.
            TemplateElement::Expression(call) => check_call(call, true, line, found),
            _ => found.problems.push(Problem {
                line,
                message: "unsupported subexpression".to_owned(),
            }),
        }
    }
}

fn check_helper_name(name: &Parameter, line: Option<usize>, found: &mut Inspection) {
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
        found.problems.push(Problem {
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
        let cases: [(&str, Option<usize>, &str); 8] = [
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
            ("{{> (which)}}", Some(1), "written literally"),
            ("{{#*inline \"x\"}}y{{/inline}}", Some(1), "decorators"),
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

    #[test]
    fn records_partials_with_their_lines() {
        let template = Template::compile(
            "{{> webhook/a.json.hbs}}\n{{#> webhook/b.json.hbs}}{{> @partial-block}}{{/webhook/b.json.hbs}}\n{{#if x}}{{> c}}{{/if}}",
        )
        .expect("test template compiles");
        let found = inspect(&template);
        assert_eq!(found.problems, Vec::new());
        let partials: Vec<(&str, Option<usize>)> = found
            .partials
            .iter()
            .map(|p| (p.name.as_str(), p.line))
            .collect();
        assert_eq!(
            partials,
            [
                ("webhook/a.json.hbs", Some(1)),
                ("webhook/b.json.hbs", Some(2)),
                ("c", Some(3))
            ]
        );
    }
}
