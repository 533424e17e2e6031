//! `harness services`: the Maven repository and the registry in the foreground, for use by hand.

use std::path::Path;

use crate::cli::ServicesArgs;
use crate::exit;
use crate::services::maven_repo::{DEBIAN_MAVEN_REPO, MavenRepoHandle};
use crate::services::registry::{RegistryCredentials, RegistryHandle};

pub(super) async fn run(args: ServicesArgs) -> anyhow::Result<u8> {
    let state = tempfile::Builder::new()
        .prefix("harness-services-")
        .tempdir()?;
    let maven =
        MavenRepoHandle::start("127.0.0.1:0".parse()?, Path::new(DEBIAN_MAVEN_REPO)).await?;
    let registry = RegistryHandle::start(
        &state.path().join("registry"),
        RegistryCredentials {
            username: args.registry_user.clone(),
            password: args.registry_password.clone(),
        },
    )
    .await?;
    println!("Maven repository: {}", maven.url());
    println!(
        "Image registry:   {} (user {}, password {})",
        registry.host(),
        args.registry_user,
        args.registry_password
    );
    println!(
        "  docker login {} -u {} --password-stdin",
        registry.host(),
        args.registry_user
    );
    println!("Press Ctrl-C to stop.");
    crate::signals::stop_requested().await;
    drop(registry);
    drop(maven);
    Ok(exit::INTERRUPTED)
}
