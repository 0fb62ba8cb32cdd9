//! Lexer: turns filter text into tokens, each carrying its 1-based character column.

use serde_json::Number;

use super::FilterError;
use super::ast::CompareOp;

/// What a token is; strings are unescaped, numbers already parsed.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum TokenKind {
    Dollar,
    At,
    Dot,
    DotDot,
    Star,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    Colon,
    Question,
    Compare(CompareOp),
    Match,
    And,
    Or,
    Word(String),
    Str(String),
    Number(Number),
}

/// A token and where it is: `column` in characters, `start..end` in bytes of the source.
#[derive(Debug, Clone)]
pub(super) struct Token {
    pub kind: TokenKind,
    pub column: usize,
    pub start: usize,
    pub end: usize,
}

/// Splits `source` into tokens, skipping whitespace.
pub(super) fn tokenize(source: &str) -> Result<Vec<Token>, FilterError> {
    let mut lexer = Lexer {
        source,
        chars: source.char_indices().collect(),
        pos: 0,
    };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token()? {
        tokens.push(token);
    }
    Ok(tokens)
}

struct Lexer<'s> {
    source: &'s str,
    chars: Vec<(usize, char)>,
    /// Index into `chars` of the next character; its column is `pos + 1`.
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).map(|&(_, c)| c)
    }

    fn byte(&self, pos: usize) -> usize {
        self.chars
            .get(pos)
            .map_or(self.source.len(), |&(byte, _)| byte)
    }

    fn next_token(&mut self) -> Result<Option<Token>, FilterError> {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(c) = self.peek(0) else {
            return Ok(None);
        };
        let column = start + 1;
        let next = self.peek(1);
        let (kind, width) = match (c, next) {
            ('$', _) => (TokenKind::Dollar, 1),
            ('@', _) => (TokenKind::At, 1),
            ('.', Some('.')) => (TokenKind::DotDot, 2),
            ('.', _) => (TokenKind::Dot, 1),
            ('*', _) => (TokenKind::Star, 1),
            ('[', _) => (TokenKind::LBracket, 1),
            (']', _) => (TokenKind::RBracket, 1),
            ('(', _) => (TokenKind::LParen, 1),
            (')', _) => (TokenKind::RParen, 1),
            (',', _) => (TokenKind::Comma, 1),
            (':', _) => (TokenKind::Colon, 1),
            ('?', _) => (TokenKind::Question, 1),
            ('=', Some('=')) => (TokenKind::Compare(CompareOp::Eq), 2),
            ('=', Some('~')) => (TokenKind::Match, 2),
            ('!', Some('=')) => (TokenKind::Compare(CompareOp::Ne), 2),
            ('<', Some('=')) => (TokenKind::Compare(CompareOp::Le), 2),
            ('<', _) => (TokenKind::Compare(CompareOp::Lt), 1),
            ('>', Some('=')) => (TokenKind::Compare(CompareOp::Ge), 2),
            ('>', _) => (TokenKind::Compare(CompareOp::Gt), 1),
            ('&', Some('&')) => (TokenKind::And, 2),
            ('|', Some('|')) => (TokenKind::Or, 2),
            ('\'' | '"', _) => (self.string(c)?, 0),
            ('-' | '0'..='9', _) => (self.number()?, 0),
            (c, _) if c.is_alphabetic() || c == '_' => (self.word(), 0),
            _ => return Err(unexpected_character(column, c)),
        };
        self.pos += width;
        Ok(Some(Token {
            kind,
            column,
            start: self.byte(start),
            end: self.byte(self.pos),
        }))
    }

    fn word(&mut self) -> TokenKind {
        let start = self.byte(self.pos);
        while self
            .peek(0)
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            self.pos += 1;
        }
        TokenKind::Word(self.source[start..self.byte(self.pos)].to_owned())
    }

    /// A JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Result<TokenKind, FilterError> {
        let start = self.pos;
        if self.peek(0) == Some('-') {
            self.pos += 1;
        }
        let digits = self.digits();
        if digits == 0 {
            return Err(FilterError::new(start + 1, "expected a digit after '-'"));
        }
        let leading_zero = self.chars[self.pos - digits].1 == '0' && digits > 1;
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            self.digits();
        }
        let exponent_digit = match self.peek(1) {
            Some('+' | '-') => 2,
            _ => 1,
        };
        if matches!(self.peek(0), Some('e' | 'E'))
            && self
                .peek(exponent_digit)
                .is_some_and(|c| c.is_ascii_digit())
        {
            self.pos += exponent_digit;
            self.digits();
        }
        let text = &self.source[self.byte(start)..self.byte(self.pos)];
        if leading_zero {
            let message = format!("invalid number {text}: leading zeros are not allowed");
            return Err(FilterError::new(start + 1, message));
        }
        text.parse::<Number>()
            .map(TokenKind::Number)
            .map_err(|_| FilterError::new(start + 1, format!("number {text} is out of range")))
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A quoted string; an error points at the opening quote or at the bad escape.
    fn string(&mut self, quote: char) -> Result<TokenKind, FilterError> {
        let open_column = self.pos + 1;
        let unterminated = || FilterError::new(open_column, "unterminated string");
        self.pos += 1;
        let mut text = String::new();
        loop {
            let c = self.peek(0).ok_or_else(unterminated)?;
            self.pos += 1;
            if c == quote {
                return Ok(TokenKind::Str(text));
            }
            if c != '\\' {
                text.push(c);
                continue;
            }
            let escape_column = self.pos;
            let escaped = self.peek(0).ok_or_else(unterminated)?;
            self.pos += 1;
            let unescaped = match escaped {
                '\\' | '\'' | '"' | '/' => escaped,
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                'b' => '\u{8}',
                'f' => '\u{c}',
                'u' => self.unicode_escape(escape_column)?,
                // Anything else is kept as written, so regexes read naturally: '\d+', 'a\.b'.
                other => {
                    text.push('\\');
                    other
                }
            };
            text.push(unescaped);
        }
    }

    /// The character of `\uXXXX`, or of a `\uD83D\uDE00` surrogate pair.
    fn unicode_escape(&mut self, column: usize) -> Result<char, FilterError> {
        let high = self.hex4(column)?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if self.peek(0) != Some('\\') || self.peek(1) != Some('u') {
                return Err(FilterError::new(
                    column,
                    "unpaired surrogate in '\\u' escape",
                ));
            }
            self.pos += 2;
            let low = self.hex4(column)?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(FilterError::new(
                    column,
                    "unpaired surrogate in '\\u' escape",
                ));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code)
            .ok_or_else(|| FilterError::new(column, "unpaired surrogate in '\\u' escape"))
    }

    fn hex4(&mut self, column: usize) -> Result<u32, FilterError> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = self
                .peek(0)
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| FilterError::new(column, "expected 4 hex digits after '\\u'"))?;
            value = value * 16 + digit;
            self.pos += 1;
        }
        Ok(value)
    }
}

fn unexpected_character(column: usize, c: char) -> FilterError {
    let hint = match c {
        '=' => "; did you mean '==' or '=~'?",
        '!' => "; use '!=' or 'not( )'",
        '&' => "; did you mean '&&'?",
        '|' => "; did you mean '||'?",
        _ => "",
    };
    FilterError::new(column, format!("unexpected character '{c}'{hint}"))
}
