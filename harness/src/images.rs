//! The image provisioner as the harness configures it for this machine.

use harness_images::ImageProvisioner;

/// The provisioner with the catalog for this machine (kubectl found on PATH, the harness's own
/// runner binaries next to the running executable).
pub fn provisioner() -> anyhow::Result<ImageProvisioner> {
    let coredns = crate::toolchain::install_dir(
        crate::toolchain::Tool::CoreDns,
        crate::toolchain::Tool::CoreDns.default_version(),
    )
    .join("coredns");
    let inputs = harness_images::catalog::CatalogInputs {
        coredns: coredns.is_file().then_some(coredns),
        kubectl: harness_images::catalog::find_kubectl(),
        runner_binaries: crate::paths::binaries_dir().filter(|dir| {
            dir.join("gitlab-runner").is_file() && dir.join("gitlab-runner-helper").is_file()
        }),
    };
    let recipes = harness_images::catalog::recipes(&inputs);
    Ok(ImageProvisioner::connect(
        crate::paths::cache_dir().join("images"),
        recipes,
    )?)
}
