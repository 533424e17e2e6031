//! Exit codes of the `harness` binary. They mean the same in every subcommand, so scripts and CI
//! can tell a failed scenario from a machine that is not set up.

/// Everything asked for was done and every assertion held.
pub const OK: u8 = 0;
/// A scenario, an assertion, a lint or a check failed: the input was understood and is wrong,
/// or the system under test misbehaved.
pub const FAILED: u8 = 1;
/// The command line or a subcommand is not usable: bad usage, or a component not available yet.
pub const USAGE: u8 = 2;
/// A prerequisite of the machine is missing (Docker engine, packages): `harness doctor --fix`.
pub const PREREQUISITE: u8 = 3;
/// The harness itself failed unexpectedly.
pub const INTERNAL: u8 = 70;
/// Interrupted by Ctrl-C (after cleaning up), as shells report SIGINT.
pub const INTERRUPTED: u8 = 130;
