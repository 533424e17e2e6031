//! Conversions between JSON values (how values are stored) and template values, and Go's
//! default formatting of values (`fmt.Sprint`), which Helm's functions use to stringify.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::Value as T;
use serde_json::Value as J;

/// JSON → template value. Integers from `--set` stay integers; YAML numbers arrive as floats.
pub fn to_tmpl(value: &J) -> T {
    match value {
        J::Null => T::Nil,
        J::Bool(b) => T::Bool(*b),
        J::Number(n) => {
            if let Some(i) = n.as_i64().filter(|_| !n.is_f64()) {
                T::Int(i)
            } else if let Some(u) = n.as_u64().filter(|_| !n.is_f64()) {
                T::Uint(u)
            } else {
                T::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        J::String(s) => T::String(Arc::from(s.as_str())),
        J::Array(items) => T::List(items.iter().map(to_tmpl).collect::<Vec<_>>().into()),
        J::Object(map) => {
            let m: BTreeMap<Arc<str>, T> = map
                .iter()
                .map(|(k, v)| (Arc::from(k.as_str()), to_tmpl(v)))
                .collect();
            T::Map(Arc::new(m))
        }
    }
}

/// Template value → JSON (for `toYaml`/`toJson`). Functions become null.
pub fn to_json(value: &T) -> J {
    match value {
        T::Nil => J::Null,
        T::Bool(b) => J::Bool(*b),
        T::Int(i) => J::Number((*i).into()),
        T::Uint(u) => J::Number((*u).into()),
        T::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        T::String(s) => J::String(s.to_string()),
        T::List(items) => J::Array(items.iter().map(to_json).collect()),
        T::Map(m) => J::Object(m.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect()),
        _ => J::Null,
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`, which `fmt.Sprint` uses for float64: the
/// shortest digits that round-trip, in exponent form when the decimal exponent is < -4 or >= 6
/// (so `1e6` prints as `1e+06`, as Helm users know it).
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// Go's JSON number formatting for float64 (`encoding/json`): plain below 1e21, exponent above.
pub fn json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let sci = format!("{f:e}");
        let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// `fmt.Sprint(v)` as sprig's `strval` does it: nil is `<nil>`, maps `map[k:v]`, lists `[a b]`.
pub fn strval(value: &T) -> String {
    match value {
        T::Nil => "<nil>".into(),
        T::Float(f) => go_float(*f),
        T::String(s) => s.to_string(),
        T::List(items) => {
            let inner: Vec<String> = items.iter().map(strval).collect();
            format!("[{}]", inner.join(" "))
        }
        T::Map(m) => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}:{}", strval(v)))
                .collect();
            format!("map[{}]", inner.join(" "))
        }
        other => other.to_string(),
    }
}

/// sprig's `empty`: nil, false, 0, "", and empty lists/maps.
pub fn is_empty(value: &T) -> bool {
    match value {
        T::Nil => true,
        T::Bool(b) => !b,
        T::Int(i) => *i == 0,
        T::Uint(u) => *u == 0,
        T::Float(f) => *f == 0.0,
        T::String(s) => s.is_empty(),
        T::List(l) => l.is_empty(),
        T::Map(m) => m.is_empty(),
        _ => false,
    }
}

/// spf13/cast `ToInt64`, as sprig's `int64`/`int` use it (bad input gives 0).
pub fn to_i64(value: &T) -> i64 {
    match value {
        T::Int(i) => *i,
        T::Uint(u) => i64::try_from(*u).unwrap_or(i64::MAX),
        T::Float(f) => f.trunc() as i64,
        T::Bool(b) => i64::from(*b),
        T::String(s) => s.trim().parse::<i64>().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_formats() {
        assert_eq!(go_float(10.0), "10");
        assert_eq!(go_float(100000.0), "100000");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(1234567.0), "1.234567e+06");
        assert_eq!(go_float(0.5), "0.5");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(json_float(1e6), "1000000");
        assert_eq!(json_float(1e21), "1e+21");
    }
}
