//! `render`: values + options → the chart's objects and the YAML `helm template` prints.

use std::path::Path;

use serde_json::{Map, Value};

use crate::chart::ChartVersion;
use crate::engine::{self, ReleaseInfo};
use crate::error::{ChartError, Result};
use crate::manifest::{self, Manifest};
use crate::patch;
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
    /// `.Release.Service`: `Helm` (Helm 3/4, default) or `Tiller` (Helm 2, as the tutorial ran).
    pub release_service: String,
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
            release_service: "Helm".into(),
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
    /// Multi-document YAML as `helm template` prints it.
    pub yaml: String,
    /// The rendered NOTES.txt (Helm prints it after an install).
    pub notes: String,
    /// Non-fatal remarks (keys the chart ignores).
    pub warnings: Vec<String>,
    /// The coalesced values the templates saw.
    pub values: Map<String, Value>,
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

/// Renders the chart with `values` and `options`: Helm's value coalescing (chart defaults, then
/// the values, then `--set`), the chart's templates, Helm's document order.
pub fn render(values: &ValuesInput<'_>, options: &RenderOptions) -> Result<Rendered> {
    let (user, file) = match values {
        ValuesInput::Yaml { text, file } => (parse_values_yaml(text, file)?, file.to_string()),
        ValuesInput::Map(m) => (m.clone(), "<values>".to_string()),
    };
    let mut chart = options.chart.load()?;
    let defaults = parse_values_yaml(&chart.values_yaml, &format!("{}/values.yaml", chart.origin))?;
    let mut merged = user.clone();
    let mut set_values = Map::new();
    for (key, value) in &options.set {
        apply_set(&mut set_values, &format!("{key}={value}"))?;
    }
    merge_into(&mut merged, set_values);
    let values = coalesce(&defaults, &merged);
    let origin = Origin {
        file: &file,
        user: &user,
    };
    if options.validate {
        validate::check_types(&defaults, &merged, &origin, chart.version())?;
        validate::check_required(&values, &origin)?;
        if options.apply_tutorial_patch {
            validate::check_patch_values(&values, &origin)?;
        }
    }
    if options.apply_tutorial_patch {
        patch::apply(&mut chart, patch::TUTORIAL_PATCH)?;
    }
    let mut warnings: Vec<String> = validate::unknown_keys(&chart, &defaults, &merged)
        .into_iter()
        .filter(|k| !(options.apply_tutorial_patch && k == "maven"))
        .map(|k| {
            format!(
                "{file}: `{k}` is not a value of chart {}; Helm ignores it",
                chart.version()
            )
        })
        .collect();
    let release = ReleaseInfo {
        name: options.release_name.clone(),
        namespace: options.namespace.clone(),
        service: options.release_service.clone(),
        ..ReleaseInfo::default()
    };
    let files = engine::render(&chart, &values, &release).map_err(|e| ChartError::Template {
        file: file.clone(),
        template: e.template.clone(),
        message: e.message.clone(),
        fix: template_fix(&e.message),
    })?;
    let manifests = manifest::collect(&files.manifests)?;
    for w in &warnings {
        tracing::warn!("{w}");
    }
    warnings.shrink_to_fit();
    Ok(Rendered {
        objects: manifests.iter().map(|m| m.object.clone()).collect(),
        yaml: manifest::to_stream(&manifests),
        manifests,
        notes: files.notes,
        warnings,
        values,
    })
}

fn template_fix(message: &str) -> String {
    if let Some(rest) = message.split("can't evaluate field ").nth(1) {
        let field = rest.split_whitespace().next().unwrap_or_default();
        return format!(
            "a value the template reads `.{field}` from is not a map; check the values around `{field}` against the chart's values.yaml"
        );
    }
    "check the values this template uses against the chart's values.yaml".into()
}

/// For the CLI: renders the values file at `path` and returns the YAML `helm template` prints.
pub fn render_file(path: &Path, options: &RenderOptions) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|source| ChartError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file = path.display().to_string();
    Ok(render(&ValuesInput::yaml(&text, &file), options)?.yaml)
}
