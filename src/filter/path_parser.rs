//! Path parser: JSONPath syntax (`$.a`, `..b`, `[0]`, `['x','y']`, `[1:3]`, `[?(...)]`) to a [`Path`].

use super::FilterError;
use std::convert::Infallible;
use std::sync::{LazyLock, Mutex};

use super::ast::{Path, Root, Segment, Selector};
use super::lexer::TokenKind;
use super::parser::Parser;
use super::shared::{Shared, share};

/// What may follow `.` or `..`.
const MEMBER: &str = "a member name or '*'";
/// What may stand between `[` and `]` or after a `,` there.
const BRACKET_ITEM: &str = "a quoted name, an index, a slice, '*' or '?(' inside '[ ]'";

impl Parser<'_> {
    /// `('$' | '@') segment*`, the next token being the root.
    pub(super) fn path(&mut self) -> Result<Path, FilterError> {
        let column = self.column();
        let root = match self.peek_kind() {
            Some(TokenKind::At) if self.filter_depth == 0 => {
                let message = "'@' is the current node and is only valid inside a filter '[?( )]'";
                return Err(FilterError::new(column, message));
            }
            Some(TokenKind::At) => Root::Current,
            _ => Root::Document,
        };
        self.advance();
        let mut segments = Vec::new();
        loop {
            let segment = match self.peek_kind() {
                Some(TokenKind::Dot) => {
                    self.advance();
                    Segment {
                        descendant: false,
                        selectors: vec![self.member(".")?],
                    }
                }
                Some(TokenKind::DotDot) => {
                    self.advance();
                    let selectors = if self.peek_kind() == Some(&TokenKind::LBracket) {
                        self.bracket()?
                    } else {
                        vec![self.member("..")?]
                    };
                    Segment {
                        descendant: true,
                        selectors,
                    }
                }
                Some(TokenKind::LBracket) => Segment {
                    descendant: false,
                    selectors: self.bracket()?,
                },
                _ => {
                    return Ok(shared(Path {
                        root,
                        segments: segments.into(),
                    }));
                }
            };
            segments.push(segment);
        }
    }

    /// The name or `*` after `.` or `..` (written `after`).
    fn member(&mut self, after: &str) -> Result<Selector, FilterError> {
        let selector = match self.peek_kind() {
            Some(TokenKind::Word(name)) => Selector::Name(name.clone()),
            Some(TokenKind::Star) => Selector::Wildcard,
            _ => return Err(self.expected(&format!("{MEMBER} after '{after}'"))),
        };
        self.advance();
        Ok(selector)
    }

    /// `'[' item (',' item)* ']'`, the next token being the `[`.
    fn bracket(&mut self) -> Result<Vec<Selector>, FilterError> {
        let open = self.column();
        self.advance();
        let mut selectors = Vec::new();
        loop {
            selectors.push(self.bracket_item()?);
            if self.eat(&TokenKind::RBracket) {
                return Ok(selectors);
            }
            if !self.eat(&TokenKind::Comma) {
                let message = format!("expected ',' or ']' to close '[' at column {open}");
                return Err(FilterError::new(self.column(), message));
            }
        }
    }

    /// One selector inside brackets.
    fn bracket_item(&mut self) -> Result<Selector, FilterError> {
        match self.peek_kind() {
            Some(TokenKind::Str(name)) => {
                let name = name.clone();
                self.advance();
                Ok(Selector::Name(name))
            }
            Some(TokenKind::Star) => {
                self.advance();
                Ok(Selector::Wildcard)
            }
            Some(TokenKind::Question) => {
                let column = self.column();
                self.advance();
                self.filter_depth += 1;
                let expr = self.nested(column, Self::or_expr);
                self.filter_depth -= 1;
                Ok(Selector::Filter(Box::new(expr?)))
            }
            Some(TokenKind::Number(_) | TokenKind::Colon) => self.index_or_slice(),
            _ => Err(self.expected(BRACKET_ITEM)),
        }
    }

    /// `int` or `int? ':' int? (':' int?)?`, the next token being a number or `:`.
    fn index_or_slice(&mut self) -> Result<Selector, FilterError> {
        let start = self.integer()?;
        if !self.eat(&TokenKind::Colon) {
            return start
                .map(Selector::Index)
                .ok_or_else(|| self.expected(BRACKET_ITEM));
        }
        let end = self.integer()?;
        let mut step = None;
        if self.eat(&TokenKind::Colon) {
            let column = self.column();
            step = self.integer()?;
            if step == Some(0) {
                return Err(FilterError::new(column, "slice step cannot be zero"));
            }
        }
        Ok(Selector::Slice { start, end, step })
    }

    /// An integer if the next token is a number; an error if that number is not an integer.
    fn integer(&mut self) -> Result<Option<i64>, FilterError> {
        let Some(token) = self.peek() else {
            return Ok(None);
        };
        let TokenKind::Number(number) = &token.kind else {
            return Ok(None);
        };
        let Some(value) = number.as_i64() else {
            let message = format!("expected an integer index, found {}", self.describe(token));
            return Err(FilterError::new(token.column, message));
        };
        self.advance();
        Ok(Some(value))
    }
}

/// Paths parsed in this process that some filter still holds, by their text.
static PATHS: Shared<[Segment]> = LazyLock::new(Mutex::default);

/// `path`, or an equal one parsed before and still held: the same segments. Paths with a filter
/// selector (`[?(...)]`) stay as parsed.
fn shared(path: Path) -> Path {
    let simple = path.segments.iter().all(|segment| {
        segment
            .selectors
            .iter()
            .all(|selector| !matches!(selector, Selector::Filter(_)))
    });
    if !simple {
        return path;
    }
    let segments = share(&PATHS, &path.to_string(), || {
        Ok::<_, Infallible>(path.segments.clone())
    })
    .unwrap_or_else(|never| match never {});
    Path {
        root: path.root,
        segments,
    }
}
