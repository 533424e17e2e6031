//! The tutorial's values through chart 0.14.0 and the current chart, rendered by Helm: the objects
//! helm-chart.md lists, pinned by insta snapshots, plus the facts the runner relies on; and the
//! chart directory Helm is given.

mod common;

use common::{helm, read_tutorial};
use harness_chart::{ChartVersion, RenderOptions, Rendered, ValuesInput, render};
use serde_json::Value;

/// The tutorial's values.yaml rendered with `options`.
fn render_values(options: &RenderOptions) -> Rendered {
    let text = read_tutorial("values.yaml");
    render(&helm(), &ValuesInput::yaml(&text, "values.yaml"), options).unwrap()
}

/// The tutorial's install: its values on `chart` (0.14.0 with its configmap patch), with or
/// without RBAC objects.
fn tutorial(chart: ChartVersion, rbac: bool) -> Rendered {
    let mut options = RenderOptions {
        chart: chart.clone(),
        apply_tutorial_patch: chart == ChartVersion::V0_14_0,
        ..RenderOptions::tutorial()
    };
    if !rbac {
        options.set.push(("rbac.create".into(), "false".into()));
    }
    render_values(&options)
}

fn names(r: &Rendered) -> Vec<String> {
    r.kinds_and_names()
        .into_iter()
        .map(|(k, n)| format!("{k}/{n}"))
        .collect()
}

#[test]
fn chart_0_14_0_renders_six_objects() {
    let r = tutorial(ChartVersion::V0_14_0, true);
    let n = "gitlab-runner-gitlab-runner";
    assert_eq!(
        names(&r),
        [
            format!("ServiceAccount/{n}"),
            format!("Secret/{n}"),
            format!("ConfigMap/{n}"),
            format!("Role/{n}"),
            format!("RoleBinding/{n}"),
            format!("Deployment/{n}"),
        ]
    );
    for o in &r.objects {
        let labels = &o["metadata"]["labels"];
        assert_eq!(labels["app"], n);
        assert_eq!(labels["chart"], "gitlab-runner-0.14.0");
        assert_eq!(labels["release"], "gitlab-runner");
        assert_eq!(labels["heritage"], "Helm");
        assert!(
            o["metadata"].get("namespace").is_none(),
            "0.14.0 sets no namespace"
        );
    }
    let pod = &r.first("Deployment").unwrap()["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], n);
    assert_eq!(
        pod["securityContext"],
        serde_json::json!({"runAsUser": 100, "fsGroup": 65533})
    );
    assert_eq!(pod["initContainers"][0]["name"], "configure");
    let data = &r.first("ConfigMap").unwrap()["data"];
    let keys: Vec<&String> = data.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "check-live",
            "config.toml",
            "configure",
            "entrypoint",
            "register-the-runner"
        ]
    );
    let secret = &r.first("Secret").unwrap()["data"];
    assert_eq!(
        secret["runner-registration-token"],
        "bm54eHh4eHh4eHh4eHh4eHhT"
    );
    assert_eq!(secret["runner-token"], "");
}

/// helm-chart.md §2.4: with `rbac.create: false` the chart renders ConfigMap, Deployment and
/// Secret; the article's Helm 2 RESOURCES list shows a fourth entry, the Pod the Deployment made.
#[test]
fn chart_0_14_0_without_rbac_renders_three_objects_and_uses_sa_gitlab() {
    let r = tutorial(ChartVersion::V0_14_0, false);
    let n = "gitlab-runner-gitlab-runner";
    assert_eq!(
        names(&r),
        [
            format!("Secret/{n}"),
            format!("ConfigMap/{n}"),
            format!("Deployment/{n}")
        ]
    );
    let pod = &r.first("Deployment").unwrap()["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "gitlab");
}

#[test]
fn current_chart_renames_and_namespaces_everything() {
    let r = tutorial(ChartVersion::Current, true);
    assert_eq!(
        names(&r),
        [
            "ServiceAccount/gitlab-runner",
            "Secret/gitlab-runner",
            "ConfigMap/gitlab-runner",
            "Role/gitlab-runner",
            "RoleBinding/gitlab-runner",
            "Deployment/gitlab-runner",
        ]
    );
    for o in &r.objects {
        assert_eq!(o["metadata"]["namespace"], "gitlab-runners");
        assert_eq!(o["metadata"]["labels"]["chart"], "gitlab-runner-0.86.0");
    }
    let container = &r.first("Deployment").unwrap()["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["image"],
        "registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.9.0"
    );
    // The tutorial's securityContext lands on the container, fsGroup included (invalid there).
    assert_eq!(container["securityContext"]["fsGroup"], 65533);
    let template = r.config_map_data("config.template.toml").unwrap();
    assert!(template.contains("image = \"alpine\""), "{template}");
    assert!(
        !template.contains("ubuntu"),
        "runners.image is ignored by the current chart"
    );
    let r = tutorial(ChartVersion::Current, false);
    assert_eq!(r.objects.len(), 3);
}

#[test]
fn tutorial_patch_appends_volumes_after_registration() {
    let r = tutorial(ChartVersion::V0_14_0, true);
    let entrypoint = r.config_map_data("entrypoint").unwrap();
    // The tutorial's block with its two value references rendered from its values.yaml.
    let block = read_tutorial("configmap-patch.sh")
        .replace("{{.Values.maven.cache.pvcName}}", "gitlab-runner-pvc")
        .replace("{{.Values.maven.cache.mountPath}}", "/home/cache/maven");
    assert!(
        !block.contains("{{"),
        "unrendered reference left in {block}"
    );
    let expected = format!(
        "if ! sh /scripts/register-the-runner; then\n  exit 1\nfi\n{block}\n# Start the runner\n"
    );
    assert!(entrypoint.contains(&expected), "{entrypoint}");
    // Registration runs before the append, the runner starts after it.
    let reg = entrypoint.find("register-the-runner").unwrap();
    let cat = entrypoint.find("cat >>").unwrap();
    let run = entrypoint.find("exec /entrypoint run").unwrap();
    assert!(reg < cat && cat < run);
}

#[test]
fn config_toml_and_env_the_runner_reads() {
    let r = tutorial(ChartVersion::V0_14_0, true);
    assert_eq!(
        r.config_map_data("config.toml").unwrap(),
        "concurrent = 10\ncheck_interval = 30\nlog_level = \"info\"\nlisten_address = '[::]:9252'\n"
    );
    let env = r.runner_env();
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("CI_SERVER_URL"), Some("http://43.xx.xx.xx/"));
    assert_eq!(get("RUNNER_EXECUTOR"), Some("kubernetes"));
    assert_eq!(get("RUNNER_TAG_LIST"), Some("gitlab-runner"));
    assert_eq!(get("RUNNER_OUTPUT_LIMIT"), Some("4096"));
    assert_eq!(get("KUBERNETES_IMAGE"), Some("ubuntu:16.04"));
    assert_eq!(get("KUBERNETES_PRIVILEGED"), Some("true"));
    assert_eq!(get("KUBERNETES_NAMESPACE"), Some("gitlab-runners"));
    assert_eq!(get("KUBERNETES_POLL_TIMEOUT"), Some("180"));
    assert_eq!(get("KUBERNETES_SERVICE_ACCOUNT"), Some("gitlab"));
    assert_eq!(get("KUBERNETES_PULL_POLICY"), Some("if-not-present"));
    assert_eq!(get("RUNNER_REQUEST_CONCURRENCY"), Some("1"));
    assert_eq!(get("REGISTER_LOCKED"), Some("true"));
}

#[test]
fn set_overrides_values_with_helm_typing() {
    let options = RenderOptions::tutorial()
        .with_set_arg("concurrent=4")
        .unwrap()
        .with_set_arg("runners.tags=a\\,b")
        .unwrap();
    let r = render_values(&options);
    assert!(
        r.config_map_data("config.toml")
            .unwrap()
            .starts_with("concurrent = 4\n")
    );
    assert!(
        r.runner_env()
            .contains(&("RUNNER_TAG_LIST".into(), "a,b".into()))
    );
}

fn snapshot_objects(r: &Rendered) -> Vec<Value> {
    r.objects.clone()
}

#[test]
fn snapshot_0_14_0_rbac() {
    insta::assert_yaml_snapshot!(snapshot_objects(&tutorial(ChartVersion::V0_14_0, true)));
}

#[test]
fn snapshot_0_14_0_no_rbac() {
    insta::assert_yaml_snapshot!(snapshot_objects(&tutorial(ChartVersion::V0_14_0, false)));
}

#[test]
fn snapshot_current_rbac() {
    insta::assert_yaml_snapshot!(snapshot_objects(&tutorial(ChartVersion::Current, true)));
}

#[test]
fn snapshot_current_no_rbac() {
    insta::assert_yaml_snapshot!(snapshot_objects(&tutorial(ChartVersion::Current, false)));
}

#[test]
fn chart_directory_renders_like_the_embedded_chart() {
    let dir = tempfile::tempdir().unwrap();
    ChartVersion::Current
        .load()
        .unwrap()
        .write_to(dir.path())
        .unwrap();
    let chart: ChartVersion = dir.path().to_str().unwrap().parse().unwrap();
    assert!(matches!(chart, ChartVersion::Path(_)));
    let from_dir = render_values(&RenderOptions {
        chart,
        ..Default::default()
    });
    let embedded = render_values(&RenderOptions {
        chart: ChartVersion::Current,
        ..Default::default()
    });
    assert_eq!(from_dir.yaml, embedded.yaml);
}

#[test]
fn embedded_patch_is_the_tutorials_block() {
    assert_eq!(
        harness_chart::patch::TUTORIAL_PATCH,
        read_tutorial("configmap-patch.sh")
    );
}

/// Every file of the materialised chart is the kept upstream file, byte for byte; with the
/// tutorial's patch only `templates/configmap.yaml` differs, by the article's block after the
/// registration `fi` (line 43), indented into the block scalar.
#[test]
fn materialised_chart_is_the_upstream_files_plus_the_tutorials_edit() {
    let kept = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/0.14.0");
    let files = |root: &std::path::Path| -> Vec<(String, Vec<u8>)> {
        let mut out = vec![];
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path.strip_prefix(root).unwrap().display().to_string();
                    out.push((rel, std::fs::read(&path).unwrap()));
                }
            }
        }
        out.sort();
        out
    };
    let scratch = tempfile::tempdir().unwrap();
    let plain = ChartVersion::V0_14_0
        .materialise(&scratch.path().join("plain"), false)
        .unwrap();
    assert!(plain.ends_with("gitlab-runner"), "{}", plain.display());
    assert_eq!(files(&plain), files(&kept));

    let patched = ChartVersion::V0_14_0
        .materialise(&scratch.path().join("patched"), true)
        .unwrap();
    let (kept_files, patched_files) = (files(&kept), files(&patched));
    for ((name, kept), (patched_name, patched)) in kept_files.iter().zip(&patched_files) {
        assert_eq!(name, patched_name);
        if name != "templates/configmap.yaml" {
            assert_eq!(kept, patched, "{name} changed");
        }
    }
    let original = std::fs::read_to_string(kept.join("templates/configmap.yaml")).unwrap();
    let edited = std::fs::read_to_string(patched.join("templates/configmap.yaml")).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    assert_eq!(lines[42], "    fi", "line 43 of 0.14.0's configmap.yaml");
    let block: String = read_tutorial("configmap-patch.sh")
        .lines()
        .map(|l| {
            if l.trim().is_empty() {
                "\n".to_string()
            } else {
                format!("    {l}\n")
            }
        })
        .collect();
    let expected = format!(
        "{}\n{block}{}\n",
        lines[..43].join("\n"),
        lines[43..].join("\n")
    );
    assert_eq!(edited, expected);
}
