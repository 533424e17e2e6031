//! `.gitlab-ci.yml`: loading, composition (`include`, `!reference`, `extends`), validation with
//! GitLab's messages, and job selection (`only`/`except`/`rules`).

pub mod duration;
pub mod entries;
pub mod expand;
pub mod expr;
pub mod files;
pub mod keys;
pub mod logic;
pub mod model;
pub mod rules;
pub mod selection;
pub mod validate;
pub mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

use serde_norway::Value;

pub use expand::{FileSource, NoFiles};
pub use model::CiConfig;

/// One lint finding: GitLab's message and, where the key could be located, its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintError {
    /// 1-based line in the linted file (absent for keys that come from includes).
    pub line: Option<usize>,
    /// GitLab's message text.
    pub message: String,
}

impl fmt::Display for LintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Reads included files from a directory (what `lint_str` uses next to the linted file).
pub struct DirFiles(pub PathBuf);

impl FileSource for DirFiles {
    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.0.join(path)).ok()
    }
}

/// Lints `yaml` as GitLab does. `file_name` locates `include: local` files (its directory is
/// the repository root).
///
/// Entry errors come first (all of them, like GitLab's CI Lint); if there are none, the logical
/// checks run. GitLab stops at the first failing job of the logical checks; this reports every
/// failing job (each message worded exactly like GitLab's) so one run shows all fixes needed.
pub fn lint_str(yaml: &str, file_name: &str) -> Result<CiConfig, Vec<LintError>> {
    let dir = Path::new(file_name)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    load(yaml, &DirFiles(dir))
}

/// The configuration after composition — `include:` merged in, `!reference` and `extends`
/// resolved — as one mapping: what GitLab's lint calls the merged YAML.
pub fn compose(yaml: &str, files: &dyn FileSource) -> Result<Value, Vec<LintError>> {
    if yaml.trim().is_empty() {
        return Err(vec![LintError {
            line: None,
            message: "Please provide content of .gitlab-ci.yml".into(),
        }]);
    }
    let root = yaml::parse(yaml).map_err(|e| vec![e])?;
    if !matches!(root, Value::Mapping(_)) {
        return Err(invalid_format());
    }
    let root = expand::apply_includes(root, files, 0).map_err(|e| vec![e])?;
    let root = expand::resolve_references(&root).map_err(|e| vec![e])?;
    let root = expand::apply_extends(root).map_err(|e| vec![e])?;
    match root {
        Value::Mapping(_) => Ok(root),
        _ => Err(invalid_format()),
    }
}

fn invalid_format() -> Vec<LintError> {
    vec![LintError {
        line: None,
        message: "Invalid configuration format".into(),
    }]
}

/// Loads and validates a config whose includes come from `files`.
pub fn load(yaml: &str, files: &dyn FileSource) -> Result<CiConfig, Vec<LintError>> {
    let index = yaml::LineIndex::build(yaml);
    let Value::Mapping(map) = compose(yaml, files)? else {
        return Err(invalid_format());
    };
    let mut errors = entries::Errors { list: Vec::new() };
    let config = validate::check(&map, &mut errors);
    if errors.list.is_empty() {
        logic::logical(&config, &mut errors);
    }
    if errors.list.is_empty() {
        return Ok(config);
    }
    Err(errors
        .list
        .into_iter()
        .map(|(path, message)| {
            let parts: Vec<&str> = path.iter().map(String::as_str).collect();
            LintError {
                line: if parts.is_empty() {
                    None
                } else {
                    index.find(&parts)
                },
                message,
            }
        })
        .collect())
}
