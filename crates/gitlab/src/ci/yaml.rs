//! YAML loading with libyaml semantics (tabs before comments are fine) and a key → line index.

use std::collections::HashMap;

use serde_norway::Value;

use super::LintError;

/// Parses `text` as YAML; a syntax error becomes a lint error worded like GitLab's
/// (`(<unknown>): <problem> at line L column C`).
pub fn parse(text: &str) -> Result<Value, LintError> {
    serde_norway::from_str::<Value>(text).map_err(|err| {
        let line = err.location().map(|l| l.line());
        LintError {
            line,
            message: format!("(<unknown>): {err}"),
        }
    })
}

/// Maps slash-joined key paths of block mappings (`job/stage`) to 1-based line numbers.
///
/// A light scan of the text, enough to point lint messages at the right line; flow
/// mappings and keys inside sequences of mappings are indexed by their own key only.
#[derive(Debug, Default, Clone)]
pub struct LineIndex {
    lines: HashMap<String, usize>,
}

impl LineIndex {
    /// Indexes every `key:` line of `text`.
    pub fn build(text: &str) -> Self {
        let mut lines = HashMap::new();
        let mut stack: Vec<(usize, String)> = Vec::new();
        for (number, raw) in text.lines().enumerate() {
            let trimmed = raw.trim_start_matches([' ', '\t']);
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = raw.len() - trimmed.len();
            let Some(key) = key_of(trimmed) else {
                continue;
            };
            while stack.last().is_some_and(|(i, _)| *i >= indent) {
                stack.pop();
            }
            stack.push((indent, key));
            let path = stack
                .iter()
                .map(|(_, k)| k.as_str())
                .collect::<Vec<_>>()
                .join("/");
            lines.entry(path).or_insert(number + 1);
        }
        Self { lines }
    }

    /// Line of the key path (`["docker-build", "stage"]`), falling back to the parent's line.
    pub fn find(&self, path: &[&str]) -> Option<usize> {
        (1..=path.len())
            .rev()
            .find_map(|n| self.lines.get(&path[..n].join("/")).copied())
    }
}

fn key_of(line: &str) -> Option<String> {
    if line.starts_with('-') {
        return None;
    }
    let (key, rest) = if let Some(stripped) = line.strip_prefix('"') {
        let end = stripped.find('"')?;
        (&stripped[..end], &stripped[end + 1..])
    } else if let Some(stripped) = line.strip_prefix('\'') {
        let end = stripped.find('\'')?;
        (&stripped[..end], &stripped[end + 1..])
    } else {
        let colon = line.find(':')?;
        (&line[..colon], &line[colon..])
    };
    let rest = rest.trim_start();
    let after = rest.strip_prefix(':')?;
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    Some(key.trim().to_string())
}

/// Renders a YAML scalar key as GitLab would symbolize it.
pub fn key_string(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => format!("{other:?}"),
    }
}

/// A scalar rendered as a string (numbers and booleans the way YAML wrote them).
pub fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_before_comments_are_accepted() {
        let v = parse("stages:\n  - package\t\t# comment\n  - deploy\n").unwrap();
        assert_eq!(v["stages"][0].as_str(), Some("package"));
    }

    #[test]
    fn index_finds_nested_keys() {
        let idx = LineIndex::build("a:\n  b: 1\nc:\n  stage: x\n");
        assert_eq!(idx.find(&["c", "stage"]), Some(4));
        assert_eq!(idx.find(&["c", "nope"]), Some(3));
    }
}
