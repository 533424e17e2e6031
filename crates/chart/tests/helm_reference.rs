//! Rendering through the built Helm against renders Helm's engine made independently (the Helm
//! v4.2.3 SDK, see `tests/data/helm-reference/README.md`): every document byte for byte, so the
//! chart directory, the values file, `--set` and the tutorial's edit Helm is given are right.

mod common;

use std::path::PathBuf;

use common::{data, helm, our_docs, read, reference_docs, tutorial};
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
    render(&helm(), &ValuesInput::yaml(&text, &name), &options(case)).unwrap()
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
