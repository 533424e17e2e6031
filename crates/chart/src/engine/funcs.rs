//! The sprig and Helm functions the gitlab-runner charts call, with Go/sprig semantics
//! (argument order for pipelines, `strval` stringification, `empty` truthiness).

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use gotmpl::{FuncMap, TemplateError, Value};
use sha2::Digest as _;

use super::convert::{is_empty, strval, to_i64, to_json};
use super::{json, yaml};
use crate::quote;

type R = gotmpl::Result<Value>;

fn err(msg: impl Into<String>) -> TemplateError {
    TemplateError::Exec(msg.into())
}

fn s(v: impl Into<String>) -> Value {
    Value::String(Arc::from(v.into().as_str()))
}

fn arg<'a>(name: &str, args: &'a [Value], i: usize) -> gotmpl::Result<&'a Value> {
    args.get(i).ok_or_else(|| {
        err(format!(
            "wrong number of args for {name}: want at least {}, got {}",
            i + 1,
            args.len()
        ))
    })
}

fn str_arg(name: &str, args: &[Value], i: usize) -> gotmpl::Result<String> {
    Ok(match arg(name, args, i)? {
        Value::Nil => String::new(),
        v => strval(v),
    })
}

fn insert(m: &mut FuncMap, name: &str, f: impl Fn(&[Value]) -> R + Send + Sync + 'static) {
    m.insert(name.to_string(), Arc::new(f));
}

/// The pure (context-free) functions. `include`, `tpl`, `required` and `fail` are added by the
/// engine, which owns the template set.
pub fn sprig() -> FuncMap {
    let mut m = FuncMap::new();
    insert(&mut m, "default", |a| {
        let d = arg("default", a, 0)?;
        Ok(match a.get(1) {
            Some(v) if !is_empty(v) => v.clone(),
            _ => d.clone(),
        })
    });
    insert(&mut m, "empty", |a| {
        Ok(Value::Bool(a.first().is_none_or(is_empty)))
    });
    insert(&mut m, "coalesce", |a| {
        Ok(a.iter()
            .find(|v| !is_empty(v))
            .cloned()
            .unwrap_or(Value::Nil))
    });
    insert(&mut m, "ternary", |a| {
        let cond = arg("ternary", a, 2)?.is_truthy();
        Ok(if cond { a[0].clone() } else { a[1].clone() })
    });
    insert(&mut m, "quote", |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| go_quote(&strval(v)))
            .collect();
        Ok(s(parts.join(" ")))
    });
    insert(&mut m, "squote", |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| format!("'{}'", strval(v)))
            .collect();
        Ok(s(parts.join(" ")))
    });
    insert(&mut m, "indent", |a| {
        let n = to_i64(arg("indent", a, 0)?).max(0) as usize;
        let text = str_arg("indent", a, 1)?;
        Ok(s(indent(n, &text)))
    });
    insert(&mut m, "nindent", |a| {
        let n = to_i64(arg("nindent", a, 0)?).max(0) as usize;
        let text = str_arg("nindent", a, 1)?;
        Ok(s(format!("\n{}", indent(n, &text))))
    });
    insert(&mut m, "trunc", |a| {
        let n = to_i64(arg("trunc", a, 0)?);
        let text: Vec<char> = str_arg("trunc", a, 1)?.chars().collect();
        let len = text.len() as i64;
        let out: String = if n < 0 && -n < len {
            text[(len + n) as usize..].iter().collect()
        } else if n >= 0 && len > n {
            text[..n as usize].iter().collect()
        } else {
            text.iter().collect()
        };
        Ok(s(out))
    });
    type Strip = for<'t> fn(&'t str, &str) -> Option<&'t str>;
    let strips: [(&str, Strip); 2] = [
        ("trimSuffix", |text, suffix| text.strip_suffix(suffix)),
        ("trimPrefix", |text, prefix| text.strip_prefix(prefix)),
    ];
    for (name, strip) in strips {
        insert(&mut m, name, move |a| {
            let affix = str_arg(name, a, 0)?;
            let text = str_arg(name, a, 1)?;
            Ok(s(strip(&text, &affix).unwrap_or(&text).to_string()))
        });
    }
    insert(&mut m, "trim", |a| {
        Ok(s(str_arg("trim", a, 0)?.trim().to_string()))
    });
    insert(&mut m, "upper", |a| {
        Ok(s(str_arg("upper", a, 0)?.to_uppercase()))
    });
    insert(&mut m, "lower", |a| {
        Ok(s(str_arg("lower", a, 0)?.to_lowercase()))
    });
    insert(&mut m, "replace", |a| {
        let old = str_arg("replace", a, 0)?;
        let new = str_arg("replace", a, 1)?;
        let text = str_arg("replace", a, 2)?;
        Ok(s(if old.is_empty() {
            text
        } else {
            text.replace(&old, &new)
        }))
    });
    insert(&mut m, "contains", |a| {
        Ok(Value::Bool(
            str_arg("contains", a, 1)?.contains(&str_arg("contains", a, 0)?),
        ))
    });
    insert(&mut m, "hasPrefix", |a| {
        Ok(Value::Bool(
            str_arg("hasPrefix", a, 1)?.starts_with(&str_arg("hasPrefix", a, 0)?),
        ))
    });
    insert(&mut m, "hasSuffix", |a| {
        Ok(Value::Bool(
            str_arg("hasSuffix", a, 1)?.ends_with(&str_arg("hasSuffix", a, 0)?),
        ))
    });
    insert(&mut m, "toString", |a| {
        Ok(s(strval(arg("toString", a, 0)?)))
    });
    insert(&mut m, "sha256sum", |a| {
        let text = str_arg("sha256sum", a, 0)?;
        Ok(s(hex::encode(sha2::Sha256::digest(text.as_bytes()))))
    });
    insert(&mut m, "b64enc", |a| {
        Ok(s(
            base64::engine::general_purpose::STANDARD.encode(str_arg("b64enc", a, 0)?)
        ))
    });
    insert(&mut m, "b64dec", |a| {
        let text = str_arg("b64dec", a, 0)?;
        Ok(
            match base64::engine::general_purpose::STANDARD.decode(text.as_bytes()) {
                Ok(bytes) => s(String::from_utf8_lossy(&bytes).into_owned()),
                Err(e) => s(e.to_string()),
            },
        )
    });
    insert(&mut m, "join", |a| {
        let sep = str_arg("join", a, 0)?;
        let parts: Vec<String> = match arg("join", a, 1)? {
            Value::List(items) => items.iter().map(strval).collect(),
            Value::Nil => Vec::new(),
            other => vec![strval(other)],
        };
        Ok(s(parts.join(&sep)))
    });
    insert(&mut m, "toYaml", |a| {
        Ok(s(yaml::to_yaml(&to_json(arg("toYaml", a, 0)?))))
    });
    insert(&mut m, "toJson", |a| {
        Ok(s(json::to_json(&to_json(arg("toJson", a, 0)?))))
    });
    insert(&mut m, "list", |a| Ok(Value::List(a.to_vec().into())));
    insert(&mut m, "concat", |a| {
        let mut out = Vec::new();
        for v in a {
            match v {
                Value::List(items) => out.extend(items.iter().cloned()),
                Value::Nil => {}
                other => {
                    return Err(err(format!(
                        "concat: cannot concat type {}",
                        other.type_name()
                    )));
                }
            }
        }
        Ok(Value::List(out.into()))
    });
    insert(&mut m, "dict", |a| {
        let mut out = BTreeMap::new();
        for pair in a.chunks(2) {
            let key: Arc<str> = Arc::from(strval(&pair[0]).as_str());
            out.insert(key, pair.get(1).cloned().unwrap_or(Value::Nil));
        }
        Ok(Value::Map(Arc::new(out)))
    });
    insert(&mut m, "merge", |a| {
        let mut dst = match arg("merge", a, 0)? {
            Value::Map(m) => (**m).clone(),
            _ => BTreeMap::new(),
        };
        for src in &a[1..] {
            if let Value::Map(src) = src {
                merge_keep(&mut dst, src);
            }
        }
        Ok(Value::Map(Arc::new(dst)))
    });
    insert(&mut m, "hasKey", |a| {
        let key = str_arg("hasKey", a, 1)?;
        Ok(Value::Bool(match arg("hasKey", a, 0)? {
            Value::Map(m) => m.contains_key(key.as_str()),
            _ => false,
        }))
    });
    insert(&mut m, "get", |a| {
        let key = str_arg("get", a, 1)?;
        Ok(match arg("get", a, 0)? {
            Value::Map(m) => m.get(key.as_str()).cloned().unwrap_or_else(|| s("")),
            _ => s(""),
        })
    });
    insert(&mut m, "keys", |a| {
        let mut out = Vec::new();
        for v in a {
            if let Value::Map(m) = v {
                out.extend(m.keys().map(|k| Value::String(k.clone())));
            }
        }
        Ok(Value::List(out.into()))
    });
    insert(&mut m, "regexMatch", |a| {
        let re = regex_arg("regexMatch", a)?;
        Ok(Value::Bool(re.is_match(&str_arg("regexMatch", a, 1)?)))
    });
    insert(&mut m, "regexFind", |a| {
        let re = regex_arg("regexFind", a)?;
        let text = str_arg("regexFind", a, 1)?;
        Ok(s(re
            .find(&text)
            .map(|m| m.as_str().to_string())
            .unwrap_or_default()))
    });
    insert(&mut m, "kindIs", |a| {
        let want = str_arg("kindIs", a, 0)?;
        Ok(Value::Bool(kind(arg("kindIs", a, 1)?) == want))
    });
    insert(&mut m, "kindOf", |a| Ok(s(kind(arg("kindOf", a, 0)?))));
    insert(&mut m, "int64", |a| {
        Ok(Value::Int(to_i64(arg("int64", a, 0)?)))
    });
    insert(&mut m, "int", |a| Ok(Value::Int(to_i64(arg("int", a, 0)?))));
    insert(&mut m, "float64", |a| {
        Ok(Value::Float(match arg("float64", a, 0)? {
            Value::Float(f) => *f,
            Value::String(t) => t.trim().parse().unwrap_or(0.0),
            other => to_i64(other) as f64,
        }))
    });
    insert(&mut m, "add", |a| {
        Ok(Value::Int(a.iter().map(to_i64).sum()))
    });
    insert(&mut m, "sub", |a| {
        Ok(Value::Int(
            to_i64(arg("sub", a, 0)?) - to_i64(arg("sub", a, 1)?),
        ))
    });
    insert(&mut m, "mul", |a| {
        Ok(Value::Int(a.iter().map(to_i64).product()))
    });
    insert(&mut m, "max", |a| {
        Ok(Value::Int(a.iter().map(to_i64).max().unwrap_or(0)))
    });
    insert(&mut m, "min", |a| {
        Ok(Value::Int(a.iter().map(to_i64).min().unwrap_or(0)))
    });
    m
}

fn regex_arg(name: &str, a: &[Value]) -> gotmpl::Result<regex::Regex> {
    let pattern = str_arg(name, a, 0)?;
    regex::Regex::new(&pattern).map_err(|e| err(format!("{name}: bad regex {pattern:?}: {e}")))
}

/// Go reflect kind names as sprig's `kindIs` sees decoded values.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int64",
        Value::Uint(_) => "uint64",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
        _ => "func",
    }
}

/// mergo.Merge without override: keys already in `dst` win; maps merge recursively.
fn merge_keep(dst: &mut BTreeMap<Arc<str>, Value>, src: &BTreeMap<Arc<str>, Value>) {
    for (k, v) in src {
        match (dst.get_mut(k), v) {
            (Some(Value::Map(d)), Value::Map(s)) => {
                let mut inner = (**d).clone();
                merge_keep(&mut inner, s);
                *d = Arc::new(inner);
            }
            (Some(existing), _) if !is_empty(existing) => {}
            _ => {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
}

fn indent(n: usize, text: &str) -> String {
    let pad = " ".repeat(n);
    format!("{pad}{}", text.replace('\n', &format!("\n{pad}")))
}

/// Go's `%q` (strconv.Quote): printable Unicode kept, `"`/`\` and control characters escaped.
pub fn go_quote(text: &str) -> String {
    quote::double_quote(text, |c, out| match quote::c_escape(c) {
        Some(escape) => out.push_str(escape),
        None if (c as u32) < 0x20 || c as u32 == 0x7f => {
            out.push_str(&format!("\\x{:02x}", c as u32))
        }
        None => out.push(c),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &[Value]) -> Value {
        (sprig()[name])(args).unwrap()
    }

    #[test]
    fn default_and_quote() {
        assert_eq!(call("default", &[s("x"), Value::Nil]), s("x"));
        assert_eq!(call("default", &[s("x"), s("y")]), s("y"));
        assert_eq!(call("quote", &[Value::Float(4096.0)]), s("\"4096\""));
        assert_eq!(call("quote", &[Value::Nil]), s(""));
    }

    #[test]
    fn trunc_and_trim() {
        assert_eq!(call("trunc", &[Value::Int(3), s("abcdef")]), s("abc"));
        assert_eq!(call("trimSuffix", &[s("-"), s("ab-")]), s("ab"));
    }

    #[test]
    fn indent_all_lines() {
        assert_eq!(call("indent", &[Value::Int(2), s("a\nb")]), s("  a\n  b"));
        assert_eq!(call("nindent", &[Value::Int(2), s("a")]), s("\n  a"));
    }
}
