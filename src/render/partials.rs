//! Load-time checks of the partials one registry's templates include: each exists, and none
//! includes itself, directly or through others (Handlebars would recurse until the stack ends).

use std::collections::HashMap;

use super::TemplateError;
use super::load::Loaded;

/// Every problem with the partials of `templates`, one registry's worth: an unknown partial, at
/// the including file and line, and each cycle once, at the file and line that closes it.
pub(super) fn check(templates: &[Loaded]) -> Vec<TemplateError> {
    let index: HashMap<&str, usize> = templates
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let mut errors = Vec::new();
    for template in templates {
        for used in template
            .partials
            .iter()
            .filter(|u| !index.contains_key(u.name.as_str()))
        {
            errors.push(TemplateError {
                path: template.path.clone(),
                line: used.line,
                message: format!(
                    "unknown partial {:?}: name it by its path under the templates folder, \
                     in the same channel (and for email, the same part)",
                    used.name
                ),
            });
        }
    }
    let mut state = vec![Visit::New; templates.len()];
    for start in 0..templates.len() {
        let mut stack = Vec::new();
        visit(
            start,
            templates,
            &index,
            &mut state,
            &mut stack,
            &mut errors,
        );
    }
    errors
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visit {
    New,
    /// On the current path of the depth-first walk.
    Open,
    Done,
}

/// Depth-first walk from `at`; an edge back to a template on the current path is a cycle.
fn visit(
    at: usize,
    templates: &[Loaded],
    index: &HashMap<&str, usize>,
    state: &mut [Visit],
    stack: &mut Vec<usize>,
    errors: &mut Vec<TemplateError>,
) {
    if state[at] != Visit::New {
        return;
    }
    state[at] = Visit::Open;
    stack.push(at);
    for used in &templates[at].partials {
        let Some(&next) = index.get(used.name.as_str()) else {
            continue;
        };
        match state[next] {
            Visit::New => visit(next, templates, index, state, stack, errors),
            Visit::Open => {
                let from = stack.iter().position(|&i| i == next).unwrap_or(0);
                let mut names: Vec<&str> = stack[from..]
                    .iter()
                    .map(|&i| templates[i].name.as_str())
                    .collect();
                names.push(templates[next].name.as_str());
                errors.push(TemplateError {
                    path: templates[at].path.clone(),
                    line: used.line,
                    message: format!("partials include each other: {}", names.join(" → ")),
                });
            }
            Visit::Done => {}
        }
    }
    stack.pop();
    state[at] = Visit::Done;
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use handlebars::template::Template;

    use super::*;
    use crate::render::check::inspect;

    fn loaded(files: &[(&str, &str)]) -> Vec<Loaded> {
        files
            .iter()
            .map(|(name, source)| {
                let template = Template::compile(source).expect("test template compiles");
                Loaded {
                    name: (*name).to_owned(),
                    path: PathBuf::from("templates").join(name),
                    partials: inspect(&template).partials,
                    raw_outputs: Vec::new(),
                    template,
                }
            })
            .collect()
    }

    fn messages(files: &[(&str, &str)]) -> Vec<String> {
        check(&loaded(files))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn known_partials_without_cycles_pass() {
        let files = [
            ("w/a", "{{> w/b}}{{> w/c}}"),
            ("w/b", "{{> w/c}}"),
            ("w/c", "leaf"),
        ];
        assert_eq!(messages(&files), Vec::<String>::new());
    }

    #[test]
    fn unknown_partial_is_reported_where_it_is_included() {
        let found = messages(&[("w/a", "x\n{{> w/missing}}")]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("templates/w/a:2: unknown partial \"w/missing\""),
            "{found:?}"
        );
    }

    #[test]
    fn cycles_are_reported_once_with_their_path() {
        assert_eq!(
            messages(&[("w/self", "{{#if x}}{{> w/self}}{{/if}}")]),
            ["templates/w/self:1: partials include each other: w/self → w/self"]
        );
        assert_eq!(
            messages(&[
                ("w/a", "{{> w/b}}"),
                ("w/b", "\n{{> w/c}}"),
                ("w/c", "\n\n{{> w/a}}"),
                ("w/d", "{{> w/a}}"),
            ]),
            ["templates/w/c:3: partials include each other: w/a → w/b → w/c → w/a"]
        );
    }
}
