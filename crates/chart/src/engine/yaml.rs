//! `toYaml` as Helm prints it. `toYaml` is sigs.k8s.io/yaml: JSON (keys sorted,
//! integral numbers as integers) re-emitted by go-yaml v2 (block style, sequences not indented
//! under their key, 2-space maps, literal `|` for multi-line strings, quotes only when needed,
//! plain scalars folded at column 80).

use serde_json::Value;

use super::convert::json_float;
use crate::quote;

const BEST_WIDTH: usize = 80;

/// Helm's `toYaml`, without the trailing newline (Helm trims it).
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    emit(value, 0, &mut out, Ctx::Root);
    out.trim_end_matches('\n').to_string()
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Root,
    /// After `key:` (column given).
    MapValue(usize),
    /// After `- ` (column given).
    SeqItem(usize),
}

fn emit(value: &Value, indent: usize, out: &mut String, ctx: Ctx) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut first = true;
            if matches!(ctx, Ctx::MapValue(_)) {
                out.push('\n');
            }
            for (key, val) in map {
                let inline_first = first && matches!(ctx, Ctx::SeqItem(_));
                if !inline_first {
                    out.push_str(&" ".repeat(indent));
                }
                first = false;
                let k = scalar_string(key);
                out.push_str(&k);
                out.push(':');
                let col = indent + k.chars().count() + 1;
                match val {
                    Value::Object(m) if !m.is_empty() => {
                        emit(val, indent + 2, out, Ctx::MapValue(col))
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push('\n');
                        emit(val, indent, out, Ctx::MapValue(col));
                    }
                    _ => {
                        out.push(' ');
                        emit(val, indent + 2, out, Ctx::MapValue(col + 1));
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let mut first = true;
            for item in items {
                let inline_first = first && matches!(ctx, Ctx::SeqItem(_));
                if !inline_first {
                    out.push_str(&" ".repeat(indent));
                }
                first = false;
                out.push_str("- ");
                emit(item, indent + 2, out, Ctx::SeqItem(indent + 2));
            }
        }
        scalar => {
            let col = match ctx {
                Ctx::Root => 0,
                Ctx::MapValue(c) | Ctx::SeqItem(c) => c,
            };
            // A root scalar's block lines are indented like a mapping's children.
            let indent = if ctx == Ctx::Root { 2 } else { indent };
            out.push_str(&scalar_text(scalar, indent, col));
            out.push('\n');
        }
    }
}

fn scalar_text(value: &Value, indent: usize, col: usize) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            // go-yaml re-reads the JSON number text, so integral floats print as integers.
            Some(f) if n.is_f64() => json_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => {
            if s.contains('\n') && literal_allowed(s) {
                literal(s, indent)
            } else {
                let folded = scalar_string(s);
                fold_plain(&folded, s, indent, col)
            }
        }
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

/// A string as go-yaml v2 writes it: plain when it reads back as the same string, single-quoted
/// when plain is not allowed, double-quoted when it would resolve to another type or has
/// characters that need escapes.
fn scalar_string(s: &str) -> String {
    if resolves_to_non_string(s) {
        return double_quoted(s);
    }
    let a = analyze(s);
    if a.special {
        double_quoted(s)
    } else if a.plain_allowed {
        s.to_string()
    } else if a.single_allowed {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        double_quoted(s)
    }
}

fn fold_plain(rendered: &str, original: &str, indent: usize, col: usize) -> String {
    // Only plain scalars are folded here; quoted ones are left on one line.
    if rendered != original || col + rendered.chars().count() <= BEST_WIDTH {
        return rendered.to_string();
    }
    let mut out = String::new();
    let mut column = col;
    let chars: Vec<char> = rendered.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' {
            let prev_space = i > 0 && chars[i - 1] == ' ';
            let next_space = chars.get(i + 1) == Some(&' ');
            if !prev_space && !next_space && column > BEST_WIDTH && i + 1 < chars.len() {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                column = indent;
                i += 1;
                continue;
            }
        }
        out.push(c);
        column += 1;
        i += 1;
    }
    out
}

struct Analysis {
    plain_allowed: bool,
    single_allowed: bool,
    special: bool,
}

fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && c != '\u{feff}'
}

fn analyze(s: &str) -> Analysis {
    let chars: Vec<char> = s.chars().collect();
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let mut special = false;
    let mut space_break = false;
    let mut break_space = false;
    let leading_space = chars.first().is_some_and(|c| *c == ' ' || *c == '\n');
    let trailing_space = chars.last().is_some_and(|c| *c == ' ' || *c == '\n');
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws = chars
            .get(i + 1)
            .is_none_or(|n| matches!(n, ' ' | '\n' | '\t'));
        let preceded_by_ws = i == 0 || matches!(chars[i - 1], ' ' | '\n' | '\t');
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_ws => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_indicators = true,
                '#' if preceded_by_ws => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' && chars.get(i + 1) == Some(&'\n') {
            space_break = true;
        }
        if c == '\n' && chars.get(i + 1) == Some(&' ') {
            break_space = true;
        }
    }
    let plain_allowed = !s.is_empty()
        && !block_indicators
        && !leading_space
        && !trailing_space
        && !special
        && !space_break
        && !break_space
        && !s.contains('\n');
    Analysis {
        plain_allowed,
        single_allowed: !special && !space_break && !break_space,
        special,
    }
}

/// YAML 1.1 resolution as go-yaml v2 does it: would this plain text read back as a non-string?
fn resolves_to_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
        ".NaN", ".NAN", "<<",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    let plain = s.replace('_', "");
    let body = plain.strip_prefix(['+', '-']).unwrap_or(&plain);
    if body.is_empty() {
        return false;
    }
    if body.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    if let Some(hex) = body.strip_prefix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    if let Some(bin) = body.strip_prefix("0b") {
        return !bin.is_empty() && bin.chars().all(|c| c == '0' || c == '1');
    }
    // Floats: digits with one dot and/or an exponent; also base-60 floats like 1:20.
    let float_like = {
        let (mant, exp) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let mant_ok = mant.chars().filter(|c| *c == '.').count() <= 1
            && mant.chars().any(|c| c.is_ascii_digit())
            && mant.chars().all(|c| c.is_ascii_digit() || c == '.');
        let exp_ok = exp.is_none_or(|e| {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
        });
        mant_ok && exp_ok && (mant.contains('.') || exp.is_some())
    };
    let base60 = body.contains(':')
        && body
            .split(':')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit() || c == '.'))
        && body
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() && c != '0');
    float_like || base60
}

fn double_quoted(s: &str) -> String {
    quote::double_quote(s, |c, out| {
        if let Some(escape) = quote::c_escape(c) {
            return out.push_str(escape);
        }
        match c {
            '\0' => out.push_str("\\0"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if !is_printable(c) => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02X}"));
                } else if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04X}"));
                } else {
                    out.push_str(&format!("\\U{n:08X}"));
                }
            }
            c => out.push(c),
        }
    })
}

fn literal_allowed(s: &str) -> bool {
    let a = analyze(s);
    let trailing_space = s.ends_with(' ');
    !a.special && !s.contains(" \n") && !trailing_space
}

/// A literal block scalar (`|`, `|-`, `|+`) with its lines indented by `indent`.
fn literal(s: &str, indent: usize) -> String {
    let mut header = String::from("|");
    if s.starts_with(' ') || s.starts_with('\n') {
        header.push('2');
    }
    if !s.ends_with('\n') {
        header.push('-');
    } else if s.ends_with("\n\n") || s == "\n" {
        header.push('+');
    }
    let mut out = header;
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&" ".repeat(indent));
            out.push_str(line);
        }
    }
    if s.ends_with("\n\n") {
        // Keep chomping: the extra trailing newlines are part of the value.
        let extra = s.len() - s.trim_end_matches('\n').len() - 1;
        for _ in 0..extra.saturating_sub(1) {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_lists_and_scalars() {
        let v = json!({"b": [1.0, "x"], "a": {"c": true, "d": ""}, "e": {}, "f": [], "g": "10"});
        assert_eq!(
            to_yaml(&v),
            "a:\n  c: true\n  d: \"\"\nb:\n- 1\n- x\ne: {}\nf: []\ng: \"10\""
        );
    }

    #[test]
    fn list_of_maps_and_quoting() {
        let v = json!([{"name": "a", "value": "*"}, {"k": "a: b"}]);
        assert_eq!(to_yaml(&v), "- name: a\n  value: '*'\n- k: 'a: b'");
    }

    #[test]
    fn multiline_is_literal() {
        assert_eq!(to_yaml(&json!("a\nb\n")), "|\n  a\n  b");
        assert_eq!(to_yaml(&json!({"k": "a\n\nb"})), "k: |-\n  a\n\n  b");
    }
}
