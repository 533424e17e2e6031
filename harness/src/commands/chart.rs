//! `harness render` and `harness upgrade-check`: the harness's values checks, then the built Helm
//! (`helm template`) on the materialised chart.

use harness_chart::{ChartError, ChartVersion, Helm, Manifests, RenderOptions, Rendered, Severity};
use harness_error_chain::Chain;

use crate::cli::{RenderArgs, UpgradeCheckArgs};
use crate::exit;

pub(super) async fn render(args: RenderArgs) -> anyhow::Result<u8> {
    let options = match render_options(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(exit::USAGE);
        }
    };
    let helm = match crate::helm::built().await {
        Ok(helm) => helm,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::PREREQUISITE);
        }
    };
    match render_values(helm, args, options).await? {
        Ok(rendered) => {
            for warning in &rendered.warnings {
                eprintln!("warning: {warning}");
            }
            print!("{}", rendered.yaml);
            Ok(exit::OK)
        }
        Err(e) => {
            eprintln!("error: {}", Chain(&e));
            Ok(exit::FAILED)
        }
    }
}

/// The render options the command line asks for, or what is wrong with it.
fn render_options(args: &RenderArgs) -> Result<RenderOptions, String> {
    let chart: ChartVersion = args
        .chart
        .parse()
        .map_err(|e| format!("--chart {}: {e}", args.chart))?;
    let mut options = RenderOptions::tutorial();
    options.chart = chart;
    options.release_name = args.name.clone();
    options.namespace = args.namespace.clone();
    options.apply_tutorial_patch = !args.no_tutorial_patch;
    for set in &args.set {
        options = options
            .with_set_arg(set)
            .map_err(|e| format!("--set {set}: {e}"))?;
    }
    Ok(options)
}

/// Renders `args.values` with `helm` off the async workers (Helm runs for a few hundred ms).
async fn render_values(
    helm: Helm,
    args: RenderArgs,
    options: RenderOptions,
) -> anyhow::Result<Result<Rendered, ChartError>> {
    Ok(tokio::task::spawn_blocking(move || {
        harness_chart::render_file(&helm, &args.values, &options)
    })
    .await?)
}

pub(super) async fn upgrade_check(args: UpgradeCheckArgs) -> anyhow::Result<u8> {
    let parse = |text: &str, flag: &str| -> Result<ChartVersion, String> {
        text.parse().map_err(|e| format!("{flag} {text}: {e}"))
    };
    let (from, to) = match (parse(&args.from, "--from"), parse(&args.to, "--to")) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let helm = match crate::helm::built().await {
        Ok(helm) => helm,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::PREREQUISITE);
        }
    };
    let mut around = Manifests {
        release_name: "gitlab-runner".into(),
        namespace: "gitlab-runners".into(),
        apply_tutorial_patch: true,
        ..Default::default()
    };
    for path in &args.manifests {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        around.files.push((path.display().to_string(), text));
    }
    let values = args.values.clone();
    let checked = tokio::task::spawn_blocking(move || {
        harness_chart::upgrade_check_file(&helm, &values, &from, &to, &around)
    })
    .await?;
    let findings = match checked {
        Ok(findings) => findings,
        Err(e) => {
            eprintln!("error: {}", Chain(&e));
            return Ok(exit::FAILED);
        }
    };
    for finding in &findings {
        println!("{finding}\n");
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    println!(
        "{} finding(s), {errors} that break the upgrade",
        findings.len()
    );
    Ok(if errors > 0 { exit::FAILED } else { exit::OK })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    /// What `harness render ARGS…` prints on stdout, with the Helm `harness build helm` made.
    async fn rendered(args: &[&str]) -> String {
        let helm = crate::helm::built().await.unwrap_or_else(|e| panic!("{e}"));
        let cli = Cli::try_parse_from([&["harness", "render"], args].concat()).unwrap();
        let Command::Render(args) = cli.command else {
            panic!("not a render command")
        };
        let options = render_options(&args).unwrap();
        render_values(helm, args, options)
            .await
            .unwrap()
            .unwrap()
            .yaml
    }

    fn repo(path: &str) -> String {
        crate::paths::repo_root().join(path).display().to_string()
    }

    /// A reference `helm template` printed (see crates/chart/tests/data/helm-template/README.md).
    fn reference(name: &str) -> String {
        let path: PathBuf = crate::paths::repo_root()
            .join("crates/chart/tests/data/helm-template")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// `harness render` of the tutorial's values prints, byte for byte, what the real `helm
    /// template` printed for the unpacked upstream chart 0.14.0 and 0.86.0.
    #[tokio::test(flavor = "multi_thread")]
    async fn render_prints_what_helm_template_prints() {
        let values = repo("fixtures/tutorial/values.yaml");
        for (chart, file) in [
            ("0.14.0", "tutorial-0.14.0.yaml"),
            ("0.86.0", "tutorial-0.86.0.yaml"),
        ] {
            let ours = rendered(&[&values, "--chart", chart, "--no-tutorial-patch"]).await;
            assert!(ours == reference(file), "chart {chart} differs from {file}");
        }
    }

    /// With the tutorial's patch the ConfigMap's entrypoint carries the article's block, rendered
    /// by Helm from the values, after registration and before the runner starts.
    #[tokio::test(flavor = "multi_thread")]
    async fn render_with_the_tutorial_patch_appends_the_volumes() {
        let values = repo("fixtures/tutorial/values.yaml");
        let ours = rendered(&[&values, "--chart", "0.14.0"]).await;
        let register = ours.find("if ! sh /scripts/register-the-runner").unwrap();
        let append = ours
            .find("    cat >>/home/gitlab-runner/.gitlab-runner/config.toml <<EOF\n      [[runners.kubernetes.volumes.pvc]]\n        name = \"gitlab-runner-pvc\"\n        mount_path = \"/home/cache/maven\"\n")
            .unwrap();
        let start = ours.find("exec /entrypoint run").unwrap();
        assert!(register < append && append < start);
    }

    #[test]
    fn a_bad_set_is_a_usage_error() {
        let cli = Cli::try_parse_from(["harness", "render", "v.yaml", "--set", "x"]).unwrap();
        let Command::Render(args) = cli.command else {
            panic!("not a render command")
        };
        let err = render_options(&args).unwrap_err();
        assert!(err.starts_with("--set x:"), "{err}");
    }
}
