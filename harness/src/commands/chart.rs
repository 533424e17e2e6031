//! `harness render` and `harness upgrade-check`.

use harness_chart::{ChartVersion, Manifests, RenderOptions, Severity};
use harness_error_chain::Chain;

use crate::cli::{RenderArgs, UpgradeCheckArgs};
use crate::exit;

pub(super) async fn render(args: RenderArgs) -> anyhow::Result<u8> {
    let chart: ChartVersion = match args.chart.parse() {
        Ok(chart) => chart,
        Err(e) => {
            eprintln!("error: --chart {}: {e}", args.chart);
            return Ok(exit::USAGE);
        }
    };
    let mut options = RenderOptions::tutorial();
    options.chart = chart;
    options.release_name = args.name.clone();
    options.namespace = args.namespace.clone();
    options.apply_tutorial_patch = !args.no_tutorial_patch;
    for set in &args.set {
        options = match options.with_set_arg(set) {
            Ok(options) => options,
            Err(e) => {
                eprintln!("error: --set {set}: {e}");
                return Ok(exit::USAGE);
            }
        };
    }
    match harness_chart::render_file(&args.values, &options) {
        Ok(yaml) => {
            print!("{yaml}");
            Ok(exit::OK)
        }
        Err(e) => {
            eprintln!("error: {}", Chain(&e));
            Ok(exit::FAILED)
        }
    }
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
    let findings = match harness_chart::upgrade_check_file(&args.values, &from, &to, &around) {
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
