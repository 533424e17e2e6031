//! Double-quoted string literals, as the three syntaxes this crate writes them (YAML scalars,
//! Go's `%q`, TOML basic strings): they share the C escapes and differ in what else they escape.

/// Wraps `text` in `"`, writing `"`, `\`, newline and tab as `\"`, `\\`, `\n`, `\t` and every
/// other character through `other`, which pushes it onto the output escaped or as it is.
pub(crate) fn double_quote(text: &str, mut other: impl FnMut(char, &mut String)) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => other(c, &mut out),
        }
    }
    out.push('"');
    out
}

/// The further C escapes YAML and Go both write: `\r`, `\a`, `\b`, `\v`, `\f`.
pub(crate) fn c_escape(c: char) -> Option<&'static str> {
    Some(match c {
        '\r' => "\\r",
        '\u{7}' => "\\a",
        '\u{8}' => "\\b",
        '\u{b}' => "\\v",
        '\u{c}' => "\\f",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_escapes_and_the_rest_through_other() {
        let quoted = double_quote("a\"b\\c\nd\te\r", |c, out| match c_escape(c) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        });
        assert_eq!(quoted, r#""a\"b\\c\nd\te\r""#);
    }
}
