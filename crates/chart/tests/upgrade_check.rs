//! `upgrade_check` on the tutorial's values and files: every item helm-chart.md §6 lists, each
//! with its fix; and the migrated values it proposes render cleanly on the current chart.

mod common;

use common::{helm, read, read_tutorial};
use harness_chart::{
    ChartVersion, Finding, Manifests, MigrateOptions, RenderOptions, Severity, ValuesInput,
    migrate_values, migrate_values_yaml, render, upgrade_check, upgrade_check_with,
};
use serde_json::{Map, Value};

/// Upgrade findings from 0.14.0 to the current chart for the tutorial's values, with its PVC
/// and RBAC files and helm commands around them.
fn tutorial_findings() -> Vec<Finding> {
    let values = read_tutorial("values.yaml");
    let around = Manifests::tutorial()
        .with_file(
            "gitlab-runner-pvc.yaml",
            &read_tutorial("gitlab-runner-pvc.yaml"),
        )
        .with_file(
            "rbac-runner-config.yaml",
            &read_tutorial("rbac-runner-config.yaml"),
        );
    upgrade_check_with(
        &helm(),
        &ValuesInput::yaml(&values, "values.yaml"),
        &ChartVersion::V0_14_0,
        &ChartVersion::Current,
        &around,
    )
    .unwrap()
}

/// The one finding of [`tutorial_findings`] with `code` at `key`.
fn tutorial_finding(code: &str, key: &str) -> Finding {
    find(&tutorial_findings(), code, key).clone()
}

/// Upgrade findings from 0.14.0 to the current chart for `values` alone.
fn check(values: &ValuesInput<'_>) -> Vec<Finding> {
    upgrade_check(
        &helm(),
        values,
        &ChartVersion::V0_14_0,
        &ChartVersion::Current,
    )
    .unwrap()
}

/// The tutorial's values migrated from 0.14.0 to the current chart.
fn migrate_tutorial_values(options: &MigrateOptions) -> Map<String, Value> {
    let values = read_tutorial("values.yaml");
    migrate_values(
        &ValuesInput::yaml(&values, "values.yaml"),
        &ChartVersion::V0_14_0,
        &ChartVersion::Current,
        options,
    )
    .unwrap()
}

/// Asserts that no finding has one of `codes`.
fn assert_none_of(findings: &[Finding], codes: &[&str]) {
    assert!(
        findings.iter().all(|x| !codes.contains(&x.code)),
        "{}",
        dump(findings)
    );
}

fn find<'a>(findings: &'a [Finding], code: &str, key: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.code == code && f.key_path.contains(key))
        .unwrap_or_else(|| panic!("no {code} finding for {key}; got:\n{}", dump(findings)))
}

fn dump(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("{} {} {}\n", f.severity, f.code, f.key_path))
        .collect()
}

#[test]
fn ignored_job_settings_each_with_their_toml() {
    let f = tutorial_findings();
    for (key, toml) in [
        ("runners.image", "image = \"ubuntu:16.04\""),
        ("runners.privileged", "privileged = true"),
        (
            "runners.imagePullPolicy",
            "pull_policy = [\"if-not-present\"]",
        ),
        ("runners.pollTimeout", "poll_timeout = 180"),
        ("runners.outputLimit", "output_limit = 4096"),
        ("runners.serviceAccountName", "service_account = \"gitlab\""),
    ] {
        let finding = find(&f, "ignored-job-setting", key);
        assert_eq!(finding.severity, Severity::Error);
        assert!(finding.message.contains("silently ignores"), "{finding}");
        assert!(finding.fix.contains(toml), "{key}: {}", finding.fix);
    }
    let all = find(&f, "runners-config-template", "runners.config");
    for line in [
        "[[runners]]",
        "output_limit = 4096",
        "[runners.kubernetes]",
        "namespace = \"{{.Release.Namespace}}\"",
        "[[runners.kubernetes.volumes.pvc]]",
        "mount_path = \"/home/cache/maven\"",
        "host_path = \"/var/run/docker.sock\"",
    ] {
        assert!(all.fix.contains(line), "missing {line}: {}", all.fix);
    }
    // Empty leftovers are only informational.
    assert_eq!(
        find(&f, "empty-job-setting", "runners.builds").severity,
        Severity::Info
    );
}

#[test]
fn renamed_objects() {
    let f = tutorial_findings();
    for kind in [
        "Deployment",
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "Role",
        "RoleBinding",
    ] {
        let finding = find(
            &f,
            "renamed-object",
            &format!("{kind}/gitlab-runner-gitlab-runner"),
        );
        assert!(finding.message.contains("`gitlab-runner`"), "{finding}");
        assert!(
            finding
                .fix
                .contains("fullnameOverride: gitlab-runner-gitlab-runner"),
            "{finding}"
        );
    }
}

#[test]
fn container_security_context_becomes_invalid() {
    let finding = tutorial_finding(
        "invalid-container-security-context",
        "securityContext.fsGroup",
    );
    assert_eq!(finding.severity, Severity::Error);
    assert!(finding.fix.contains("podSecurityContext"), "{finding}");
}

#[test]
fn deprecated_registration_token() {
    let finding = tutorial_finding("deprecated-registration-token", "runnerRegistrationToken");
    assert!(finding.message.contains("20.0"), "{finding}");
    assert!(finding.fix.contains("runnerToken: glrt-"), "{finding}");
}

#[test]
fn patch_has_nothing_to_attach_to() {
    let f = tutorial_findings();
    let finding = find(&f, "patch-no-target", "configmap.yaml");
    assert_eq!(finding.severity, Severity::Error);
    assert!(
        finding
            .fix
            .contains("[[runners.kubernetes.volumes.host_path]]"),
        "{finding}"
    );
    find(&f, "docker-sock-host-path", "host_path");
}

#[test]
fn rwx_pvc_and_extensions_group() {
    let f = tutorial_findings();
    let pvc = find(&f, "pvc-rwx", "gitlab-runner-pvc.yaml");
    assert!(
        pvc.message.contains("rbd") && pvc.fix.contains("ReadWriteOnce"),
        "{pvc}"
    );
    let rbac = find(&f, "rbac-extensions-group", "Role/gitlab");
    assert!(rbac.fix.contains("apps"), "{rbac}");
    let ns = find(&f, "namespace-not-created", "metadata.namespace");
    assert!(
        ns.fix.contains("kubectl create namespace gitlab-runners"),
        "{ns}"
    );
}

#[test]
fn helm2_commands() {
    let f = tutorial_findings();
    let name = find(&f, "helm2-name-flag", "--name gitlab-runner");
    assert_eq!(
        name.fix,
        "helm install gitlab-runner -f gitlab-runner/values.yaml --namespace gitlab-runners gitlab-runner/ --create-namespace"
    );
    assert_eq!(
        find(&f, "helm2-search", "helm search").fix,
        "helm search repo gitlab-runner"
    );
    assert_eq!(
        find(&f, "helm-unknown-release", "gitlab-rujner").fix,
        "helm upgrade gitlab-runner gitlab-runner/"
    );
    find(&f, "helm2-release-migration", "helm");
}

#[test]
fn deprecated_rbac_service_account() {
    let finding = tutorial_finding("deprecated-rbac-service-account", "rbac.serviceAccountName");
    assert!(finding.fix.contains("serviceAccount"), "{finding}");
}

#[test]
fn findings_are_sorted_by_severity_and_display_their_fix() {
    let f = tutorial_findings();
    assert!(f.windows(2).all(|w| w[0].severity <= w[1].severity));
    let text = f[0].to_string();
    assert!(
        text.starts_with("[error] ") && text.contains("\n    fix: "),
        "{text}"
    );
}

#[test]
fn no_upgrade_no_job_setting_findings() {
    let values = read_tutorial("values.yaml");
    let f = upgrade_check(
        &helm(),
        &ValuesInput::yaml(&values, "values.yaml"),
        &ChartVersion::V0_14_0,
        &ChartVersion::V0_14_0,
    )
    .unwrap();
    assert_none_of(&f, &["ignored-job-setting", "renamed-object"]);
}

#[test]
fn migrated_values_render_on_current_chart_without_errors() {
    let migrated = migrate_tutorial_values(&MigrateOptions::default());
    let values = read_tutorial("values.yaml");
    let text = migrate_values_yaml(
        &ValuesInput::yaml(&values, "values.yaml"),
        &ChartVersion::V0_14_0,
        &ChartVersion::Current,
        &MigrateOptions::default(),
    )
    .unwrap();
    assert_eq!(
        text,
        read("migrated-values.yaml"),
        "migrated values changed"
    );
    let options = RenderOptions {
        chart: ChartVersion::Current,
        namespace: "gitlab-runners".into(),
        ..Default::default()
    };
    let r = render(&helm(), &ValuesInput::Map(migrated.clone()), &options).unwrap();
    let pod = &r.first("Deployment").unwrap()["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "gitlab");
    assert_eq!(
        pod["securityContext"],
        serde_json::json!({"fsGroup": 65533, "runAsUser": 100})
    );
    assert!(
        pod["containers"][0]["securityContext"]
            .get("fsGroup")
            .is_none()
    );
    let template = r.config_map_data("config.template.toml").unwrap();
    assert!(
        template.contains("image = \"ubuntu:16.04\"")
            && template.contains("name = \"gitlab-runner-pvc\"")
    );
    let f = check(&ValuesInput::Map(migrated));
    assert!(
        f.iter().all(|x| x.severity != Severity::Error),
        "{}",
        dump(&f)
    );
}

#[test]
fn runner_token_migration_drops_registration_only_settings() {
    let migrated = migrate_tutorial_values(&MigrateOptions {
        runner_token: Some("glrt-abc123".into()),
        ..Default::default()
    });
    assert_eq!(migrated["runnerToken"], "glrt-abc123");
    assert!(migrated.get("runnerRegistrationToken").is_none());
    assert!(migrated["runners"].get("tags").is_none());
    let f = check(&ValuesInput::Map(migrated));
    assert_none_of(
        &f,
        &["deprecated-registration-token", "server-side-setting"],
    );
}

#[test]
fn glrt_token_with_tags_is_flagged() {
    let values =
        "gitlabUrl: http://g/\nrunnerToken: glrt-x\nrunners:\n  tags: a\n  locked: false\n";
    let f = check(&ValuesInput::yaml(values, "v.yaml"));
    find(&f, "server-side-setting", "runners.tags");
    find(&f, "server-side-setting", "runners.locked");
    let values = "gitlabUrl: http://g/\nrunnerToken: legacy\n";
    let f = check(&ValuesInput::yaml(values, "v.yaml"));
    find(&f, "runner-token-prefix", "runnerToken");
}

#[test]
fn image_string_and_rbac_lists() {
    let values = "gitlabUrl: http://g/\nrunnerRegistrationToken: t\nimage: gitlab/gitlab-runner:alpine-v12.8.0\nrbac:\n  create: true\n  resources: [pods]\n  verbs: [get]\n";
    let f = check(&ValuesInput::yaml(values, "v.yaml"));
    find(&f, "image-string", "image");
    find(&f, "render-fails", "v.yaml");
    find(&f, "ignored-rbac-key", "rbac.resources");
    find(&f, "ignored-rbac-key", "rbac.verbs");
    find(&f, "changed-default", "metrics");
    find(&f, "changed-default", "checkInterval");
}

#[test]
fn helm2_warning_without_commands() {
    let values = read_tutorial("values.yaml");
    let f = check(&ValuesInput::yaml(&values, "values.yaml"));
    let name = find(&f, "helm2-name-flag", "helm install");
    assert!(
        name.fix
            .starts_with("helm install gitlab-runner gitlab/gitlab-runner --version 0.86.0"),
        "{name}"
    );
    // The tutorial's values alone still list every upgrade item of the issue.
    for code in [
        "ignored-job-setting",
        "renamed-object",
        "invalid-container-security-context",
        "deprecated-registration-token",
        "patch-no-target",
    ] {
        assert!(
            f.iter().any(|x| x.code == code),
            "missing {code}:\n{}",
            dump(&f)
        );
    }
}
