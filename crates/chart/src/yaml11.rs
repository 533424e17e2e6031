//! Values read the way Helm reads them: libyaml's parse (the same parser serde_norway uses, so
//! the same documents are accepted, tabs before comments included) with go-yaml v2's YAML 1.1
//! resolution of plain scalars (`yes`/`no`/`on`/`off` are booleans, `0755` is octal, `1_000` an
//! integer) and sigs.k8s.io/yaml's stringification of non-string keys.

use std::collections::HashMap;
use std::ffi::CStr;
use std::mem::MaybeUninit;

use serde_json::{Map, Number, Value};
use unsafe_libyaml_norway as unsafe_yaml;

/// One parser event, copied out of libyaml's buffers.
#[derive(Debug)]
enum Event {
    Scalar {
        value: String,
        plain: bool,
        tag: Option<String>,
        anchor: Option<String>,
    },
    SequenceStart(Option<String>),
    SequenceEnd,
    MappingStart(Option<String>),
    MappingEnd,
    Alias(String),
    DocumentEnd,
    StreamEnd,
    Other,
}

/// Copies a NUL-terminated libyaml string.
///
/// # Safety
/// `ptr` must be null or point to a NUL-terminated string owned by a live event.
unsafe fn c_string(ptr: *const u8) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: guaranteed by the caller (libyaml terminates anchors and tags with NUL).
    let s = unsafe { CStr::from_ptr(ptr.cast()) };
    Some(s.to_string_lossy().into_owned())
}

/// Runs libyaml's event parser over `text`; `None` if it reports an error.
fn events(text: &str) -> Option<Vec<Event>> {
    let mut out = Vec::new();
    // The parser keeps pointers into itself and into `text`: it stays boxed (never moved) and
    // `text` outlives it. Every event is deleted after its data is copied out.
    let mut parser: Box<MaybeUninit<unsafe_yaml::yaml_parser_t>> = Box::new(MaybeUninit::uninit());
    let p = parser.as_mut_ptr();
    // SAFETY: `p` points to writable storage for a parser; initialize fills it.
    if unsafe { unsafe_yaml::yaml_parser_initialize(p) }.fail {
        return None;
    }
    // SAFETY: `p` is initialized; `text` lives until the parser is deleted below.
    unsafe { unsafe_yaml::yaml_parser_set_input_string(p, text.as_ptr(), text.len() as u64) };
    let ok = loop {
        let mut event = MaybeUninit::<unsafe_yaml::yaml_event_t>::uninit();
        // SAFETY: `p` is an initialized parser; `event` is storage for one event.
        if unsafe { unsafe_yaml::yaml_parser_parse(p, event.as_mut_ptr()) }.fail {
            break false;
        }
        // SAFETY: a successful parse initialized the event.
        let mut event = unsafe { event.assume_init() };
        // SAFETY: the union field read matches the event type, and its pointers are valid
        // until yaml_event_delete.
        let owned = unsafe {
            match event.type_ {
                unsafe_yaml::YAML_SCALAR_EVENT => {
                    let s = event.data.scalar;
                    let bytes = if s.value.is_null() || s.length == 0 {
                        &[][..]
                    } else {
                        std::slice::from_raw_parts(s.value, s.length as usize)
                    };
                    Event::Scalar {
                        value: String::from_utf8_lossy(bytes).into_owned(),
                        plain: s.style == unsafe_yaml::YAML_PLAIN_SCALAR_STYLE,
                        tag: c_string(s.tag),
                        anchor: c_string(s.anchor),
                    }
                }
                unsafe_yaml::YAML_SEQUENCE_START_EVENT => {
                    Event::SequenceStart(c_string(event.data.sequence_start.anchor))
                }
                unsafe_yaml::YAML_SEQUENCE_END_EVENT => Event::SequenceEnd,
                unsafe_yaml::YAML_MAPPING_START_EVENT => {
                    Event::MappingStart(c_string(event.data.mapping_start.anchor))
                }
                unsafe_yaml::YAML_MAPPING_END_EVENT => Event::MappingEnd,
                unsafe_yaml::YAML_ALIAS_EVENT => {
                    Event::Alias(c_string(event.data.alias.anchor).unwrap_or_default())
                }
                unsafe_yaml::YAML_DOCUMENT_END_EVENT => Event::DocumentEnd,
                unsafe_yaml::YAML_STREAM_END_EVENT => Event::StreamEnd,
                _ => Event::Other,
            }
        };
        // SAFETY: the event was initialized by the parser and is deleted exactly once.
        unsafe { unsafe_yaml::yaml_event_delete(&mut event) };
        let end = matches!(owned, Event::StreamEnd);
        out.push(owned);
        if end {
            break true;
        }
    };
    // SAFETY: `p` was initialized above and is deleted exactly once.
    unsafe { unsafe_yaml::yaml_parser_delete(p) };
    ok.then_some(out)
}

/// go-yaml v2's resolution of a plain scalar.
fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Value::Bool(false);
        }
        _ => {}
    }
    let first = s.chars().next().unwrap_or(' ');
    if !(first.is_ascii_digit() || matches!(first, '+' | '-' | '.')) {
        return Value::String(s.to_string());
    }
    let plain = s.replace('_', "");
    if let Some(i) = parse_go_int(&plain) {
        return Value::Number(i.into());
    }
    let float_re = plain.strip_prefix(['+', '-']).unwrap_or(&plain);
    let is_float = !float_re.is_empty()
        && float_re
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && float_re
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '.');
    if is_float
        && let Ok(f) = plain.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(s.to_string())
}

/// Go's `strconv.ParseInt(s, 0, 64)`: decimal, `0x` hex, `0o`/leading-0 octal, `0b` binary.
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, h)
    } else if let Some(b) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, b)
    } else if let Some(o) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, o)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i64::from_str_radix(digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

fn resolve_scalar(value: &str, plain: bool, tag: Option<&str>) -> Value {
    match tag {
        Some("tag:yaml.org,2002:str") => Value::String(value.into()),
        Some("tag:yaml.org,2002:null") => Value::Null,
        Some(_) | None if plain => resolve_plain(value),
        Some("tag:yaml.org,2002:int" | "tag:yaml.org,2002:float" | "tag:yaml.org,2002:bool") => {
            resolve_plain(value)
        }
        _ => Value::String(value.into()),
    }
}

/// sigs.k8s.io/yaml's key stringification.
fn key_string(key: Value) -> String {
    match key {
        Value::String(s) => s,
        Value::Null => "null".into(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => go_float(f),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`, the text of a float key: the shortest digits
/// that round-trip, in exponent form when the decimal exponent is < -4 or >= 6.
fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        format!("{f}")
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

struct Builder<I: Iterator<Item = Event>> {
    events: std::iter::Peekable<I>,
    anchors: HashMap<String, Value>,
}

impl<I: Iterator<Item = Event>> Builder<I> {
    fn node(&mut self, event: Event) -> Option<Value> {
        match event {
            Event::Scalar {
                value,
                plain,
                tag,
                anchor,
            } => {
                let v = resolve_scalar(&value, plain, tag.as_deref());
                self.remember(anchor, &v);
                Some(v)
            }
            Event::Alias(name) => self.anchors.get(&name).cloned(),
            Event::SequenceStart(anchor) => {
                let mut items = Vec::new();
                loop {
                    match self.events.next()? {
                        Event::SequenceEnd => break,
                        e => items.push(self.node(e)?),
                    }
                }
                let v = Value::Array(items);
                self.remember(anchor, &v);
                Some(v)
            }
            Event::MappingStart(anchor) => {
                let mut map = Map::new();
                loop {
                    let key_event = self.events.next()?;
                    if matches!(key_event, Event::MappingEnd) {
                        break;
                    }
                    let merge = matches!(&key_event, Event::Scalar { value, plain: true, .. } if value == "<<");
                    let key = self.node(key_event)?;
                    let value_event = self.events.next()?;
                    let value = self.node(value_event)?;
                    if merge {
                        let sources = match value {
                            Value::Array(list) => list,
                            other => vec![other],
                        };
                        for source in sources {
                            if let Value::Object(m) = source {
                                map.extend(m);
                            }
                        }
                    } else {
                        map.insert(key_string(key), value);
                    }
                }
                let v = Value::Object(map);
                self.remember(anchor, &v);
                Some(v)
            }
            _ => None,
        }
    }

    fn remember(&mut self, anchor: Option<String>, value: &Value) {
        if let Some(name) = anchor {
            self.anchors.insert(name, value.clone());
        }
    }
}

/// The first document of `text` with Helm's YAML 1.1 typing; `None` if libyaml rejects it
/// (the caller reports serde_norway's error instead).
pub fn load(text: &str) -> Option<Value> {
    let events = events(text)?;
    let mut builder = Builder {
        events: events.into_iter().peekable(),
        anchors: HashMap::new(),
    };
    while let Some(event) = builder.events.next() {
        match event {
            Event::Other => continue,
            Event::DocumentEnd | Event::StreamEnd => return Some(Value::Null),
            e => return builder.node(e),
        }
    }
    Some(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_1_1_scalars() {
        let v = load("a: yes\nb: 'yes'\nc: off\nd: 0755\ne: 1_000\nf: 0x1F\ng: 1.5\nh: ~\ni: 12:30\nyes: k\n").unwrap();
        assert_eq!(
            v,
            json!({"a": true, "b": "yes", "c": false, "d": 493, "e": 1000, "f": 31, "g": 1.5,
                   "h": null, "i": "12:30", "true": "k"})
        );
    }

    #[test]
    fn anchors_merge_and_tabs() {
        let v = load("base: &b {x: 1}\nother:\n  <<: *b\n  z: 2\nurl: http://h/\t\t# c\n").unwrap();
        assert_eq!(
            v,
            json!({"base": {"x": 1}, "other": {"x": 1, "z": 2}, "url": "http://h/"})
        );
    }

    #[test]
    fn float_keys_are_written_as_go_writes_them() {
        let v = load("1.5: a\n1000000.0: b\n0.00001: c\n").unwrap();
        assert_eq!(v, json!({"1.5": "a", "1e+06": "b", "1e-05": "c"}));
    }

    #[test]
    fn errors_give_none() {
        assert!(load("a: [1").is_none());
        assert_eq!(load("").unwrap(), Value::Null);
    }
}
