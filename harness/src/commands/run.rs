//! `harness run SCENARIO…`: run scenarios, print the summary table, write JUnit XML.

use tokio_util::sync::CancellationToken;

use crate::cli::RunArgs;
use crate::exit;
use crate::scenario::{Outcome, RunOptions, load, run_scenario};
use harness_error_chain::Chain;

pub(super) async fn run(args: RunArgs) -> anyhow::Result<u8> {
    let mut loaded = vec![];
    for path in &args.scenarios {
        match load(path) {
            Ok(scenario) => loaded.push(scenario),
            Err(e) => {
                eprintln!("error: {}", Chain(&e));
                return Ok(exit::USAGE);
            }
        }
    }
    if let Err(code) = super::helm_if_needed(&loaded).await {
        return Ok(code);
    }
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        crate::signals::stop_requested().await;
        eprintln!(
            "\ninterrupted: stopping the current step and tearing the environment down \
             (Ctrl-C again to exit at once)"
        );
        on_signal.cancel();
    });
    let options = RunOptions {
        keep: args.keep,
        progress: true,
        report_dir: Some(args.report_dir.clone()),
        overrides: super::overrides(&args.backends)?,
    };
    let mut reports = vec![];
    for scenario in &loaded {
        if cancel.is_cancelled() {
            break;
        }
        let report = run_scenario(scenario, &options, cancel.clone()).await;
        if !report.outcome.passed() || args.keep {
            eprint!("{}", crate::report::scenario_detail(&report));
        }
        reports.push(report);
    }
    println!("\n{}", crate::report::summary_table(&reports));
    for report in &reports {
        for pipeline in &report.pipelines {
            println!(
                "pipeline #{} {} {}: {}",
                pipeline.id, report.name, pipeline.git_ref, pipeline.status
            );
        }
    }
    println!("reports: {}", args.report_dir.display());
    if let Some(path) = &args.junit {
        std::fs::write(path, crate::report::junit(&reports))?;
        println!("JUnit XML: {}", path.display());
    }
    if cancel.is_cancelled() {
        return Ok(exit::INTERRUPTED);
    }
    let failed = reports
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Failed(_)));
    let unavailable = reports
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Unavailable(_)));
    Ok(if failed {
        exit::FAILED
    } else if unavailable {
        exit::USAGE
    } else {
        exit::OK
    })
}
