//! Shared test helpers: the `helm` to render with, fixture paths and Helm-style document
//! splitting.
//!
//! The tutorial's own files (values, PVC, RBAC, configmap patch) are read from the workspace's
//! `fixtures/tutorial/`, where they are kept verbatim; `tests/data/` holds only this crate's own
//! inputs and Helm's reference renders.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The Helm the harness builds (`harness build helm`), or `$HELM_BIN`.
pub fn helm() -> harness_chart::Helm {
    harness_chart::Helm::new(harness_test_support::helm_binary())
}

/// `tests/data/<name>`.
pub fn data(name: &str) -> PathBuf {
    from_crate("tests/data", name)
}

/// `<dir>/<name>`, `dir` relative to this crate's directory.
fn from_crate(dir: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(dir)
        .join(name)
}

/// Text of `tests/data/<name>`.
pub fn read(name: &str) -> String {
    read_path(&data(name))
}

fn read_path(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `fixtures/tutorial/<name>` of the workspace: the tutorial's files, verbatim.
pub fn tutorial(name: &str) -> PathBuf {
    from_crate("../../fixtures/tutorial", name)
}

/// Text of `fixtures/tutorial/<name>`.
pub fn read_tutorial(name: &str) -> String {
    read_path(&tutorial(name))
}

/// Splits like Helm's SplitManifests: at `---`, trimmed, empties dropped.
pub fn helm_docs(text: &str) -> Vec<String> {
    let re = regex::Regex::new(r"(?:^|\s*\n)---\s*").unwrap();
    re.split(text.trim())
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect()
}

/// template path → documents, from a reference JSON (Helm's per-template output), NOTES left out.
pub fn reference_docs(json_text: &str) -> BTreeMap<String, Vec<String>> {
    let map: BTreeMap<String, String> = serde_json::from_str(json_text).unwrap();
    map.into_iter()
        .filter(|(k, _)| !k.ends_with("NOTES.txt"))
        .map(|(k, v)| (k, helm_docs(&v)))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// template path → documents, from our rendering, trimmed like [`reference_docs`] (Helm v4.3.2
/// keeps whitespace-only lines at the end of a document that the SDK's references dropped).
pub fn our_docs(rendered: &harness_chart::Rendered) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in &rendered.manifests {
        out.entry(m.source.clone())
            .or_default()
            .push(m.text.trim().to_string());
    }
    out
}
