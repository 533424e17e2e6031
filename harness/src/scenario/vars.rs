//! `${name}` references in scenario values, filled from what the environment knows at the time
//! (the GitLab URL, the registry host, the last pipeline's commit, …).

use std::collections::BTreeMap;

/// Names and values usable as `${name}`.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, String>,
}

impl Vars {
    /// Sets (or replaces) a value.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.values.insert(name.to_owned(), value.into());
    }

    /// A value, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Replaces every `${name}` in `text`; an unknown name is an error listing the known ones.
    pub fn expand(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(format!("unclosed `${{` in `{text}`"));
            };
            let name = &after[..end];
            match self.values.get(name) {
                Some(value) => out.push_str(value),
                None => {
                    return Err(format!(
                        "`${{{name}}}` is not known here; known: {}",
                        self.values.keys().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_known_names_and_rejects_unknown_ones() {
        let mut vars = Vars::default();
        vars.set("registry.host", "127.0.0.1:5000");
        vars.set("pipeline.short_sha", "abcdef12");
        assert_eq!(
            vars.expand("${registry.host}/demo/app:${pipeline.short_sha}")
                .unwrap(),
            "127.0.0.1:5000/demo/app:abcdef12"
        );
        assert_eq!(vars.expand("plain").unwrap(), "plain");
        let err = vars.expand("${gitlab.url}").unwrap_err();
        assert!(
            err.contains("gitlab.url") && err.contains("registry.host"),
            "{err}"
        );
        assert!(vars.expand("${oops").is_err());
    }
}
