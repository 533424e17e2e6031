//! The image provisioner as the harness configures it for this machine.

use harness_images::ImageProvisioner;

/// The provisioner with the catalog for this machine (kubectl found on PATH, the harness's own
/// runner binaries next to the running executable).
pub fn provisioner() -> anyhow::Result<ImageProvisioner> {
    let inputs = harness_images::catalog::CatalogInputs {
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
