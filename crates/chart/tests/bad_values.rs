//! Bad values give errors that name the file, the field and the fix; none panics.

mod common;

use common::{helm, read_tutorial, tutorial};
use harness_chart::{ChartError, ChartVersion, RenderOptions, ValuesInput, render};

fn render_with(text: &str, chart: ChartVersion) -> Result<harness_chart::Rendered, ChartError> {
    let options = RenderOptions {
        chart,
        namespace: "gitlab-runners".into(),
        ..Default::default()
    };
    render_mine(text, &options)
}

/// `text`, as the user's `my-values.yaml`, rendered with `options`.
fn render_mine(text: &str, options: &RenderOptions) -> Result<harness_chart::Rendered, ChartError> {
    render(&helm(), &ValuesInput::yaml(text, "my-values.yaml"), options)
}

const OK: &str = "gitlabUrl: http://gitlab.local/\nrunnerRegistrationToken: tok\n";

fn assert_names(err: &ChartError, field: &str, fix_part: &str) {
    let msg = err.to_string();
    assert!(msg.contains("my-values.yaml"), "no file in: {msg}");
    assert!(msg.contains(field), "no field `{field}` in: {msg}");
    assert!(msg.contains("Fix:"), "no fix in: {msg}");
    assert!(msg.contains(fix_part), "fix lacks `{fix_part}`: {msg}");
}

/// The error of rendering [`OK`] with `--set key=value`.
fn set_error(key: &str, value: &str) -> ChartError {
    let options = RenderOptions {
        set: vec![(key.into(), value.into())],
        ..Default::default()
    };
    render_mine(OK, &options).unwrap_err()
}

/// [`OK`] plus the `extra` lines fails on chart 0.14.0, naming `field` and a fix with `fix_part`.
fn assert_rejected(extra: &str, field: &str, fix_part: &str) {
    let err = render_with(&format!("{OK}{extra}"), ChartVersion::V0_14_0).unwrap_err();
    assert_names(&err, field, fix_part);
}

#[test]
fn missing_gitlab_url() {
    let err = render_with("runnerRegistrationToken: tok\n", ChartVersion::V0_14_0).unwrap_err();
    assert_names(&err, "gitlabUrl", "gitlabUrl: http://");
}

#[test]
fn gitlab_url_without_scheme() {
    let err = render_with(
        "gitlabUrl: gitlab.local\nrunnerToken: glrt-x\n",
        ChartVersion::Current,
    )
    .unwrap_err();
    assert_names(&err, "gitlabUrl", "full URL");
}

#[test]
fn missing_token() {
    let err = render_with("gitlabUrl: http://gitlab.local/\n", ChartVersion::V0_14_0).unwrap_err();
    assert_names(&err, "runnerRegistrationToken", "runnerToken: glrt-");
}

#[test]
fn table_given_as_text() {
    assert_rejected("runners: fast\n", "`runners`", "as a map");
    assert_rejected("rbac: yes-please\n", "`rbac`", "as a map");
}

#[test]
fn image_string_on_current_chart() {
    let err = render_with(
        &format!("{OK}image: gitlab/gitlab-runner:alpine-v12.8.0\n"),
        ChartVersion::Current,
    )
    .unwrap_err();
    assert_names(&err, "`image`", "registry");
    // Without our checks Helm itself fails on the chart's template.
    let options = RenderOptions {
        chart: ChartVersion::Current,
        validate: false,
        ..Default::default()
    };
    let text = format!("{OK}image: gitlab/gitlab-runner:alpine-v12.8.0\n");
    let err = render_mine(&text, &options).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("can't evaluate field registry"), "{msg}");
    assert!(msg.contains("gitlab-runner/templates/"), "{msg}");
    assert!(msg.contains("Fix:"), "{msg}");
}

#[test]
fn number_given_as_words() {
    assert_rejected("concurrent: ten\n", "`concurrent`", "concurrent: 10");
    assert_rejected("checkInterval: [30]\n", "`checkInterval`", "number");
}

#[test]
fn quoted_boolean() {
    assert_rejected(
        "rbac:\n  create: \"false\"\n",
        "`rbac.create`",
        "without quotes",
    );
}

#[test]
fn list_given_as_text() {
    assert_rejected("tolerations: everything\n", "`tolerations`", "YAML list");
}

#[test]
fn invalid_yaml_names_file_and_position() {
    let err = render_with("gitlabUrl: [unclosed\n", ChartVersion::V0_14_0).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("my-values.yaml") && msg.contains("line") && msg.contains("Fix:"),
        "{msg}"
    );
    let err = render_with("- a\n- b\n", ChartVersion::V0_14_0).unwrap_err();
    assert!(err.to_string().contains("not a mapping"), "{err}");
}

#[test]
fn set_errors_name_the_expression() {
    let err = RenderOptions::default()
        .with_set_arg("rbac.create")
        .unwrap_err();
    assert!(err.to_string().contains("--set rbac.create"), "{err}");
    let err = set_error("envVars[x].name", "A");
    assert!(
        err.to_string().contains("not a number") && err.to_string().contains("Fix:"),
        "{err}"
    );
}

#[test]
fn set_value_is_attributed_to_set() {
    let err = set_error("concurrent", "many");
    assert!(
        err.to_string().starts_with("--set: field `concurrent`"),
        "{err}"
    );
}

#[test]
fn unknown_chart() {
    let err = "9.9.9".parse::<ChartVersion>().unwrap_err();
    assert!(
        err.to_string().contains("--chart") && err.to_string().contains("0.14.0"),
        "{err}"
    );
}

#[test]
fn patch_needs_maven_values_and_a_target() {
    let options = RenderOptions {
        apply_tutorial_patch: true,
        ..Default::default()
    };
    let err = render_mine(OK, &options).unwrap_err();
    assert_names(&err, "maven.cache.pvcName", "pvcName: gitlab-runner-pvc");
    let text = read_tutorial("values.yaml");
    let options = RenderOptions {
        chart: ChartVersion::Current,
        ..RenderOptions::tutorial()
    };
    let err = render(&helm(), &ValuesInput::yaml(&text, "values.yaml"), &options).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("nothing to attach to") && msg.contains("runners.config"),
        "{msg}"
    );
}

#[test]
fn unknown_keys_are_warnings() {
    let r = render_with(&format!("{OK}colour: blue\n"), ChartVersion::V0_14_0).unwrap();
    assert_eq!(r.warnings.len(), 1);
    assert!(r.warnings[0].contains("colour"), "{:?}", r.warnings);
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "",
        "~",
        "null",
        "42",
        "\"text\"",
        "{",
        "[1, 2",
        "a: b: c",
        "\t- x",
        "runners: [1, 2]",
        "gitlabUrl: {a: 1}",
        "securityContext: 5",
        "envVars: {a: 1}",
        "rbac: {create: [1]}",
        "runners: {cache: 3}",
        "podLabels: [a]",
        "image: {registry: 1}",
        "concurrent: 1e400",
        ":",
        "? a\n: b",
        "&a [*a]",
        "gitlabUrl: http://x/\nrunnerToken: t\nresources: x",
    ];
    let helm = helm();
    for chart in [ChartVersion::V0_14_0, ChartVersion::Current] {
        for input in inputs {
            for validate in [true, false] {
                let options = RenderOptions {
                    chart: chart.clone(),
                    validate,
                    ..Default::default()
                };
                let result = std::panic::catch_unwind(|| {
                    render(&helm, &ValuesInput::yaml(input, "g.yaml"), &options)
                });
                assert!(result.is_ok(), "panic on {input:?} with {chart}");
                if let Ok(Err(e)) = result {
                    assert!(e.to_string().contains("Fix:"), "{input:?}: {e}");
                }
            }
        }
    }
}

#[test]
fn cli_entry_points_name_missing_files() {
    let missing = std::path::Path::new("/nonexistent/values.yaml");
    let err = harness_chart::render_file(&helm(), missing, &RenderOptions::tutorial()).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/values.yaml") && err.to_string().contains("Fix:"),
        "{err}"
    );
    let err = harness_chart::upgrade_check_file(
        &helm(),
        missing,
        &ChartVersion::V0_14_0,
        &ChartVersion::Current,
        &harness_chart::Manifests::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("cannot read"), "{err}");
}

#[test]
fn cli_render_file_prints_helm_template_stream() {
    let yaml = harness_chart::render_file(
        &helm(),
        &tutorial("values.yaml"),
        &RenderOptions::tutorial(),
    )
    .unwrap()
    .yaml;
    assert_eq!(
        yaml.matches("---\n# Source: gitlab-runner/templates/")
            .count(),
        6
    );
    assert!(yaml.starts_with("---\n# Source: gitlab-runner/templates/service-account.yaml\napiVersion: v1\nkind: ServiceAccount\n"));
}
