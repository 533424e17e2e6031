//! `render`: the harness's checks of the values, then `helm template` of the materialised chart,
//! read back into objects.

use std::path::Path;

use serde_json::{Map, Value};

use crate::chart::ChartVersion;
use crate::error::{ChartError, Result};
use crate::helm::{Helm, TemplateArgs};
use crate::manifest::{self, Manifest};
use crate::validate::{self, Origin};
use crate::values::{apply_set, coalesce, merge_into, parse_values_yaml};

/// How to render, with the flags `helm template` users know.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Which chart (`--chart 0.14.0|current|PATH`).
    pub chart: ChartVersion,
    /// Release name (Helm's positional NAME); the tutorial's is `gitlab-runner`.
    pub release_name: String,
    /// `--namespace`.
    pub namespace: String,
    /// `--set key=value` pairs, applied in order with Helm's strvals syntax.
    pub set: Vec<(String, String)>,
    /// Apply the tutorial's edit of `templates/configmap.yaml` before rendering.
    pub apply_tutorial_patch: bool,
    /// Refuse values that cannot give a working runner (no URL, no token, wrong types).
    /// `false` renders whatever the chart renders, like `helm template`.
    pub validate: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            chart: ChartVersion::V0_14_0,
            release_name: "gitlab-runner".into(),
            namespace: "default".into(),
            set: Vec::new(),
            apply_tutorial_patch: false,
            validate: true,
        }
    }
}

impl RenderOptions {
    /// The tutorial's install: chart 0.14.0, release `gitlab-runner`, namespace
    /// `gitlab-runners`, with its configmap patch.
    pub fn tutorial() -> Self {
        RenderOptions {
            namespace: "gitlab-runners".into(),
            apply_tutorial_patch: true,
            ..Default::default()
        }
    }

    /// Adds a `--set key=value` (the CLI's `KEY=VALUE` argument split at the first `=`).
    pub fn with_set_arg(mut self, arg: &str) -> Result<Self> {
        let (k, v) = arg.split_once('=').ok_or_else(|| ChartError::BadSet {
            expression: arg.into(),
            problem: "no `=`".into(),
            fix: "write --set key=value".into(),
        })?;
        self.set.push((k.into(), v.into()));
        Ok(self)
    }
}

/// Values to render: YAML text (with the file name for messages) or an already parsed map.
#[derive(Debug, Clone)]
pub enum ValuesInput<'a> {
    /// A values document and where it came from.
    Yaml {
        /// The YAML text.
        text: &'a str,
        /// File name for messages.
        file: &'a str,
    },
    /// Parsed values (numbers as Helm reads them: float64 from files, int64 from `--set`).
    Map(Map<String, Value>),
}

impl ValuesInput<'_> {
    /// The values as the user wrote them (without chart defaults or `--set`) and the file name
    /// for messages.
    pub(crate) fn user_values(&self) -> Result<(Map<String, Value>, String)> {
        Ok(match self {
            ValuesInput::Yaml { text, file } => (parse_values_yaml(text, file)?, file.to_string()),
            ValuesInput::Map(m) => (m.clone(), "<values>".into()),
        })
    }

    /// The text Helm is given with `-f`: the file's own text, or the map as JSON (which is YAML).
    fn helm_text(&self) -> String {
        match self {
            ValuesInput::Yaml { text, .. } => text.to_string(),
            ValuesInput::Map(m) => Value::Object(m.clone()).to_string(),
        }
    }
}

impl<'a> ValuesInput<'a> {
    /// YAML text read from `file`.
    pub fn yaml(text: &'a str, file: &'a str) -> Self {
        ValuesInput::Yaml { text, file }
    }
}

/// What a render produced.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The objects, parsed, in Helm's install order.
    pub objects: Vec<Value>,
    /// The same objects with their source template and exact text.
    pub manifests: Vec<Manifest>,
    /// What `helm template` printed.
    pub yaml: String,
    /// The harness's remarks on the values (keys the chart ignores).
    pub warnings: Vec<String>,
}

impl Rendered {
    /// The object of `kind` named `name`.
    pub fn object(&self, kind: &str, name: &str) -> Option<&Value> {
        self.manifests
            .iter()
            .find(|m| m.kind() == kind && m.name() == name)
            .map(|m| &m.object)
    }

    /// The first object of `kind`.
    pub fn first(&self, kind: &str) -> Option<&Value> {
        self.manifests
            .iter()
            .find(|m| m.kind() == kind)
            .map(|m| &m.object)
    }

    /// `data.<key>` of the chart's ConfigMap (the scripts and `config.toml` the runner runs).
    pub fn config_map_data(&self, key: &str) -> Option<&str> {
        self.first("ConfigMap")?.get("data")?.get(key)?.as_str()
    }

    /// `env` of the runner container of the chart's Deployment as (name, value) pairs; entries
    /// with `valueFrom` (no literal value) give an empty value.
    pub fn runner_env(&self) -> Vec<(String, String)> {
        let Some(container) = self
            .first("Deployment")
            .and_then(|d| d.pointer("/spec/template/spec/containers/0"))
        else {
            return Vec::new();
        };
        container
            .get("env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let name = e.get("name")?.as_str()?.to_string();
                let value = match e.get("value") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                Some((name, value))
            })
            .collect()
    }

    /// (kind, name) of every object, in order.
    pub fn kinds_and_names(&self) -> Vec<(String, String)> {
        self.manifests
            .iter()
            .map(|m| (m.kind().to_string(), m.name().to_string()))
            .collect()
    }
}

/// What the harness found in the values before Helm sees them.
#[derive(Debug, Clone)]
pub struct CheckedValues {
    /// Keys the chart ignores, and other mistakes that do not stop an install.
    pub warnings: Vec<String>,
}

/// The harness's own checks of `values` for the chart and options, run before Helm: with
/// `options.validate`, values that cannot give a working runner are errors naming the file, the
/// field and the fix (Helm would render and install them); keys the chart ignores are warnings.
pub fn check_values(values: &ValuesInput<'_>, options: &RenderOptions) -> Result<CheckedValues> {
    let (user, file) = values.user_values()?;
    let chart = options.chart.load()?;
    let defaults = parse_values_yaml(&chart.values_yaml, &format!("{}/values.yaml", chart.origin))?;
    let mut merged = user.clone();
    let mut set_values = Map::new();
    for (key, value) in &options.set {
        apply_set(&mut set_values, &format!("{key}={value}"))?;
    }
    merge_into(&mut merged, set_values);
    let coalesced = coalesce(&defaults, &merged);
    let origin = Origin {
        file: &file,
        user: &user,
    };
    if options.validate {
        validate::check_types(&defaults, &merged, &origin, chart.version())?;
        validate::check_required(&coalesced, &origin)?;
        if options.apply_tutorial_patch {
            validate::check_patch_values(&coalesced, &origin)?;
        }
    }
    let warnings = validate::unknown_keys(&chart, &defaults, &merged)
        .into_iter()
        .filter(|k| !(options.apply_tutorial_patch && k == "maven"))
        .map(|k| {
            format!(
                "{file}: `{k}` is not a value of chart {}; Helm ignores it",
                chart.version()
            )
        })
        .collect();
    Ok(CheckedValues { warnings })
}

/// Renders the chart with `values` and `options`: the harness's checks ([`check_values`]), then
/// `helm template` of the chart materialised in a scratch directory (with the tutorial's patch
/// when asked), read back into objects.
pub fn render(helm: &Helm, values: &ValuesInput<'_>, options: &RenderOptions) -> Result<Rendered> {
    let checked = check_values(values, options)?;
    let scratch = tempfile::tempdir().map_err(|source| ChartError::Read {
        path: std::env::temp_dir(),
        source,
    })?;
    let chart_dir = options
        .chart
        .materialise(scratch.path(), options.apply_tutorial_patch)?;
    let values_file = scratch.path().join("values.yaml");
    std::fs::write(&values_file, values.helm_text()).map_err(|source| ChartError::Read {
        path: values_file.clone(),
        source,
    })?;
    let yaml = helm.template(
        &scratch.path().join("helm"),
        &TemplateArgs {
            release: &options.release_name,
            chart_dir: &chart_dir,
            namespace: &options.namespace,
            values_file: &values_file,
            set: &options.set,
        },
    )?;
    let manifests = manifest::parse_stream(&yaml)?;
    Ok(Rendered {
        objects: manifests.iter().map(|m| m.object.clone()).collect(),
        manifests,
        yaml,
        warnings: checked.warnings,
    })
}

/// For the CLI: renders the values file at `path`.
pub fn render_file(helm: &Helm, path: &Path, options: &RenderOptions) -> Result<Rendered> {
    let text = std::fs::read_to_string(path).map_err(|source| ChartError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file = path.display().to_string();
    render(helm, &ValuesInput::yaml(&text, &file), options)
}
