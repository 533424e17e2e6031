//! Small helpers to read and write object metadata on JSON values.

use serde_json::{Map, Value, json};

/// `head` (a JSON object) with one more member `key`: an array whose elements `write_item`
/// appends already encoded, so large lists are assembled from cached bytes.
pub fn object_with_array<T>(
    head: &Value,
    key: &str,
    items: &[T],
    mut write_item: impl FnMut(&mut Vec<u8>, &T),
) -> Vec<u8> {
    let mut out = serde_json::to_vec(head).unwrap_or_default();
    out.pop();
    out.extend_from_slice(format!(",\"{key}\":[").as_bytes());
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_item(&mut out, item);
    }
    out.extend_from_slice(b"]}");
    out
}

/// The string at a path, or "".
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(n) => cur = n,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

/// The value at a path.
pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    Some(cur)
}

/// The strings of the array at a path (other items skipped); empty where there is none.
pub fn strings_at(v: &Value, path: &[&str]) -> Vec<String> {
    at(v, path)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

/// A mutable object at a path, created (as `{}`) where missing or not an object.
pub fn obj_mut<'a>(v: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut cur = v;
    for p in path {
        if !cur.is_object() {
            *cur = json!({});
        }
        let Value::Object(m) = cur else {
            unreachable!("just made an object")
        };
        cur = m.entry(p.to_string()).or_insert_with(|| json!({}));
    }
    if !cur.is_object() {
        *cur = json!({});
    }
    match cur {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// Sets a value at a path, creating parents.
pub fn set(v: &mut Value, path: &[&str], value: Value) {
    if let Some((last, parents)) = path.split_last() {
        obj_mut(v, parents).insert(last.to_string(), value);
    }
}

/// metadata.name.
pub fn name(v: &Value) -> &str {
    str_at(v, &["metadata", "name"])
}

/// metadata.namespace.
pub fn namespace(v: &Value) -> &str {
    str_at(v, &["metadata", "namespace"])
}

/// metadata.uid.
pub fn uid(v: &Value) -> &str {
    str_at(v, &["metadata", "uid"])
}

/// Sets metadata.resourceVersion.
pub fn set_rv(v: &mut Value, rv: u64) {
    set(v, &["metadata", "resourceVersion"], json!(rv.to_string()));
}

/// metadata.labels as pairs.
pub fn labels(v: &Value) -> Option<&Map<String, Value>> {
    at(v, &["metadata", "labels"])?.as_object()
}

/// Whether metadata.deletionTimestamp is set.
pub fn is_deleting(v: &Value) -> bool {
    at(v, &["metadata", "deletionTimestamp"]).is_some_and(|t| !t.is_null())
}

/// The current time in the API's RFC 3339 format (seconds precision).
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The current time with microseconds (MicroTime fields).
pub fn now_micro() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// ownerReferences uids.
pub fn owner_uids(v: &Value) -> Vec<&str> {
    at(v, &["metadata", "ownerReferences"])
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|o| o.get("uid").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// The controller owner reference's uid, if any.
pub fn controller_uid(v: &Value) -> Option<&str> {
    at(v, &["metadata", "ownerReferences"])?
        .as_array()?
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))?
        .get("uid")?
        .as_str()
}

/// A short random lower-case alphanumeric suffix (generateName).
pub fn random_suffix(len: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let bytes = uuid::Uuid::new_v4();
    bytes
        .as_bytes()
        .iter()
        .take(len)
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect()
}

/// kubectl's HumanDuration.
pub fn human_duration(secs: i64) -> String {
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86400);
    if secs < 120 {
        format!("{secs}s")
    } else if m < 10 {
        let s = secs % 60;
        if s == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{s}s")
        }
    } else if h < 3 {
        format!("{m}m")
    } else if h < 8 {
        let mm = m % 60;
        if mm == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{mm}m")
        }
    } else if h < 48 {
        format!("{h}h")
    } else if d < 8 {
        let hh = h % 24;
        if hh == 0 {
            format!("{d}d")
        } else {
            format!("{d}d{hh}h")
        }
    } else if d < 730 {
        format!("{d}d")
    } else {
        format!("{}y{}d", d / 365, d % 365)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_kubectl() {
        assert_eq!(human_duration(30), "30s");
        assert_eq!(human_duration(302), "5m2s");
        assert_eq!(human_duration(3 * 3600), "3h");
        assert_eq!(human_duration(2 * 86400), "2d");
    }

    #[test]
    fn set_creates_parents() {
        let mut v = json!({});
        set(&mut v, &["a", "b"], json!(1));
        assert_eq!(v, json!({"a": {"b": 1}}));
    }
}
