//! Reading what `helm template` prints — documents, each after `---` and a `# Source:` line, in
//! Helm's install order — back into objects the checks can look at.

use serde_json::Value;

use crate::error::{ChartError, Result};

/// One rendered Kubernetes object.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Template that produced it (`gitlab-runner/templates/configmap.yaml`).
    pub source: String,
    /// The document text exactly as Helm printed it.
    pub text: String,
    /// The document parsed.
    pub object: Value,
}

impl Manifest {
    /// `kind` of the object.
    pub fn kind(&self) -> &str {
        self.object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// `metadata.name` of the object.
    pub fn name(&self) -> &str {
        self.object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

const SOURCE: &str = "# Source: ";

/// Splits `helm template` output into its documents and parses each; documents that are empty
/// or only comments are left out, as Helm leaves them out of a release.
pub fn parse_stream(stream: &str) -> Result<Vec<Manifest>> {
    let mut chunks = vec![String::new()];
    for line in stream.split_inclusive('\n') {
        if line.trim_end() == "---" {
            chunks.push(String::new());
        } else if let Some(last) = chunks.last_mut() {
            last.push_str(line);
        }
    }
    let mut out = Vec::new();
    for chunk in chunks.iter().filter(|c| !c.trim().is_empty()) {
        let (source, text) = match chunk.strip_prefix(SOURCE) {
            Some(rest) => rest.split_once('\n').unwrap_or((rest, "")),
            None => ("", chunk.as_str()),
        };
        let text = text.strip_suffix('\n').unwrap_or(text);
        let object: Value = serde_norway::from_str(text).map_err(|e| ChartError::Manifest {
            template: source.to_owned(),
            message: e.to_string(),
            fix: "a value probably contains text that breaks the YAML (quote it, or fix its indentation)".into(),
        })?;
        if object.is_null() {
            continue;
        }
        out.push(Manifest {
            source: source.to_owned(),
            text: text.to_owned(),
            object,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_keep_their_source_and_exact_text() {
        let stream = "---\n# Source: c/templates/b.yaml\nkind: ConfigMap\nmetadata: {name: c-a---}\ndata:\n  s: |\n    x\n\n\n---\n# Source: c/templates/a.yaml\nkind: Deployment\nmetadata: {name: d}\n";
        let m = parse_stream(stream).unwrap();
        assert_eq!(
            m.iter()
                .map(|m| (m.source.as_str(), m.kind(), m.name()))
                .collect::<Vec<_>>(),
            [
                ("c/templates/b.yaml", "ConfigMap", "c-a---"),
                ("c/templates/a.yaml", "Deployment", "d")
            ]
        );
        assert_eq!(
            m[0].text,
            "kind: ConfigMap\nmetadata: {name: c-a---}\ndata:\n  s: |\n    x\n\n"
        );
        assert_eq!(m[0].object["data"]["s"], "x\n");
    }

    #[test]
    fn a_broken_document_names_its_template() {
        let err = parse_stream("---\n# Source: c/templates/x.yaml\na: [\n").unwrap_err();
        assert!(err.to_string().starts_with("c/templates/x.yaml:"), "{err}");
    }
}
