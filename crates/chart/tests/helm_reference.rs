//! Our rendering against Helm's own engine: byte for byte against stored reference renders, and
//! live against `helm template` or the Helm SDK where this machine has one.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{data, our_docs, read, reference_docs, tutorial};
use harness_chart::{ChartVersion, RenderOptions, ValuesInput, render};

struct Case {
    reference: &'static str,
    /// The values file: the tutorial's fixture or one of `tests/data/`.
    values: PathBuf,
    chart: ChartVersion,
    patch: bool,
    rbac_off: bool,
}

fn cases() -> Vec<Case> {
    let case = |reference, values: PathBuf, chart, patch, rbac_off| Case {
        reference,
        values,
        chart,
        patch,
        rbac_off,
    };
    vec![
        case(
            "tutorial-0.14.0",
            tutorial("values.yaml"),
            ChartVersion::V0_14_0,
            false,
            false,
        ),
        case(
            "tutorial-0.14.0-patched",
            tutorial("values.yaml"),
            ChartVersion::V0_14_0,
            true,
            false,
        ),
        case(
            "tutorial-0.14.0-norbac",
            tutorial("values.yaml"),
            ChartVersion::V0_14_0,
            false,
            true,
        ),
        case(
            "tutorial-0.86.0",
            tutorial("values.yaml"),
            ChartVersion::Current,
            false,
            false,
        ),
        case(
            "tutorial-0.86.0-norbac",
            tutorial("values.yaml"),
            ChartVersion::Current,
            false,
            true,
        ),
        case(
            "kitchen-sink-0.14.0",
            data("kitchen-sink.yaml"),
            ChartVersion::V0_14_0,
            false,
            false,
        ),
        case(
            "kitchen-sink-0.86.0",
            data("kitchen-sink.yaml"),
            ChartVersion::Current,
            false,
            false,
        ),
        case(
            "migrated-0.86.0",
            data("migrated-values.yaml"),
            ChartVersion::Current,
            false,
            false,
        ),
    ]
}

fn options(case: &Case) -> RenderOptions {
    let mut o = RenderOptions {
        chart: case.chart.clone(),
        namespace: "gitlab-runners".into(),
        apply_tutorial_patch: case.patch,
        ..Default::default()
    };
    if case.rbac_off {
        o.set.push(("rbac.create".into(), "false".into()));
    }
    o
}

impl Case {
    /// The values file's text and its name (for error messages).
    fn values_text(&self) -> (String, String) {
        let text = std::fs::read_to_string(&self.values).unwrap();
        let name = self
            .values
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        (text, name)
    }
}

fn ours(case: &Case) -> harness_chart::Rendered {
    let (text, name) = case.values_text();
    render(&ValuesInput::yaml(&text, &name), &options(case)).unwrap()
}

#[test]
fn every_case_matches_helm_byte_for_byte() {
    for case in cases() {
        let reference = reference_docs(&read(&format!("helm-reference/{}.json", case.reference)));
        let mine = our_docs(&ours(&case));
        assert_eq!(
            mine.keys().collect::<Vec<_>>(),
            reference.keys().collect::<Vec<_>>(),
            "{}: rendered templates differ",
            case.reference
        );
        for (template, docs) in &reference {
            assert_eq!(
                &mine[template], docs,
                "{}: {template} differs from Helm",
                case.reference
            );
        }
    }
}

#[test]
fn checksum_annotations_are_helms() {
    // The pod's checksum/configmap is sha256 of the rendered configmap.yaml text; equal bytes
    // above already imply it, this pins the value for the tutorial install.
    let case = &cases()[1];
    let r = ours(case);
    let ann = r.first("Deployment").unwrap()["spec"]["template"]["metadata"]["annotations"].clone();
    let reference = reference_docs(&read("helm-reference/tutorial-0.14.0-patched.json"));
    let dep = &reference["gitlab-runner/templates/deployment.yaml"][0];
    let want = format!(
        "checksum/configmap: {}",
        ann["checksum/configmap"].as_str().unwrap()
    );
    assert!(dep.contains(&want), "{want} not in Helm's deployment");
    assert_eq!(ann["checksum/secrets"].as_str().unwrap().len(), 64);
}

/// Live cross-check with the Helm SDK: set HARNESS_HELM_PYTHON to a Python that has
/// `helm-python-sdk` installed (`pip install helm-python-sdk`).
#[test]
fn live_helm_sdk_cross_check() {
    let Some(python) = std::env::var_os("HARNESS_HELM_PYTHON") else {
        eprintln!(
            "skipped: HARNESS_HELM_PYTHON is not set (a Python with helm-python-sdk renders the charts live)"
        );
        return;
    };
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let mut chart = case.chart.load().unwrap();
        if case.patch {
            harness_chart::patch::apply(&mut chart, harness_chart::patch::TUTORIAL_PATCH).unwrap();
        }
        chart.write_to(dir.path()).unwrap();
        let mut cmd = Command::new(&python);
        cmd.arg(data("helm-reference/render.py"))
            .arg(dir.path())
            .arg(&case.values)
            .arg("gitlab-runners");
        if case.rbac_off {
            cmd.arg("rbac.create=false");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let reference = reference_docs(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(
            our_docs(&ours(&case)),
            reference,
            "{}: live Helm SDK render differs",
            case.reference
        );
    }
}

/// Live cross-check with a `helm` binary (`$HELM_BIN` or `helm` on PATH) on the chart directory.
#[test]
fn live_helm_template_cross_check() {
    if harness_chart::reference::helm_binary().is_none() {
        eprintln!(
            "skipped: no helm binary (set HELM_BIN or put helm on PATH) to run `helm template`"
        );
        return;
    }
    for case in cases().into_iter().filter(|c| !c.patch) {
        let dir = tempfile::tempdir().unwrap();
        case.chart.load().unwrap().write_to(dir.path()).unwrap();
        let mut options = options(&case);
        options.chart = ChartVersion::Path(dir.path().to_path_buf());
        let helm = harness_chart::reference::helm_template(&case.values, &options)
            .unwrap()
            .unwrap();
        let (text, name) = case.values_text();
        let mine = render(&ValuesInput::yaml(&text, &name), &options).unwrap();
        let theirs: Vec<serde_json::Value> = common::helm_docs(&helm)
            .iter()
            .map(|d| serde_norway::from_str(d).unwrap())
            .filter(|v: &serde_json::Value| !v.is_null())
            .collect();
        assert_eq!(
            mine.objects, theirs,
            "{}: helm template differs",
            case.reference
        );
    }
}
