//! Chart sources: the versions embedded from `charts/<version>/` and chart directories on disk.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{ChartError, Result};

include!(concat!(env!("OUT_DIR"), "/embedded_charts.rs"));

/// The chart version the tutorial installs (appVersion 12.8.0).
pub const TUTORIAL_VERSION: &str = "0.14.0";
/// The newest upstream chart kept here (appVersion 18.9.0).
pub const CURRENT_VERSION: &str = "0.86.0";

/// Which gitlab-runner chart to render: one of the embedded versions or a chart directory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ChartVersion {
    /// Chart 0.14.0, the one the tutorial installs.
    #[default]
    V0_14_0,
    /// The newest chart kept here (0.86.0).
    Current,
    /// Any other version embedded under `charts/<version>/`.
    Embedded(String),
    /// An unpacked chart directory (with `Chart.yaml`, `values.yaml`, `templates/`).
    Path(PathBuf),
}

impl ChartVersion {
    /// The version string for embedded charts; `None` for a directory.
    pub fn version(&self) -> Option<&str> {
        match self {
            ChartVersion::V0_14_0 => Some(TUTORIAL_VERSION),
            ChartVersion::Current => Some(CURRENT_VERSION),
            ChartVersion::Embedded(v) => Some(v),
            ChartVersion::Path(_) => None,
        }
    }

    /// Every chart version embedded in this library.
    pub fn embedded_versions() -> Vec<&'static str> {
        EMBEDDED.iter().map(|(v, _)| *v).collect()
    }

    /// Loads the chart's files.
    pub fn load(&self) -> Result<ChartFiles> {
        match self {
            ChartVersion::Path(dir) => ChartFiles::from_dir(dir),
            other => {
                let version = other.version().unwrap_or_default();
                let files = EMBEDDED
                    .iter()
                    .find(|(v, _)| *v == version)
                    .map(|(_, f)| *f)
                    .ok_or_else(|| ChartError::Chart {
                        chart: version.to_string(),
                        problem: "this chart version is not embedded".into(),
                        fix: format!(
                            "use one of {} or pass a chart directory",
                            Self::embedded_versions().join(", ")
                        ),
                    })?;
                ChartFiles::from_pairs(
                    version,
                    files.iter().map(|(p, t)| (p.to_string(), t.to_string())),
                )
            }
        }
    }
}

impl fmt::Display for ChartVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChartVersion::Path(p) => write!(f, "{}", p.display()),
            other => f.write_str(other.version().unwrap_or_default()),
        }
    }
}

impl FromStr for ChartVersion {
    type Err = ChartError;

    /// `0.14.0`, `current`, `0.86.0`, another embedded version, or a directory path.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "0.14.0" | "v0.14.0" => Ok(ChartVersion::V0_14_0),
            "current" | "latest" | "0.86.0" | "v0.86.0" => Ok(ChartVersion::Current),
            v if EMBEDDED.iter().any(|(e, _)| *e == v) => Ok(ChartVersion::Embedded(v.into())),
            path if Path::new(path).join("Chart.yaml").is_file() => {
                Ok(ChartVersion::Path(PathBuf::from(path)))
            }
            other => Err(ChartError::Chart {
                chart: other.into(),
                problem: "neither an embedded chart version nor a chart directory with Chart.yaml"
                    .into(),
                fix: format!(
                    "use --chart {} | current | PATH-TO-UNPACKED-CHART",
                    Self::embedded_versions().join(" | ")
                ),
            }),
        }
    }
}

/// The files of one chart: metadata, default values and templates.
#[derive(Debug, Clone)]
pub struct ChartFiles {
    /// Where it came from (version or directory), for messages.
    pub origin: String,
    /// `Chart.yaml` text.
    pub chart_yaml: String,
    /// `Chart.yaml` parsed.
    pub metadata: serde_json::Value,
    /// `values.yaml` text (the chart defaults).
    pub values_yaml: String,
    /// `templates/...` files: (path relative to the chart root, text), sorted by path.
    pub templates: Vec<(String, String)>,
}

impl ChartFiles {
    fn from_pairs(origin: &str, files: impl Iterator<Item = (String, String)>) -> Result<Self> {
        let mut chart_yaml = None;
        let mut values_yaml = String::new();
        let mut templates = Vec::new();
        for (path, text) in files {
            match path.as_str() {
                "Chart.yaml" => chart_yaml = Some(text),
                "values.yaml" => values_yaml = text,
                p if p.starts_with("templates/") => templates.push((path, text)),
                _ => {}
            }
        }
        templates.sort();
        let chart_yaml = chart_yaml.ok_or_else(|| ChartError::Chart {
            chart: origin.into(),
            problem: "no Chart.yaml".into(),
            fix: "point --chart at the unpacked chart's root directory".into(),
        })?;
        let metadata: serde_json::Value =
            serde_norway::from_str(&chart_yaml).map_err(|e| ChartError::Chart {
                chart: origin.into(),
                problem: format!("Chart.yaml is not valid YAML: {e}"),
                fix: "repair Chart.yaml".into(),
            })?;
        if metadata.get("name").and_then(|v| v.as_str()).is_none() {
            return Err(ChartError::Chart {
                chart: origin.into(),
                problem: "Chart.yaml has no `name`".into(),
                fix: "add `name: gitlab-runner` to Chart.yaml".into(),
            });
        }
        Ok(ChartFiles {
            origin: origin.into(),
            chart_yaml,
            metadata,
            values_yaml,
            templates,
        })
    }

    /// Reads an unpacked chart directory.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let mut files = Vec::new();
        for name in ["Chart.yaml", "values.yaml"] {
            let path = dir.join(name);
            if path.is_file() {
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| ChartError::Read { path, source })?;
                files.push((name.to_string(), text));
            }
        }
        let tdir = dir.join("templates");
        let mut stack = vec![tdir.clone()];
        while let Some(d) = stack.pop() {
            let entries = std::fs::read_dir(&d).map_err(|source| ChartError::Read {
                path: d.clone(),
                source,
            })?;
            for entry in entries {
                let path = entry
                    .map_err(|source| ChartError::Read {
                        path: d.clone(),
                        source,
                    })?
                    .path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(rel) = path.strip_prefix(dir) {
                    let text =
                        std::fs::read_to_string(&path).map_err(|source| ChartError::Read {
                            path: path.clone(),
                            source,
                        })?;
                    files.push((rel.to_string_lossy().replace('\\', "/"), text));
                }
            }
        }
        Self::from_pairs(&dir.display().to_string(), files.into_iter())
    }

    /// `Chart.yaml` `name`.
    pub fn name(&self) -> &str {
        self.metadata
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or("gitlab-runner")
    }

    /// `Chart.yaml` `version`.
    pub fn version(&self) -> &str {
        self.metadata
            .get("version")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
    }

    /// `Chart.yaml` `appVersion`.
    pub fn app_version(&self) -> String {
        match self.metadata.get("appVersion") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        }
    }

    /// Writes the chart as an unpacked chart directory under `dir` (for `helm template` or a
    /// Helm SDK to render the same files).
    pub fn write_to(&self, dir: &Path) -> Result<()> {
        let write = |rel: &str, text: &str| -> Result<()> {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| ChartError::Read {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            std::fs::write(&path, text).map_err(|source| ChartError::Read { path, source })
        };
        write("Chart.yaml", &self.chart_yaml)?;
        write("values.yaml", &self.values_yaml)?;
        for (rel, text) in &self.templates {
            write(rel, text)?;
        }
        Ok(())
    }

    /// Replaces the text of one template (used to apply the tutorial's patch).
    pub fn template_mut(&mut self, path: &str) -> Option<&mut String> {
        self.templates
            .iter_mut()
            .find(|(p, _)| p == path)
            .map(|(_, t)| t)
    }
}
