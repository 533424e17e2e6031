//! CI/CD variable expressions of `rules:if` and `only:variables` (`$A == "x" && $B =~ /re/`).

use std::collections::HashMap;

use regex::Regex;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Var(String),
    Str(String),
    Re(String, String),
    Null,
    Eq,
    Ne,
    Match,
    NoMatch,
    And,
    Or,
    Open,
    Close,
}

/// A parsed expression, ready to evaluate against variables.
#[derive(Debug, Clone)]
pub struct Expression {
    tokens: Vec<Token>,
}

/// An expression of a `rules:if` or `only:variables` entry, parsed once when the file is loaded
/// and kept with its text (which is how it is compared and shown).
#[derive(Debug, Clone)]
pub struct Condition {
    text: String,
    expression: Expression,
}

impl Condition {
    /// Parses `text`; a syntax error is the file's error, not a condition that never holds.
    pub fn parse(text: &str) -> Result<Self, SyntaxError> {
        Ok(Condition {
            text: text.to_owned(),
            expression: Expression::parse(text)?,
        })
    }

    /// Whether it holds with `vars`.
    pub fn holds(&self, vars: &HashMap<String, String>) -> bool {
        self.expression.evaluate(vars)
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl serde::Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// The expression could not be parsed (GitLab: "invalid expression syntax").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError;

impl Expression {
    /// Parses `text`; any lexing or grammar problem is a [`SyntaxError`].
    pub fn parse(text: &str) -> Result<Self, SyntaxError> {
        let tokens = lex(text)?;
        let expr = Self { tokens };
        let mut pos = 0;
        let vars = HashMap::new();
        expr.or(&mut pos, &vars)?;
        if pos != expr.tokens.len() {
            return Err(SyntaxError);
        }
        Ok(expr)
    }

    /// Evaluates to true/false with `vars` (undefined variables are null).
    pub fn evaluate(&self, vars: &HashMap<String, String>) -> bool {
        let mut pos = 0;
        matches!(self.or(&mut pos, vars), Ok(v) if truthy(&v))
    }

    fn or(&self, pos: &mut usize, vars: &HashMap<String, String>) -> Result<Val, SyntaxError> {
        let mut left = self.and(pos, vars)?;
        while self.tokens.get(*pos) == Some(&Token::Or) {
            *pos += 1;
            let right = self.and(pos, vars)?;
            left = Val::Bool(truthy(&left) || truthy(&right));
        }
        Ok(left)
    }

    fn and(&self, pos: &mut usize, vars: &HashMap<String, String>) -> Result<Val, SyntaxError> {
        let mut left = self.primary(pos, vars)?;
        while self.tokens.get(*pos) == Some(&Token::And) {
            *pos += 1;
            let right = self.primary(pos, vars)?;
            left = Val::Bool(truthy(&left) && truthy(&right));
        }
        Ok(left)
    }

    fn primary(&self, pos: &mut usize, vars: &HashMap<String, String>) -> Result<Val, SyntaxError> {
        if self.tokens.get(*pos) == Some(&Token::Open) {
            *pos += 1;
            let v = self.or(pos, vars)?;
            if self.tokens.get(*pos) != Some(&Token::Close) {
                return Err(SyntaxError);
            }
            *pos += 1;
            return Ok(v);
        }
        let left = self.operand(pos, vars)?;
        let op = match self.tokens.get(*pos) {
            Some(t @ (Token::Eq | Token::Ne | Token::Match | Token::NoMatch)) => t.clone(),
            _ => return Ok(left),
        };
        *pos += 1;
        let right = self.operand(pos, vars)?;
        Ok(Val::Bool(match op {
            Token::Eq => left.as_opt_str() == right.as_opt_str(),
            Token::Ne => left.as_opt_str() != right.as_opt_str(),
            Token::Match => regex_match(&left, &right),
            _ => !regex_match(&left, &right),
        }))
    }

    fn operand(&self, pos: &mut usize, vars: &HashMap<String, String>) -> Result<Val, SyntaxError> {
        let token = self.tokens.get(*pos).ok_or(SyntaxError)?;
        *pos += 1;
        Ok(match token {
            Token::Var(name) => match vars.get(name) {
                Some(v) => Val::Str(v.clone()),
                None => Val::Null,
            },
            Token::Str(s) => Val::Str(s.clone()),
            Token::Re(p, f) => Val::Re(p.clone(), f.clone()),
            Token::Null => Val::Null,
            _ => return Err(SyntaxError),
        })
    }
}

#[derive(Debug, Clone)]
enum Val {
    Str(String),
    Re(String, String),
    Null,
    Bool(bool),
}

impl Val {
    fn as_opt_str(&self) -> Option<String> {
        match self {
            Val::Str(s) => Some(s.clone()),
            Val::Re(p, _) => Some(format!("/{p}/")),
            Val::Bool(b) => Some(b.to_string()),
            Val::Null => None,
        }
    }
}

fn truthy(v: &Val) -> bool {
    match v {
        Val::Str(s) => !s.is_empty(),
        Val::Bool(b) => *b,
        Val::Re(..) => true,
        Val::Null => false,
    }
}

fn regex_match(left: &Val, right: &Val) -> bool {
    let Some(text) = left.as_opt_str() else {
        return false;
    };
    let (pattern, flags) = match right {
        Val::Re(p, f) => (p.clone(), f.clone()),
        Val::Str(s) => match parse_regex_literal(s) {
            Some(pf) => pf,
            None => return false,
        },
        _ => return false,
    };
    let prefix = if flags.is_empty() {
        String::new()
    } else {
        format!("(?{flags})")
    };
    Regex::new(&format!("{prefix}{pattern}")).is_ok_and(|re| re.is_match(&text))
}

/// Splits `/pattern/flags` into its parts.
pub fn parse_regex_literal(s: &str) -> Option<(String, String)> {
    let rest = s.strip_prefix('/')?;
    let end = rest.rfind('/')?;
    let flags: String = rest[end + 1..]
        .chars()
        .filter(|c| matches!(c, 'i' | 'm' | 's'))
        .collect();
    if rest[end + 1..].len() != flags.len() {
        return None;
    }
    Some((rest[..end].to_string(), flags))
}

/// The parenthesis or operator starting with `c` (then `next`), and how many characters it takes.
fn operator(c: char, next: Option<char>) -> Option<(Token, usize)> {
    Some(match (c, next) {
        ('(', _) => (Token::Open, 1),
        (')', _) => (Token::Close, 1),
        ('=', Some('=')) => (Token::Eq, 2),
        ('=', Some('~')) => (Token::Match, 2),
        ('!', Some('=')) => (Token::Ne, 2),
        ('!', Some('~')) => (Token::NoMatch, 2),
        ('&', Some('&')) => (Token::And, 2),
        ('|', Some('|')) => (Token::Or, 2),
        _ => return None,
    })
}

fn lex(text: &str) -> Result<Vec<Token>, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if let Some((token, width)) = operator(c, next) {
            out.push(token);
            i += width;
            continue;
        }
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '$' => {
                let braced = next == Some('{');
                let mut j = i + if braced { 2 } else { 1 };
                let start = j;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                if j == start {
                    return Err(SyntaxError);
                }
                let name: String = chars[start..j].iter().collect();
                if braced {
                    if chars.get(j) != Some(&'}') {
                        return Err(SyntaxError);
                    }
                    j += 1;
                }
                out.push(Token::Var(name));
                i = j;
            }
            '"' | '\'' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j] != c {
                    j += 1;
                }
                if j >= chars.len() {
                    return Err(SyntaxError);
                }
                out.push(Token::Str(chars[i + 1..j].iter().collect()));
                i = j + 1;
            }
            '/' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '/' {
                    if chars[j] == '\\' {
                        j += 1;
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    return Err(SyntaxError);
                }
                let pattern: String = chars[i + 1..j].iter().collect();
                let mut k = j + 1;
                while k < chars.len() && matches!(chars[k], 'i' | 'm' | 's') {
                    k += 1;
                }
                let flags: String = chars[j + 1..k].iter().collect();
                if Regex::new(&pattern).is_err() {
                    return Err(SyntaxError);
                }
                out.push(Token::Re(pattern, flags));
                i = k;
            }
            'n' if text[text.char_indices().nth(i).map_or(0, |(b, _)| b)..].starts_with("null") => {
                out.push(Token::Null);
                i += 4;
            }
            _ => return Err(SyntaxError),
        }
    }
    if out.is_empty() {
        return Err(SyntaxError);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn evaluates_gitlab_expressions() {
        let v = vars(&[("CI_COMMIT_BRANCH", "master"), ("EMPTY", "")]);
        let e = |s: &str| Expression::parse(s).unwrap().evaluate(&v);
        assert!(e("$CI_COMMIT_BRANCH == \"master\""));
        assert!(!e("$CI_COMMIT_BRANCH != 'master'"));
        assert!(e("$CI_COMMIT_BRANCH =~ /^mas/"));
        assert!(e("$CI_COMMIT_TAG == null"));
        assert!(!e("$EMPTY"));
        assert!(e(
            "$CI_COMMIT_BRANCH && ($X || $CI_COMMIT_BRANCH =~ /TER$/i)"
        ));
        assert!(Expression::parse("$A = 'x'").is_err());
        assert!(Expression::parse("$A == ").is_err());
    }
}
