//! A Helm-compatible template engine over the chart's own template files: Go text/template
//! (the `gotmpl` port) plus Helm's `include`/`tpl`/`required`/`fail`, the sprig functions the
//! charts use, and Helm's render context (`.Values`, `.Release`, `.Chart`, `.Capabilities`,
//! `.Template`).

pub mod convert;
pub mod funcs;
pub mod json;
pub mod yaml;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, Weak};

use gotmpl::parse::ListNode;
use gotmpl::{FuncMap, Template, TemplateError, Value};
use serde_json::{Map, Value as J};

use crate::chart::ChartFiles;
use convert::to_tmpl;

/// Release facts Helm puts into `.Release` and `.Capabilities`.
#[derive(Debug, Clone)]
pub struct ReleaseInfo {
    /// `.Release.Name`.
    pub name: String,
    /// `.Release.Namespace`.
    pub namespace: String,
    /// `.Release.Service`: `Helm` for Helm 3/4, `Tiller` for Helm 2.
    pub service: String,
    /// `.Capabilities.KubeVersion` as (major, minor).
    pub kube_version: (u32, u32),
    /// `.Capabilities.APIVersions` (group/version strings) that `.Capabilities.APIVersions.Has` knows.
    pub api_versions: Vec<String>,
}

impl Default for ReleaseInfo {
    fn default() -> Self {
        ReleaseInfo {
            name: "gitlab-runner".into(),
            namespace: "default".into(),
            service: "Helm".into(),
            kube_version: (1, 33),
            api_versions: default_api_versions(),
        }
    }
}

/// The built-in API group/versions of a Kubernetes 1.33 client, as `helm template` assumes them.
pub fn default_api_versions() -> Vec<String> {
    [
        "v1",
        "admissionregistration.k8s.io/v1",
        "apiextensions.k8s.io/v1",
        "apiregistration.k8s.io/v1",
        "apps/v1",
        "authentication.k8s.io/v1",
        "authorization.k8s.io/v1",
        "autoscaling/v1",
        "autoscaling/v2",
        "batch/v1",
        "certificates.k8s.io/v1",
        "coordination.k8s.io/v1",
        "discovery.k8s.io/v1",
        "events.k8s.io/v1",
        "flowcontrol.apiserver.k8s.io/v1",
        "networking.k8s.io/v1",
        "node.k8s.io/v1",
        "policy/v1",
        "rbac.authorization.k8s.io/v1",
        "scheduling.k8s.io/v1",
        "storage.k8s.io/v1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// What one chart render produced, per template file.
#[derive(Debug, Clone, Default)]
pub struct RenderedFiles {
    /// `<chart>/templates/<file>` → rendered text, for every non-partial template except NOTES.txt.
    pub manifests: BTreeMap<String, String>,
    /// The rendered NOTES.txt (empty if the chart has none).
    pub notes: String,
}

/// A template failed to parse or execute.
#[derive(Debug, Clone)]
pub struct EngineError {
    /// Template path (`gitlab-runner/templates/deployment.yaml`).
    pub template: String,
    /// The engine's message.
    pub message: String,
}

struct Set {
    master: Template,
    funcs: FuncMap,
    trees: Vec<(String, ListNode)>,
}

struct Shared {
    set: OnceLock<Set>,
}

fn exec_err(msg: String) -> TemplateError {
    TemplateError::Exec(msg)
}

/// Runs `f` on the template set `include` and `tpl` call back into, once it is built.
fn with_set<T>(
    shared: &Weak<Shared>,
    f: impl FnOnce(&Set) -> Result<T, TemplateError>,
) -> Result<T, TemplateError> {
    let shared = shared
        .upgrade()
        .ok_or_else(|| exec_err("template set gone".into()))?;
    let set = shared
        .set
        .get()
        .ok_or_else(|| exec_err("template set not ready".into()))?;
    f(set)
}

fn context_funcs(shared: Weak<Shared>, api_versions: Vec<String>) -> FuncMap {
    let mut funcs = funcs::sprig();
    let inc = shared.clone();
    funcs.insert(
        "include".into(),
        Arc::new(move |args: &[Value]| {
            let name = args
                .first()
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            let data = args.get(1).cloned().unwrap_or(Value::Nil);
            with_set(&inc, |set| {
                set.master
                    .execute_template_to_string(&name, &data)
                    .map(|s| Value::String(Arc::from(s.as_str())))
                    .map_err(|e| exec_err(format!("error calling include: {e}")))
            })
        }),
    );
    let tpl = shared;
    funcs.insert(
        "tpl".into(),
        Arc::new(move |args: &[Value]| {
            let text = match args.first() {
                Some(Value::Nil) | None => String::new(),
                Some(v) => convert::strval(v),
            };
            let data = args.get(1).cloned().unwrap_or(Value::Nil);
            let t = with_set(&tpl, |set| {
                let mut t = Template::new("gotpl").funcs(set.funcs.clone());
                for (name, tree) in &set.trees {
                    t = t.add_parse_tree(name, tree.clone());
                }
                Ok(t)
            })?;
            let t = t.parse(&rewrite_capabilities(&text)).map_err(|e| {
                exec_err(format!(
                    "error calling tpl: cannot parse template {text:?}: {e}"
                ))
            })?;
            let out = t.execute_to_string(&data).map_err(|e| {
                exec_err(format!("error calling tpl: error rendering template: {e}"))
            })?;
            Ok(Value::String(Arc::from(
                out.replace("<no value>", "").as_str(),
            )))
        }),
    );
    funcs.insert(
        "required".into(),
        Arc::new(|args: &[Value]| {
            let msg = args.first().map(convert::strval).unwrap_or_default();
            match args.get(1) {
                None | Some(Value::Nil) => Err(exec_err(msg)),
                Some(Value::String(s)) if s.is_empty() => Err(exec_err(msg)),
                Some(v) => Ok(v.clone()),
            }
        }),
    );
    funcs.insert(
        "fail".into(),
        Arc::new(|args: &[Value]| {
            Err(exec_err(
                args.first().map(convert::strval).unwrap_or_default(),
            ))
        }),
    );
    funcs.insert(
        CAPABILITIES_HAS.into(),
        Arc::new(move |args: &[Value]| {
            let want = args.first().map(convert::strval).unwrap_or_default();
            Ok(Value::Bool(api_versions.contains(&want)))
        }),
    );
    funcs
}

/// `.Capabilities.APIVersions.Has` is a Go method call; the port has no methods, so the chart
/// text calls an equivalent function instead.
const CAPABILITIES_HAS: &str = "capabilitiesAPIVersionsHas";

fn rewrite_capabilities(text: &str) -> String {
    text.replace("$.Capabilities.APIVersions.Has", CAPABILITIES_HAS)
        .replace(".Capabilities.APIVersions.Has", CAPABILITIES_HAS)
}

/// Go field names of `Chart.yaml` keys as Helm exposes them under `.Chart`.
fn chart_field(key: &str) -> String {
    match key {
        "apiVersion" => "APIVersion".into(),
        "appVersion" => "AppVersion".into(),
        "kubeVersion" => "KubeVersion".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    }
}

/// Renders every template of `chart` with the (already coalesced) `values`.
pub fn render(
    chart: &ChartFiles,
    values: &Map<String, J>,
    release: &ReleaseInfo,
) -> Result<RenderedFiles, EngineError> {
    let shared = Arc::new(Shared {
        set: OnceLock::new(),
    });
    let funcs = context_funcs(Arc::downgrade(&shared), release.api_versions.clone());
    let chart_name = chart.name().to_string();
    let mut trees: Vec<(String, ListNode)> = Vec::new();
    for (path, text) in &chart.templates {
        let name = format!("{chart_name}/{path}");
        let parsed = Template::new(&name)
            .funcs(funcs.clone())
            .parse(&rewrite_capabilities(text))
            .map_err(|e| EngineError {
                template: name.clone(),
                message: e.to_string(),
            })?;
        for define in parsed.templates() {
            if let Some(tree) = parsed.lookup(define) {
                trees.push((define.to_string(), tree.clone()));
            }
        }
    }
    let mut master = Template::new("").funcs(funcs.clone());
    for (name, tree) in &trees {
        master = master.add_parse_tree(name, tree.clone());
    }
    let _ = shared.set.set(Set {
        master,
        funcs,
        trees,
    });
    let Some(set) = shared.set.get() else {
        return Err(EngineError {
            template: chart_name,
            message: "template set could not be built".into(),
        });
    };

    let mut chart_map = Map::new();
    if let J::Object(meta) = &chart.metadata {
        for (k, v) in meta {
            chart_map.insert(chart_field(k), v.clone());
        }
    }
    chart_map.insert("AppVersion".into(), J::String(chart.app_version()));
    let base = serde_json::json!({
        "Values": J::Object(values.clone()),
        "Release": {
            "Name": release.name, "Namespace": release.namespace, "Service": release.service,
            "IsInstall": true, "IsUpgrade": false, "Revision": 1,
        },
        "Chart": J::Object(chart_map),
        "Capabilities": {
            "KubeVersion": {
                "Version": format!("v{}.{}.0", release.kube_version.0, release.kube_version.1),
                "GitVersion": format!("v{}.{}.0", release.kube_version.0, release.kube_version.1),
                "Major": release.kube_version.0.to_string(),
                "Minor": release.kube_version.1.to_string(),
            },
        },
        "Files": {},
    });

    let mut out = RenderedFiles::default();
    for (path, _) in &chart.templates {
        let file_name = path.rsplit('/').next().unwrap_or(path);
        if file_name.starts_with('_') {
            continue;
        }
        let name = format!("{chart_name}/{path}");
        if set.master.lookup(&name).is_none() {
            // A template with no content at all renders to nothing.
            continue;
        }
        let mut data = base.clone();
        data["Template"] = serde_json::json!({
            "Name": name, "BasePath": format!("{chart_name}/templates"),
        });
        let text = set
            .master
            .execute_template_to_string(&name, &to_tmpl(&data))
            .map_err(|e| EngineError {
                template: name.clone(),
                message: e.to_string(),
            })?
            .replace("<no value>", "");
        if file_name == "NOTES.txt" {
            out.notes = text;
        } else {
            out.manifests.insert(name, text);
        }
    }
    Ok(out)
}
