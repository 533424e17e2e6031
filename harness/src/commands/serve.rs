//! `harness cluster serve` and `harness gitlab serve`: the embedded parts as processes of their
//! own, each printing how to reach it and staying up until Ctrl-C, so that scenarios can use
//! them through `--cluster existing` and `--gitlab external` as they would any other.

use std::io::Write;

use crate::backends::cluster::{Cluster, EmbeddedCluster};
use crate::backends::gitlab::{EmbeddedGitLab, GitLabServer};
use crate::cli::{ClusterArgs, ClusterCommand, GitLabArgs, GitLabCommand};
use crate::exit;

pub(super) async fn cluster(args: ClusterArgs) -> anyhow::Result<u8> {
    let ClusterCommand::Serve(args) = args.command;
    let id = format!("serve-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let state = state_dir(&id)?;
    let say = |line: &str| eprintln!("  · {line}");
    let cluster = tokio::select! {
        cluster = EmbeddedCluster::start(&id, state.path(), &args.nodes, &say) => cluster?,
        _ = crate::signals::stop_requested() => return Ok(exit::INTERRUPTED),
    };
    println!("KUBECONFIG={}", cluster.kubeconfig().display());
    std::io::stdout().flush()?;
    eprintln!(
        "embedded cluster {} is up at {} (Ctrl-C to stop)",
        id,
        cluster.url()
    );
    crate::signals::stop_requested().await;
    eprintln!("{}", Box::new(cluster).stop().await);
    Ok(exit::INTERRUPTED)
}

pub(super) async fn gitlab(args: GitLabArgs) -> anyhow::Result<u8> {
    let GitLabCommand::Serve(args) = args.command;
    let id = format!("serve-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let state = state_dir(&id)?;
    let gitlab = EmbeddedGitLab::start(&state.path().join("gitlab"), args.listen).await?;
    println!("GITLAB_URL={}", gitlab.url());
    println!("GITLAB_TOKEN={}", gitlab.token());
    std::io::stdout().flush()?;
    eprintln!("embedded GitLab {id} is up (Ctrl-C to stop)");
    crate::signals::stop_requested().await;
    Box::new(gitlab).stop().await;
    Ok(exit::INTERRUPTED)
}

/// A private state directory for a served part, removed when it stops.
fn state_dir(id: &str) -> anyhow::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    Ok(tempfile::Builder::new()
        .prefix(&format!("harness-{id}-"))
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()?)
}
