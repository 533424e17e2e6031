//! Every scenario file under `scenarios/` is one test (libtest-mimic), run one at a time: each
//! brings a whole environment up on the machine's Docker engine. After them, tests that drive
//! `harness up` by hand and prove that nothing leaks.
//!
//! `cargo test --test scenarios -- --list` lists them; `cargo test --test scenarios -- tutorial`
//! runs one.

use std::path::{Path, PathBuf};

use harness::report::scenario_detail;
use harness::scenario::model::Backend;
use harness::scenario::{Outcome, RunOptions, load, run_scenario};
use libtest_mimic::{Arguments, Failed, Trial};

mod scenarios_support;

fn main() {
    harness::logging::init(0, true);
    let mut args = Arguments::from_args();
    // Scenarios share the machine's Docker engine and the sample app's port: one at a time.
    args.test_threads = Some(1);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let mut trials: Vec<Trial> = scenario_files(&root.join("scenarios"))
        .into_iter()
        .map(scenario_trial)
        .collect();
    trials.push(Trial::test(
        "broken_scenario_file_fails_with_its_file_and_line",
        {
            let root = root.clone();
            move || scenarios_support::broken_scenario(&root)
        },
    ));
    trials.push(Trial::test(
        "harness_up_then_the_tutorials_kubectl_commands",
        {
            let root = root.clone();
            move || scenarios_support::harness_up_by_hand(&root)
        },
    ));
    trials.push(Trial::test(
        "zz_nothing_is_left_behind",
        scenarios_support::nothing_left_behind,
    ));
    libtest_mimic::run(&args, trials).exit();
}

fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn scenario_trial(path: PathBuf) -> Trial {
    let name = format!(
        "scenario::{}",
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    // A scenario whose backend cannot run here is listed as ignored, with the reason printed.
    let unavailable = load(&path)
        .ok()
        .filter(|l| l.scenario.environment.cluster.backend != Backend::Embedded);
    let trial = Trial::test(name, move || run_one(&path));
    match unavailable {
        Some(_) => trial.with_ignored_flag(true),
        None => trial,
    }
}

/// Runs one scenario file; its test fails with the scenario's report.
pub fn run_one(path: &Path) -> Result<(), Failed> {
    let loaded = load(path).map_err(|e| Failed::from(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failed::from(e.to_string()))?;
    let options = RunOptions {
        keep: false,
        progress: true,
        report_dir: Some(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap()
                .join("target")
                .join("harness-report"),
        ),
    };
    let report = runtime.block_on(run_scenario(
        &loaded,
        &options,
        tokio_util::sync::CancellationToken::new(),
    ));
    match &report.outcome {
        Outcome::Passed => Ok(()),
        Outcome::Skipped(reason) => {
            eprintln!("skipped: {reason}");
            Ok(())
        }
        Outcome::Failed(_) => Err(Failed::from(scenario_detail(&report))),
    }
}
