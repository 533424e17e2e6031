//! Chart sources: the versions embedded from `charts/<version>/` and chart directories on disk,
//! and their materialisation as a directory Helm reads.

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

    /// Writes this chart as an unpacked chart directory `dir/<chart name>` and returns it, for
    /// Helm to render or install: the files exactly as kept, with the tutorial's edit of
    /// `templates/configmap.yaml` (see [`crate::patch`]) when `tutorial_patch` is set. A directory
    /// left there by an earlier call is replaced.
    pub fn materialise(&self, dir: &Path, tutorial_patch: bool) -> Result<PathBuf> {
        let mut chart = self.load()?;
        if tutorial_patch {
            crate::patch::apply(&mut chart, crate::patch::TUTORIAL_PATCH)?;
        }
        let root = dir.join(chart.name());
        if root.exists() {
            std::fs::remove_dir_all(&root).map_err(|source| ChartError::Read {
                path: root.clone(),
                source,
            })?;
        }
        chart.write_to(&root)?;
        Ok(root)
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
                    files
                        .iter()
                        .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())),
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

/// The files of one chart: metadata, default values, templates and the rest (LICENSE, …), so the
/// chart can be written out unchanged for Helm and checked by the harness.
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
    /// Every other file (LICENSE, README, schema): (path relative to the chart root, bytes).
    pub other_files: Vec<(String, Vec<u8>)>,
}

impl ChartFiles {
    fn from_pairs(origin: &str, files: impl Iterator<Item = (String, Vec<u8>)>) -> Result<Self> {
        let mut chart_yaml = None;
        let mut values_yaml = String::new();
        let mut templates = Vec::new();
        let mut other_files = Vec::new();
        let text = |path: &str, bytes: Vec<u8>| {
            String::from_utf8(bytes).map_err(|_| ChartError::Chart {
                chart: origin.into(),
                problem: format!("{path} is not UTF-8 text"),
                fix: "save the file as UTF-8".into(),
            })
        };
        for (path, bytes) in files {
            match path.as_str() {
                "Chart.yaml" => chart_yaml = Some(text(&path, bytes)?),
                "values.yaml" => values_yaml = text(&path, bytes)?,
                p if p.starts_with("templates/") => {
                    let t = text(&path, bytes)?;
                    templates.push((path, t));
                }
                _ => other_files.push((path, bytes)),
            }
        }
        templates.sort();
        other_files.sort();
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
            other_files,
        })
    }

    /// Reads an unpacked chart directory (every file under it).
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let read_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ChartError::Read { path, source }
        };
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).map_err(read_err(&d))? {
                let path = entry.map_err(read_err(&d))?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(rel) = path.strip_prefix(dir) {
                    let bytes = std::fs::read(&path).map_err(read_err(&path))?;
                    files.push((rel.to_string_lossy().replace('\\', "/"), bytes));
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

    /// Writes the chart as an unpacked chart directory at `dir`: every file as loaded, so Helm
    /// reads the chart exactly as kept (plus any edit made through [`ChartFiles::template_mut`]).
    pub fn write_to(&self, dir: &Path) -> Result<()> {
        let write = |rel: &str, bytes: &[u8]| -> Result<()> {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| ChartError::Read {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            std::fs::write(&path, bytes).map_err(|source| ChartError::Read { path, source })
        };
        write("Chart.yaml", self.chart_yaml.as_bytes())?;
        write("values.yaml", self.values_yaml.as_bytes())?;
        for (rel, text) in &self.templates {
            write(rel, text.as_bytes())?;
        }
        for (rel, bytes) in &self.other_files {
            write(rel, bytes)?;
        }
        Ok(())
    }

    /// The text of one template, to edit it (the tutorial's patch edits `configmap.yaml`).
    pub fn template_mut(&mut self, path: &str) -> Option<&mut String> {
        self.templates
            .iter_mut()
            .find(|(p, _)| p == path)
            .map(|(_, t)| t)
    }
}
