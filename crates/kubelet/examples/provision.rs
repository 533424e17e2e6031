//! Makes sure the images the kubelet's tests use are present in the engine.
use harness_images::ImageProvisioner;
use harness_images::catalog::{CatalogInputs, find_kubectl, recipes};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let work = tempfile::tempdir()?;
    let provisioner = ImageProvisioner::connect(
        work.path().to_path_buf(),
        recipes(&CatalogInputs {
            kubectl: find_kubectl(),
            runner_binaries: None,
            coredns: None,
        }),
    )?;
    for image in std::env::args().skip(1) {
        let resolved = provisioner
            .ensure(&image, harness_images::PullPolicy::IfNotPresent)
            .await?;
        println!("{image}: {} ({})", resolved.source, resolved.id);
    }
    Ok(())
}
