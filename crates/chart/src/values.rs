//! Values as Helm sees them: YAML read through JSON (numbers become float64), user values
//! coalesced over the chart defaults, `--set` expressions merged on top.

use serde_json::{Map, Value};

use crate::error::{ChartError, Result};

/// Parses a values document the way Helm reads a values file: YAML with YAML 1.1 scalar
/// typing, then every number as a float64 (so `10` and `10.0` are the same value). An empty
/// document is an empty map.
pub fn parse_values_yaml(text: &str, file: &str) -> Result<Map<String, Value>> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let value: Value = serde_norway::from_str(text).map_err(|e| ChartError::Yaml {
        file: file.into(),
        message: e.to_string(),
        fix: "fix the YAML at the position shown (keys need `key: value`, lists `- item`)".into(),
    })?;
    // serde_norway decides validity and gives the messages; the typing is Helm's YAML 1.1.
    let value = crate::yaml11::load(text).unwrap_or(value);
    match floatify(value) {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        other => Err(ChartError::Yaml {
            file: file.into(),
            message: format!("the document is a {}, not a mapping", kind_of(&other)),
            fix: "a values file is a mapping of keys, e.g. `gitlabUrl: http://gitlab/`".into(),
        }),
    }
}

/// Turns every number into a float64 JSON number, as Helm's YAML-to-JSON reading does.
fn floatify(value: Value) -> Value {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Value::Array(items) => Value::Array(items.into_iter().map(floatify).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, floatify(v))).collect())
        }
        other => other,
    }
}

/// A short name of a value's type for messages (`map`, `list`, `string`, ...).
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

/// Helm's coalescing: user values win; maps are merged key by key; a user `null` deletes the
/// chart default; a default missing from the user values is copied in.
pub fn coalesce(defaults: &Map<String, Value>, user: &Map<String, Value>) -> Map<String, Value> {
    let mut out = user.clone();
    for (key, default) in defaults {
        match out.get_mut(key) {
            Some(Value::Null) => {
                out.remove(key);
            }
            Some(Value::Object(user_map)) => {
                if let Value::Object(default_map) = default {
                    *user_map = coalesce(default_map, user_map);
                } else {
                    tracing::warn!(key = %key, "user value is a table, chart default is not: keeping the user value");
                }
            }
            Some(_) => {
                if default.is_object() {
                    tracing::warn!(key = %key, "skipped chart default for {key}: user value is not a table");
                }
            }
            None => {
                out.insert(key.clone(), strip_nulls(default.clone()));
            }
        }
    }
    out
}

fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Deep-merges `over` into `base` (`over` wins), as Helm merges several `-f` files and `--set`.
pub fn merge_into(base: &mut Map<String, Value>, over: Map<String, Value>) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Object(b)), Value::Object(o)) => merge_into(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

/// Applies `--set key=value` expressions (Helm's strvals syntax: dotted keys, `a[0]` indices,
/// `{x,y}` lists, several assignments separated by `,`, `\` escapes; `true`/`false`/`null` and
/// integers are typed).
pub fn apply_set(values: &mut Map<String, Value>, expression: &str) -> Result<()> {
    for assignment in split_unescaped(expression, ',', true) {
        if assignment.is_empty() {
            continue;
        }
        let Some((key, raw)) = split_once_unescaped(&assignment, '=') else {
            return Err(ChartError::BadSet {
                expression: expression.into(),
                problem: format!("`{assignment}` has no `=`"),
                fix: "write --set key=value, e.g. --set rbac.create=false".into(),
            });
        };
        let value = if raw.starts_with('{') && raw.ends_with('}') {
            let inner = &raw[1..raw.len() - 1];
            Value::Array(if inner.is_empty() {
                Vec::new()
            } else {
                split_unescaped(inner, ',', false)
                    .iter()
                    .map(|s| typed(&unescape(s)))
                    .collect()
            })
        } else {
            typed(&unescape(&raw))
        };
        set_path(values, &key, value).map_err(|problem| ChartError::BadSet {
            expression: expression.into(),
            problem,
            fix: "use dotted keys like runners.tags=x or list indices like envVars[0].name=x"
                .into(),
        })?;
    }
    Ok(())
}

/// Splits at `sep` outside `{...}` and not escaped by `\`; escapes are kept for later.
fn split_unescaped(s: &str, sep: char, respect_braces: bool) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '{' if respect_braces => {
                depth += 1;
                cur.push(c);
            }
            '}' if respect_braces => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            c if c == sep && depth == 0 => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

fn split_once_unescaped(s: &str, sep: char) -> Option<(String, String)> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            return Some((s[..i].to_string(), s[i + 1..].to_string()));
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// strvals typing: booleans, null, and integers without a leading zero; everything else a string.
fn typed(s: &str) -> Value {
    match s {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            let leading_zero = digits.len() > 1 && digits.starts_with('0');
            match s.parse::<i64>() {
                Ok(n) if !leading_zero => Value::Number(n.into()),
                _ => Value::String(s.to_string()),
            }
        }
    }
}

/// One key segment: a name and optional list indices (`a[0][1]`).
fn parse_segments(key: &str) -> std::result::Result<Vec<(String, Vec<usize>)>, String> {
    let mut out = Vec::new();
    for raw in split_unescaped(key, '.', false) {
        let (name, rest) = match raw.find('[') {
            Some(i) => (&raw[..i], &raw[i..]),
            None => (raw.as_str(), ""),
        };
        let mut indices = Vec::new();
        let mut rest = rest;
        while let Some(stripped) = rest.strip_prefix('[') {
            let end = stripped
                .find(']')
                .ok_or_else(|| format!("unclosed `[` in key `{key}`"))?;
            let idx: usize = stripped[..end].parse().map_err(|_| {
                format!(
                    "list index `{}` in key `{key}` is not a number",
                    &stripped[..end]
                )
            })?;
            if idx > 65536 {
                return Err(format!("list index {idx} in key `{key}` is too large"));
            }
            indices.push(idx);
            rest = &stripped[end + 1..];
        }
        if !rest.is_empty() {
            return Err(format!("unexpected `{rest}` in key `{key}`"));
        }
        let name = unescape(name);
        if name.is_empty() {
            return Err(format!("empty key segment in `{key}`"));
        }
        out.push((name, indices));
    }
    Ok(out)
}

fn set_path(
    root: &mut Map<String, Value>,
    key: &str,
    value: Value,
) -> std::result::Result<(), String> {
    let segments = parse_segments(key)?;
    let mut map = root;
    let last = segments.len().saturating_sub(1);
    for (i, (name, indices)) in segments.into_iter().enumerate() {
        let is_last = i == last;
        if indices.is_empty() {
            if is_last {
                map.insert(name, value);
                return Ok(());
            }
            let entry = map.entry(name).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let Value::Object(next) = entry else {
                return Err("internal: expected a map".into());
            };
            map = next;
        } else {
            let mut slot = map.entry(name).or_insert_with(|| Value::Array(Vec::new()));
            let count = indices.len();
            for (j, idx) in indices.into_iter().enumerate() {
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                let Value::Array(list) = slot else {
                    return Err("internal: expected a list".into());
                };
                if list.len() <= idx {
                    list.resize(idx + 1, Value::Null);
                }
                slot = &mut list[idx];
                if j + 1 == count && is_last {
                    *slot = value;
                    return Ok(());
                }
            }
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            let Value::Object(next) = slot else {
                return Err("internal: expected a map".into());
            };
            map = next;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_become_floats() {
        let v = parse_values_yaml("a: 10\nb: x\n", "v.yaml").unwrap();
        assert!(v["a"].is_f64());
    }

    #[test]
    fn coalesce_user_wins_and_null_deletes() {
        let d = json!({"a": 1, "m": {"x": 1, "y": 2}, "gone": 3});
        let u = json!({"a": 2, "m": {"y": 3}, "gone": null});
        let out = coalesce(d.as_object().unwrap(), u.as_object().unwrap());
        assert_eq!(Value::Object(out), json!({"a": 2, "m": {"x": 1, "y": 3}}));
    }

    #[test]
    fn set_expressions() {
        let mut v = Map::new();
        apply_set(
            &mut v,
            "rbac.create=false,runners.tags=a\\,b,n=5,l={x,y},e[1].name=Z",
        )
        .unwrap();
        assert_eq!(
            Value::Object(v),
            json!({"rbac": {"create": false}, "runners": {"tags": "a,b"}, "n": 5,
                   "l": ["x", "y"], "e": [null, {"name": "Z"}]})
        );
    }

    #[test]
    fn set_without_equals_is_an_error() {
        let err = apply_set(&mut Map::new(), "rbac.create").unwrap_err();
        assert!(err.to_string().contains("Fix:"), "{err}");
    }
}
