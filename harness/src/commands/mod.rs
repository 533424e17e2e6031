//! One module per subcommand; [`dispatch`] maps the parsed command line to them and returns the
//! process exit code (see [`crate::exit`]).

mod doctor;
mod images;
mod services;

use crate::cli::{Cli, Command};
use crate::exit;

/// Runs the subcommand and returns its exit code.
pub async fn dispatch(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Doctor(args) => doctor::run(args).await,
        Command::Images(args) => images::run(args).await,
        Command::Services(args) => services::run(args).await,
        Command::Up(_) => not_yet("up", "the scenario engine"),
        Command::Down(_) => not_yet("down", "the scenario engine"),
        Command::Run(_) => not_yet("run", "the scenario engine"),
        Command::Lint(_) => not_yet("lint", "the embedded GitLab's lint"),
        Command::Render(_) => not_yet("render", "chart rendering"),
        Command::UpgradeCheck(_) => not_yet("upgrade-check", "chart rendering"),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::INTERNAL
        }
    }
}

fn not_yet(command: &str, component: &str) -> anyhow::Result<u8> {
    eprintln!("harness {command}: not implemented yet ({component} is not part of this build)");
    Ok(exit::USAGE)
}
