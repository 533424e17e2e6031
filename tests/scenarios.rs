//! Every scenario file under `scenarios/` is one test (libtest-mimic), run one at a time: each
//! brings a whole environment up on the machine's Docker engine. After them, tests that drive
//! `harness up` by hand and prove that nothing leaks.
//!
//! `cargo test --test scenarios -- --list` lists them; `cargo test --test scenarios -- tutorial`
//! runs one.

use std::path::{Path, PathBuf};

use harness::backends::Overrides;
use harness::report::scenario_detail;
use harness::scenario::{Outcome, RunOptions, load, run_scenario};
use libtest_mimic::{Arguments, Completion, Failed, Trial};

mod scenarios_served;
mod scenarios_support;

fn main() {
    harness::logging::init(0, true, "scenario-tests");
    std::sync::LazyLock::force(&scenarios_support::SUITE_STARTED);
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
    trials.push(Trial::ignorable_test(
        "tutorial_on_served_cluster_and_gitlab",
        {
            let root = root.clone();
            move || scenarios_served::tutorial_on_served_backends(&root)
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
    Trial::ignorable_test(name, move || {
        let overrides = Overrides::from_env().map_err(|e| Failed::from(e.to_string()))?;
        run_one(&path, overrides)
    })
}

/// Runs one scenario file on the backends `overrides` choose. Its test fails with the scenario's
/// report; a scenario that does not apply to the backend, or whose backend cannot run here, is
/// ignored with the reason — except with `CI=true`, where a backend that cannot run fails.
pub fn run_one(path: &Path, overrides: Overrides) -> Result<Completion, Failed> {
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
        overrides,
    };
    let report = runtime.block_on(run_scenario(
        &loaded,
        &options,
        tokio_util::sync::CancellationToken::new(),
    ));
    match &report.outcome {
        Outcome::Passed => Ok(Completion::Completed),
        Outcome::Skipped(reason) => Ok(Completion::ignored_with(reason)),
        Outcome::Unavailable(reason) if std::env::var("CI").as_deref() == Ok("true") => Err(
            Failed::from(format!("CI=true and the backend cannot run: {reason}")),
        ),
        Outcome::Unavailable(reason) => Ok(Completion::ignored_with(reason)),
        Outcome::Failed(_) => Err(Failed::from(scenario_detail(&report))),
    }
}
