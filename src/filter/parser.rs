//! Parser: builds an [`Expr`] from tokens by recursive descent, with a cap on nesting.

use std::sync::{Arc, LazyLock, Mutex};

use regex::Regex;
use serde_json::Value;

use super::ast::{Expr, Operand};
use super::lexer::{Token, TokenKind, tokenize};
use super::shared::{Shared, share};
use super::{FilterError, MAX_DEPTH};

/// What the parser expects where an expression starts.
const CONDITION: &str = "a condition: a path, a comparison, '(' or 'not('";
/// What the parser expects on the right of a comparison operator.
const VALUE: &str = "a value: a path, a quoted string, a number, true, false or null";

/// Parses a whole filter.
pub(super) fn parse(source: &str) -> Result<Expr, FilterError> {
    let tokens = tokenize(source)?;
    if tokens.is_empty() {
        return Err(FilterError::new(1, "empty filter"));
    }
    let mut parser = Parser {
        source,
        tokens,
        pos: 0,
        depth: 0,
        filter_depth: 0,
        end_column: source.chars().count() + 1,
    };
    let expr = parser.or_expr()?;
    match parser.peek() {
        None => Ok(expr),
        Some(token) if token.kind == TokenKind::RParen => Err(FilterError::new(
            token.column,
            "unexpected ')' with no matching '('",
        )),
        Some(token) => Err(FilterError::new(
            token.column,
            format!(
                "unexpected {} after the end of the expression",
                parser.describe(token)
            ),
        )),
    }
}

pub(super) struct Parser<'s> {
    source: &'s str,
    tokens: Vec<Token>,
    pos: usize,
    /// Current nesting of parentheses, `not( )` and filter selectors.
    depth: usize,
    /// How many filter selectors enclose the current position (`@` is valid when > 0).
    pub(super) filter_depth: usize,
    end_column: usize,
}

impl Parser<'_> {
    pub(super) fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    pub(super) fn peek_kind(&self) -> Option<&TokenKind> {
        self.peek().map(|token| &token.kind)
    }

    pub(super) fn advance(&mut self) {
        self.pos += 1;
    }

    /// Consumes the next token if it is `kind`.
    pub(super) fn eat(&mut self, kind: &TokenKind) -> bool {
        let found = self.peek_kind() == Some(kind);
        if found {
            self.advance();
        }
        found
    }

    /// The column of the next token, or one past the end of the filter.
    pub(super) fn column(&self) -> usize {
        self.peek().map_or(self.end_column, |token| token.column)
    }

    /// How a token reads in a message: `'foo'`, `string 'a b'`, `number 12`.
    pub(super) fn describe(&self, token: &Token) -> String {
        let text: String = self.source[token.start..token.end]
            .chars()
            .take(40)
            .collect();
        match token.kind {
            TokenKind::Str(_) => format!("string {text}"),
            TokenKind::Number(_) => format!("number {text}"),
            _ => format!("'{text}'"),
        }
    }

    /// "unexpected X, expected `what`" about the next token or the end of the filter. At the
    /// end, `what` is cut before its first ':' ("a value: a path, ..." becomes "a value").
    pub(super) fn expected(&self, what: &str) -> FilterError {
        match self.peek() {
            None => {
                let short = what.split(':').next().unwrap_or(what);
                let message = format!("unexpected end of filter, expected {short}");
                FilterError::new(self.end_column, message)
            }
            Some(token) => {
                let hint = match &token.kind {
                    TokenKind::Word(_) => " (strings must be quoted)",
                    _ => "",
                };
                let found = self.describe(token);
                FilterError::new(
                    token.column,
                    format!("unexpected {found}, expected {what}{hint}"),
                )
            }
        }
    }

    /// Runs `inner` one nesting level deeper; `column` is where the new level opens.
    pub(super) fn nested<T>(
        &mut self,
        column: usize,
        inner: impl FnOnce(&mut Self) -> Result<T, FilterError>,
    ) -> Result<T, FilterError> {
        if self.depth >= MAX_DEPTH {
            let message = format!(
                "nesting too deep: at most {MAX_DEPTH} levels of parentheses, 'not( )' and '[?( )]'"
            );
            return Err(FilterError::new(column, message));
        }
        self.depth += 1;
        let result = inner(self);
        self.depth -= 1;
        result
    }

    /// `and_expr ('||' and_expr)*`
    pub(super) fn or_expr(&mut self) -> Result<Expr, FilterError> {
        let mut parts = vec![self.and_expr()?];
        while self.eat(&TokenKind::Or) {
            parts.push(self.and_expr()?);
        }
        Ok(flatten(parts, Expr::Or))
    }

    /// `unary ('&&' unary)*`
    fn and_expr(&mut self) -> Result<Expr, FilterError> {
        let mut parts = vec![self.unary()?];
        while self.eat(&TokenKind::And) {
            parts.push(self.unary()?);
        }
        Ok(flatten(parts, Expr::And))
    }

    /// `'(' or_expr ')' | 'not' '(' or_expr ')' | condition`
    fn unary(&mut self) -> Result<Expr, FilterError> {
        match self.peek_kind() {
            Some(TokenKind::LParen) => self.parenthesized(),
            Some(TokenKind::Word(word)) if word == "not" => {
                self.advance();
                if self.peek_kind() != Some(&TokenKind::LParen) {
                    return Err(self.expected("'(' after 'not'"));
                }
                Ok(Expr::Not(Box::new(self.parenthesized()?)))
            }
            _ => self.condition(),
        }
    }

    /// `'(' or_expr ')'`, the next token being the `(`.
    fn parenthesized(&mut self) -> Result<Expr, FilterError> {
        let open = self.column();
        self.advance();
        let expr = self.nested(open, Self::or_expr)?;
        if !self.eat(&TokenKind::RParen) {
            let message = format!("expected ')' to close '(' at column {open}");
            return Err(FilterError::new(self.column(), message));
        }
        Ok(expr)
    }

    /// `operand (('==' | '!=' | '<' | '<=' | '>' | '>=') operand | '=~' string)?`
    fn condition(&mut self) -> Result<Expr, FilterError> {
        let left_column = self.column();
        let left = self.operand(CONDITION)?;
        match self.peek_kind() {
            Some(&TokenKind::Compare(op)) => {
                self.advance();
                let right = self.operand(VALUE)?;
                Ok(Expr::Compare { left, op, right })
            }
            Some(TokenKind::Match) => {
                let Operand::Path(path) = left else {
                    return Err(FilterError::new(
                        left_column,
                        "the left side of '=~' must be a path",
                    ));
                };
                self.advance();
                let regex = self.regex()?;
                Ok(Expr::Regex { path, regex })
            }
            _ => match left {
                Operand::Path(path) => Ok(Expr::Exists(path)),
                Operand::Literal(Value::Bool(value)) => Ok(Expr::Literal(value)),
                Operand::Literal(_) => Err(FilterError::new(
                    left_column,
                    "a literal alone is not a condition; compare it with ==, !=, <, <=, > or >=",
                )),
            },
        }
    }

    /// The string literal right of `=~`, compiled.
    fn regex(&mut self) -> Result<Arc<Regex>, FilterError> {
        let column = self.column();
        let Some(TokenKind::Str(pattern)) = self.peek_kind() else {
            return Err(self.expected("a quoted regular expression after '=~'"));
        };
        let regex = compiled(pattern).map_err(|error| {
            FilterError::new(column, format!("invalid regex: {}", regex_reason(&error)))
        })?;
        self.advance();
        Ok(regex)
    }

    /// A path or a literal.
    fn operand(&mut self, what: &str) -> Result<Operand, FilterError> {
        let Some(token) = self.peek() else {
            return Err(self.expected(what));
        };
        let literal = match &token.kind {
            TokenKind::Dollar | TokenKind::At => return self.path().map(Operand::Path),
            TokenKind::Str(text) => Value::String(text.clone()),
            TokenKind::Number(number) => Value::Number(number.clone()),
            TokenKind::Word(word) if word == "true" => Value::Bool(true),
            TokenKind::Word(word) if word == "false" => Value::Bool(false),
            TokenKind::Word(word) if word == "null" => Value::Null,
            _ => return Err(self.expected(what)),
        };
        self.advance();
        Ok(Operand::Literal(literal))
    }
}

/// One part stays itself; several become `combine(parts)`.
fn flatten(mut parts: Vec<Expr>, combine: fn(Vec<Expr>) -> Expr) -> Expr {
    if parts.len() > 1 {
        parts.shrink_to_fit();
        return combine(parts);
    }
    parts.pop().expect("a sequence always has its first part")
}

/// The `regex` crate's one-line reason, without its multi-line caret diagram.
fn regex_reason(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .find_map(|line| line.strip_prefix("error: "))
        .map_or_else(|| text.replace('\n', " "), str::to_owned)
}

/// Patterns compiled in this process that some filter still uses. A compiled regex with its
/// match caches takes kilobytes: rules with the same pattern share one (a `Regex` is safe to use
/// from many threads at once).
static COMPILED: Shared<Regex> = LazyLock::new(Mutex::default);

/// `pattern` compiled, or its compilation that a filter still holds.
fn compiled(pattern: &str) -> Result<Arc<Regex>, regex::Error> {
    share(&COMPILED, pattern, || Regex::new(pattern).map(Arc::new))
}
