//! `harness lint FILE`: GitLab's checks of a `.gitlab-ci.yml`, one error per line with its line.

use crate::cli::LintArgs;
use crate::exit;

pub(super) async fn run(args: LintArgs) -> anyhow::Result<u8> {
    let text = match std::fs::read_to_string(&args.file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: {}: {e}", args.file.display());
            return Ok(exit::USAGE);
        }
    };
    let file = args.file.display().to_string();
    match harness_gitlab::lint::lint_str(&text, &file) {
        Ok(_) => {
            println!("{file}: valid (GitLab CI configuration)");
            Ok(exit::OK)
        }
        Err(errors) => {
            for error in &errors {
                match error.line {
                    Some(line) => println!("{file}:{line}: {}", error.message),
                    None => println!("{file}: {}", error.message),
                }
            }
            println!("{file}: invalid: {} error(s)", errors.len());
            Ok(exit::FAILED)
        }
    }
}
