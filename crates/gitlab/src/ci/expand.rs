//! Config composition before validation: `include: local`, `!reference` tags and `extends`.

use serde_norway::{Mapping, Value};

use super::LintError;
use super::yaml::{key_string, parse};

/// Reads files of the repository (or directory) a config comes from, for `include: local`.
pub trait FileSource {
    /// The file's text, or `None` when it does not exist. `path` is relative to the root.
    fn read(&self, path: &str) -> Option<String>;
}

/// A [`FileSource`] that has no files (includes always fail).
pub struct NoFiles;

impl FileSource for NoFiles {
    fn read(&self, _path: &str) -> Option<String> {
        None
    }
}

const MAX_INCLUDE_DEPTH: usize = 100;
const MAX_EXTENDS_DEPTH: usize = 10;

fn err(message: String) -> LintError {
    LintError {
        line: None,
        message,
    }
}

/// Merges every `include: local` file into `root` (the including file's keys win).
pub fn apply_includes(
    root: Value,
    files: &dyn FileSource,
    depth: usize,
) -> Result<Value, LintError> {
    let Value::Mapping(mut map) = root else {
        return Ok(root);
    };
    let Some(include) = map.shift_remove("include") else {
        return Ok(Value::Mapping(map));
    };
    if depth > MAX_INCLUDE_DEPTH {
        return Err(err("Maximum of 100 nested includes are allowed!".into()));
    }
    let entries = match include {
        Value::Sequence(seq) => seq,
        other => vec![other],
    };
    let mut merged = Mapping::new();
    for entry in entries {
        let path = match &entry {
            Value::String(s) => s.clone(),
            Value::Mapping(m) => match m.get("local").and_then(Value::as_str) {
                Some(p) => p.to_string(),
                None => {
                    let kind = m.keys().next().map(key_string).unwrap_or_default();
                    return Err(err(format!(
                        "Included file `{kind}` is not supported by the embedded GitLab: only `include: local` is"
                    )));
                }
            },
            _ => {
                return Err(err(
                    "include config should be a hash, a string or an array".into()
                ));
            }
        };
        if path.starts_with("http://") || path.starts_with("https://") {
            return Err(err(format!(
                "Remote file `{path}` could not be fetched: the embedded GitLab has no network access"
            )));
        }
        let clean = path.trim_start_matches('/');
        let text = files
            .read(clean)
            .ok_or_else(|| err(format!("Local file `{path}` does not exist!")))?;
        let value = parse(&text).map_err(|e| err(format!("Local file `{path}`: {}", e.message)))?;
        let value = if matches!(value, Value::Null) {
            return Err(err(format!("Local file `{path}` is empty!")));
        } else {
            apply_includes(value, files, depth + 1)?
        };
        if let Value::Mapping(m) = value {
            deep_merge(&mut merged, m);
        } else {
            return Err(err(format!(
                "Included file `{path}` does not have valid YAML syntax!"
            )));
        }
    }
    deep_merge(&mut merged, map);
    Ok(Value::Mapping(merged))
}

/// Deep-merges `over` into `base`: mappings recursively, everything else replaced.
pub fn deep_merge(base: &mut Mapping, over: Mapping) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Mapping(b)), Value::Mapping(o)) => deep_merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Replaces every `!reference [key, ...]` tag by the value it points at.
pub fn resolve_references(root: &Value) -> Result<Value, LintError> {
    resolve_value(root, root, 0)
}

fn resolve_value(value: &Value, root: &Value, depth: usize) -> Result<Value, LintError> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "reference" => {
            let keys: Vec<String> = match &tagged.value {
                Value::Sequence(seq) => seq.iter().map(key_string).collect(),
                _ => vec![],
            };
            let shown = format!(
                "!reference [{}]",
                keys.iter()
                    .map(|k| format!("\"{k}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if depth > MAX_EXTENDS_DEPTH {
                return Err(err(format!("{shown} is part of a circular chain")));
            }
            let mut current = root;
            for key in &keys {
                current = match current {
                    Value::Mapping(m) => m
                        .get(key.as_str())
                        .ok_or_else(|| err(format!("{shown} could not be found")))?,
                    _ => return Err(err(format!("{shown} could not be found"))),
                };
            }
            if keys.is_empty() {
                return Err(err(format!("{shown} could not be found")));
            }
            resolve_value(current, root, depth + 1)
        }
        Value::Tagged(tagged) => resolve_value(&tagged.value, root, depth),
        Value::Sequence(seq) => seq
            .iter()
            .map(|v| resolve_value(v, root, depth))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Sequence),
        Value::Mapping(map) => {
            let mut out = Mapping::new();
            for (k, v) in map {
                out.insert(k.clone(), resolve_value(v, root, depth)?);
            }
            Ok(Value::Mapping(out))
        }
        other => Ok(other.clone()),
    }
}

/// Resolves `extends:` of every top-level entry (jobs and hidden templates).
pub fn apply_extends(root: Value) -> Result<Value, LintError> {
    let Value::Mapping(map) = root else {
        return Ok(root);
    };
    let mut out = Mapping::new();
    for (key, value) in &map {
        let name = key_string(key);
        let resolved = if value.get("extends").is_some() {
            resolve_extends(&name, &map, &mut Vec::new())?
        } else {
            value.clone()
        };
        out.insert(key.clone(), resolved);
    }
    Ok(Value::Mapping(out))
}

fn resolve_extends(
    name: &str,
    root: &Mapping,
    chain: &mut Vec<String>,
) -> Result<Value, LintError> {
    if chain.iter().any(|c| c == name) {
        let first = chain.first().cloned().unwrap_or_default();
        return Err(err(format!(
            "{first}: circular dependency detected in `extends`"
        )));
    }
    if chain.len() > MAX_EXTENDS_DEPTH {
        let first = chain.first().cloned().unwrap_or_default();
        return Err(err(format!("{first}: nesting too deep in `extends`")));
    }
    let Some(Value::Mapping(own)) = root.get(name) else {
        let first = chain.first().cloned().unwrap_or_else(|| name.to_string());
        return Err(err(format!("{first}: invalid base hash in `extends`")));
    };
    let bases: Vec<String> = match own.get("extends") {
        None => return Ok(Value::Mapping(own.clone())),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Sequence(seq)) => seq
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(_) => return Ok(Value::Mapping(own.clone())),
    };
    let unknown: Vec<&String> = bases
        .iter()
        .filter(|b| root.get(b.as_str()).is_none())
        .collect();
    if !unknown.is_empty() {
        let list = unknown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(err(format!("{name}: unknown keys in `extends` ({list})")));
    }
    chain.push(name.to_string());
    let mut merged = Mapping::new();
    for base in &bases {
        match resolve_extends(base, root, chain)? {
            Value::Mapping(m) => deep_merge(&mut merged, m),
            _ => return Err(err(format!("{name}: invalid base hash in `extends`"))),
        }
    }
    chain.pop();
    let mut own = own.clone();
    own.shift_remove("extends");
    deep_merge(&mut merged, own);
    Ok(Value::Mapping(merged))
}
