//! Image resolution for a container, with the events a kubelet writes while pulling.

use std::time::Instant;

use harness_images::{ImageProvisioner, ImageSource, PullPolicy, ResolvedImage};
use k8s_openapi::api::core::v1::{Container, Pod};

use crate::events::{EventRecorder, EventType};
use harness_error_chain::Chain;

/// The pull policy Kubernetes applies: the container's, else `Always` for `:latest` or untagged
/// images, else `IfNotPresent`.
pub(crate) fn pull_policy(container: &Container) -> PullPolicy {
    if let Some(policy) = container
        .image_pull_policy
        .as_deref()
        .and_then(PullPolicy::parse)
    {
        return policy;
    }
    let image = container.image.as_deref().unwrap_or_default();
    if image.contains('@') {
        return PullPolicy::IfNotPresent;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, "latest")) | None => PullPolicy::Always,
        Some(_) => PullPolicy::IfNotPresent,
    }
}

/// Why an image is not available: the waiting reason (`ErrImagePull`, `ErrImageNeverPull`) and
/// the message shown with it.
pub(crate) struct PullFailure {
    pub reason: &'static str,
    pub message: String,
}

/// Makes the container's image present, writing Pulling/Pulled/Failed events.
pub(crate) async fn ensure_image(
    provisioner: &ImageProvisioner,
    recorder: &EventRecorder,
    pod: &Pod,
    container: &Container,
) -> Result<ResolvedImage, PullFailure> {
    let image = container.image.clone().unwrap_or_default();
    let name = container.name.as_str();
    let event = async |kind, reason: &str, message: &str| {
        recorder
            .pod_event(pod, Some(name), kind, reason, message)
            .await
    };
    if image.is_empty() {
        return Err(PullFailure {
            reason: "InvalidImageName",
            message: format!("container {name} has no image (set spec.containers[].image)"),
        });
    }
    let policy = pull_policy(container);
    if policy != PullPolicy::Always
        && let Ok(Some(present)) = provisioner.inspect(&image).await
    {
        let note = stand_in_note(&present.source);
        event(
            EventType::Normal,
            "Pulled",
            &format!("Container image \"{image}\" already present on machine{note}"),
        )
        .await;
        return Ok(present);
    }
    if policy == PullPolicy::Never {
        let message =
            format!("Container image \"{image}\" is not present with pull policy of Never");
        event(EventType::Warning, "ErrImageNeverPull", &message).await;
        return Err(PullFailure {
            reason: "ErrImageNeverPull",
            message,
        });
    }
    event(
        EventType::Normal,
        "Pulling",
        &format!("Pulling image \"{image}\""),
    )
    .await;
    let started = Instant::now();
    match provisioner.ensure(&image, policy).await {
        Ok(resolved) => {
            let note = stand_in_note(&resolved.source);
            event(
                EventType::Normal,
                "Pulled",
                &format!(
                    "Successfully pulled image \"{image}\" in {:.3}s{note}. Image size: {} bytes.",
                    started.elapsed().as_secs_f64(),
                    resolved.size
                ),
            )
            .await;
            Ok(resolved)
        }
        Err(e) => {
            let message = format!("Failed to pull image \"{image}\": {}", Chain(&e));
            event(EventType::Warning, "Failed", &message).await;
            event(EventType::Warning, "Failed", "Error: ErrImagePull").await;
            Err(PullFailure {
                reason: "ErrImagePull",
                message,
            })
        }
    }
}

fn stand_in_note(source: &ImageSource) -> &'static str {
    match source {
        ImageSource::StandIn {
            built_now: true, ..
        } => " (simulated: stand-in image built from Debian packages)",
        ImageSource::StandIn {
            built_now: false, ..
        } => " (simulated: stand-in image built from Debian packages, cached)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_image(image: &str, policy: Option<&str>) -> Container {
        Container {
            name: "c".into(),
            image: Some(image.into()),
            image_pull_policy: policy.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn default_policy_follows_the_tag() {
        for (image, policy, expected) in [
            ("docker:latest", None, PullPolicy::Always),
            ("localhost:5000/app", None, PullPolicy::Always),
            ("ubuntu:16.04", None, PullPolicy::IfNotPresent),
            ("localhost:5000/app:1", None, PullPolicy::IfNotPresent),
            ("docker:latest", Some("Never"), PullPolicy::Never),
        ] {
            assert_eq!(
                pull_policy(&with_image(image, policy)),
                expected,
                "{image} with {policy:?}"
            );
        }
    }
}
