//! One module per subcommand; [`dispatch`] maps the parsed command line to them and returns the
//! process exit code (see [`crate::exit`]).

mod bench;
mod build;
pub(crate) use build::build_with_progress;
mod chart;
mod doctor;
mod down;
mod images;
mod lint;
mod run;
mod serve;
mod services;
mod up;

use crate::cli::{Cli, Command};
use crate::exit;

/// Runs the subcommand and returns its exit code.
pub async fn dispatch(cli: Cli) -> u8 {
    if matches!(
        cli.command,
        Command::Up(_)
            | Command::Run(_)
            | Command::Services(_)
            | Command::Bench(_)
            | Command::Cluster(_)
            | Command::Gitlab(_)
    ) {
        // These stop on Ctrl-C and tear down what they started; a second Ctrl-C exits at once.
        crate::signals::handle_stops();
    }
    let result = match cli.command {
        Command::Doctor(args) => doctor::run(args).await,
        Command::Images(args) => images::run(args).await,
        Command::Services(args) => services::run(args).await,
        Command::Up(args) => up::run(args).await,
        Command::Down(args) => down::run(args).await,
        Command::Run(args) => run::run(args).await,
        Command::Lint(args) => lint::run(args).await,
        Command::Render(args) => chart::render(args).await,
        Command::UpgradeCheck(args) => chart::upgrade_check(args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::Build(args) => build::run(args).await,
        Command::Cluster(args) => serve::cluster(args).await,
        Command::Gitlab(args) => serve::gitlab(args).await,
        Command::Schema => {
            println!("{}", crate::scenario::json_schema());
            Ok(exit::OK)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::INTERNAL
        }
    }
}

/// The backend choices of the command line (which clap already merged with `HARNESS_*`).
fn overrides(args: &crate::cli::BackendArgs) -> anyhow::Result<crate::backends::Overrides> {
    Ok(args.overrides())
}

/// When a step of `scenarios` runs Helm and Helm is not built: prints so with the fix and gives
/// the exit code that says a prerequisite is missing, before any environment starts.
async fn helm_if_needed(scenarios: &[crate::scenario::LoadedScenario]) -> Result<(), u8> {
    let needs_helm = scenarios
        .iter()
        .any(|s| s.steps.iter().any(|step| step.action.needs_helm()));
    if !needs_helm {
        return Ok(());
    }
    crate::helm::built().await.map(drop).map_err(|e| {
        eprintln!("error: {e}");
        exit::PREREQUISITE
    })
}

/// Prints why an environment did not start and returns the exit code that says so.
fn environment_error(error: &anyhow::Error) -> u8 {
    eprintln!("error: {error:#}");
    match error.downcast_ref::<crate::backends::BackendError>() {
        Some(e) => e.exit_code(),
        None => exit::FAILED,
    }
}
