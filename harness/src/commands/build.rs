//! `harness build [TOOL…]`: the real components from their Go modules, with progress.

use crate::cli::BuildArgs;
use crate::exit;
use crate::toolchain::{self, Tool, ToolchainError};

pub(super) async fn run(args: BuildArgs) -> anyhow::Result<u8> {
    let mut tools = vec![];
    for name in &args.tools {
        match Tool::ALL.into_iter().find(|t| t.name() == name) {
            Some(tool) => tools.push(tool),
            None => {
                eprintln!(
                    "error: unknown tool `{name}`: use kubernetes, etcd, coredns, crictl or helm"
                );
                return Ok(exit::USAGE);
            }
        }
    }
    if tools.is_empty() {
        tools = Tool::ALL.to_vec();
    }
    for tool in tools {
        let version = match tool {
            Tool::Kubernetes => args.kubernetes_version.as_deref(),
            _ => None,
        };
        match build_with_progress(tool, version).await {
            Ok(line) => println!("{line}"),
            Err(ToolchainError::NoGo) => {
                eprintln!("error: {}", ToolchainError::NoGo);
                return Ok(exit::PREREQUISITE);
            }
            Err(e) => {
                eprintln!("error: building {tool}: {e}");
                return Ok(exit::FAILED);
            }
        }
    }
    Ok(exit::OK)
}

/// Builds one tool (unless built) with a spinner counting the packages `go` compiles; returns
/// the line to print.
pub(crate) async fn build_with_progress(
    tool: Tool,
    version: Option<&str>,
) -> Result<String, ToolchainError> {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_prefix(format!("building {tool}"));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let packages = std::sync::atomic::AtomicUsize::new(0);
    let progress = |line: &str| {
        let n = packages.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        bar.set_message(format!("{n} packages; {}", line.trim()));
    };
    let built = toolchain::ensure(tool, version, &progress).await;
    bar.finish_and_clear();
    let built = built?;
    Ok(match built.build_seconds {
        Some(seconds) => format!(
            "{tool} {} built in {seconds:.0}s: {}",
            built.version,
            built.dir.display()
        ),
        None => format!(
            "{tool} {} already built: {}",
            built.version,
            built.dir.display()
        ),
    })
}
