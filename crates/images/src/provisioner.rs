//! Resolution of an image reference: local, then pulled, then a stand-in built from its recipe.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures::StreamExt;
use tokio::sync::Mutex;

use crate::base::DebianBase;
use crate::build::{BuildRequest, ImageBuilder};
use crate::recipe::Recipe;
use crate::{ImageError, LABEL_DESCRIPTION, LABEL_PROVIDES, LABEL_RECIPE, LABEL_STAND_IN};

/// Kubernetes' `imagePullPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Always ask the registry.
    Always,
    /// Pull only when the image is not present.
    #[default]
    IfNotPresent,
    /// Never pull.
    Never,
}

impl PullPolicy {
    /// Parses Kubernetes (`IfNotPresent`) and runner (`if-not-present`) spellings.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().replace('-', "").as_str() {
            "always" => Some(Self::Always),
            "ifnotpresent" => Some(Self::IfNotPresent),
            "never" => Some(Self::Never),
            _ => None,
        }
    }
}

/// Where a resolved image came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// It was already in the engine (a real image).
    Local,
    /// It was pulled from its registry just now.
    Pulled,
    /// A stand-in built from Debian packages (now or earlier, same recipe hash).
    StandIn {
        /// The recipe's content hash.
        hash: String,
        /// Whether it was built by this call (false: cached).
        built_now: bool,
    },
}

impl fmt::Display for ImageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local => f.write_str("local"),
            Self::Pulled => f.write_str("pulled"),
            Self::StandIn {
                built_now: true, ..
            } => f.write_str("stand-in (built)"),
            Self::StandIn {
                built_now: false, ..
            } => f.write_str("stand-in (cached)"),
        }
    }
}

/// An image that is now present in the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImage {
    /// The reference it was asked for.
    pub reference: String,
    /// The engine's image id.
    pub id: String,
    /// Where it came from.
    pub source: ImageSource,
    /// Size in bytes as the engine reports it.
    pub size: i64,
    /// Tools a stand-in provides (empty for real images).
    pub provides: Vec<String>,
}

/// Provides images to the kubelet and the CLI.
#[derive(Clone)]
pub struct ImageProvisioner {
    builder: ImageBuilder,
    base: DebianBase,
    recipes: Arc<HashMap<String, Recipe>>,
    pull_timeout: Duration,
    try_pull: bool,
    in_flight: Arc<Mutex<HashMap<String, Arc<Mutex<()>>>>>,
}

impl ImageProvisioner {
    /// A provisioner over `docker` with the given recipes; `work_dir` holds temporary build
    /// contexts and the base rootfs while it is made.
    pub fn new(docker: Docker, work_dir: PathBuf, recipes: Vec<Recipe>) -> Self {
        Self {
            builder: ImageBuilder {
                docker,
                scratch_dir: work_dir,
            },
            base: DebianBase::default(),
            recipes: Arc::new(
                recipes
                    .into_iter()
                    .map(|r| (r.reference.clone(), r))
                    .collect(),
            ),
            pull_timeout: Duration::from_secs(30),
            try_pull: std::env::var_os("HARNESS_NO_PULL").is_none(),
            in_flight: Arc::default(),
        }
    }

    /// Connects to the engine named by `DOCKER_HOST` (default: the local socket).
    pub fn connect(work_dir: PathBuf, recipes: Vec<Recipe>) -> Result<Self, ImageError> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(|e| ImageError::docker("connecting", e))?;
        Ok(Self::new(docker, work_dir, recipes))
    }

    /// Whether to try registries before building a stand-in (default: yes, unless
    /// `HARNESS_NO_PULL` is set).
    pub fn with_pulls(mut self, try_pull: bool) -> Self {
        self.try_pull = try_pull;
        self
    }

    /// The Docker engine this provisioner uses.
    pub fn docker(&self) -> &Docker {
        &self.builder.docker
    }

    /// The recipe for `reference`, if there is one.
    pub fn recipe(&self, reference: &str) -> Option<&Recipe> {
        self.recipes.get(reference)
    }

    /// Every image reference that has a stand-in recipe, sorted.
    pub fn known_references(&self) -> Vec<String> {
        let mut refs: Vec<String> = self.recipes.keys().cloned().collect();
        refs.sort();
        refs
    }

    /// Makes sure `reference` is present in the engine, honouring `policy`.
    pub async fn ensure(
        &self,
        reference: &str,
        policy: PullPolicy,
    ) -> Result<ResolvedImage, ImageError> {
        let lock = {
            let mut map = self.in_flight.lock().await;
            map.entry(reference.to_owned()).or_default().clone()
        };
        let _guard = lock.lock().await;
        let recipe = self.recipes.get(reference);
        let current_hash = match recipe {
            Some(recipe) => Some(recipe.content_hash(&self.base.reference())?),
            None => None,
        };
        let labels = self.builder.labels(reference).await?;
        if let Some(labels) = &labels {
            match (labels.get(LABEL_STAND_IN), &current_hash) {
                (Some(have), Some(want)) if have == want => {
                    return self
                        .resolved(
                            reference,
                            ImageSource::StandIn {
                                hash: want.clone(),
                                built_now: false,
                            },
                        )
                        .await;
                }
                (Some(_), Some(_)) => {
                    tracing::info!(%reference, "stand-in recipe changed; rebuilding");
                }
                (Some(_), None) | (None, _) if policy != PullPolicy::Always => {
                    return self.resolved(reference, ImageSource::Local).await;
                }
                _ => {}
            }
        }
        if labels.is_none() && policy == PullPolicy::Never {
            return Err(ImageError::NotPresentNeverPull {
                reference: reference.to_owned(),
            });
        }
        let pull_message = if self.try_pull && policy != PullPolicy::Never {
            match self.pull(reference).await {
                Ok(()) => return self.resolved(reference, ImageSource::Pulled).await,
                Err(message) => message,
            }
        } else {
            "pulling is disabled".to_owned()
        };
        match (recipe, current_hash) {
            (Some(recipe), Some(hash)) => {
                self.build_stand_in(recipe, &hash).await?;
                self.resolved(
                    reference,
                    ImageSource::StandIn {
                        hash,
                        built_now: true,
                    },
                )
                .await
            }
            _ if labels.is_some() => self.resolved(reference, ImageSource::Local).await,
            _ => Err(ImageError::Unavailable {
                reference: reference.to_owned(),
                pull: pull_message,
            }),
        }
    }

    /// What the engine has for `reference` right now, without pulling or building. A stand-in
    /// built from an older recipe counts as absent: [`ImageProvisioner::ensure`] rebuilds it.
    pub async fn inspect(&self, reference: &str) -> Result<Option<ResolvedImage>, ImageError> {
        let Some(labels) = self.builder.labels(reference).await? else {
            return Ok(None);
        };
        let source = match labels.get(LABEL_STAND_IN) {
            Some(hash) => {
                if let Some(recipe) = self.recipes.get(reference)
                    && recipe.content_hash(&self.base.reference())? != *hash
                {
                    return Ok(None);
                }
                ImageSource::StandIn {
                    hash: hash.clone(),
                    built_now: false,
                }
            }
            None => ImageSource::Local,
        };
        self.resolved(reference, source).await.map(Some)
    }

    async fn pull(&self, reference: &str) -> Result<(), String> {
        let options = CreateImageOptionsBuilder::default()
            .from_image(reference)
            .build();
        let pull = async {
            let mut stream = self.builder.docker.create_image(Some(options), None, None);
            while let Some(item) = stream.next().await {
                item.map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        };
        match tokio::time::timeout(self.pull_timeout, pull).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::debug!(%reference, error = %e, "pull failed");
                Err(format!("pull failed ({e})"))
            }
            Err(_) => Err(format!("pull timed out after {:?}", self.pull_timeout)),
        }
    }

    async fn build_stand_in(&self, recipe: &Recipe, hash: &str) -> Result<(), ImageError> {
        let base = self
            .base
            .ensure(&self.builder, &self.builder.scratch_dir)
            .await?;
        let started = std::time::Instant::now();
        tracing::info!(reference = %recipe.reference, "building stand-in image from Debian packages");
        let mut files = Vec::new();
        for file in &recipe.files {
            files.push((file.name.clone(), file.mode, file.read(&recipe.reference)?));
        }
        self.builder
            .build(BuildRequest {
                reference: recipe.reference.clone(),
                dockerfile: recipe.dockerfile_for(&base),
                files,
                host_files: vec![],
                labels: vec![
                    (LABEL_STAND_IN.into(), hash.to_owned()),
                    (LABEL_PROVIDES.into(), recipe.provides.join(",")),
                    (LABEL_RECIPE.into(), recipe.reference.clone()),
                    (
                        LABEL_DESCRIPTION.into(),
                        format!(
                            "STAND-IN built by gitlab-k8s-harness: {}",
                            recipe.description
                        ),
                    ),
                ],
            })
            .await?;
        tracing::info!(
            reference = %recipe.reference,
            seconds = started.elapsed().as_secs_f64(),
            "stand-in image built"
        );
        Ok(())
    }

    async fn resolved(
        &self,
        reference: &str,
        source: ImageSource,
    ) -> Result<ResolvedImage, ImageError> {
        let image = self
            .builder
            .docker
            .inspect_image(reference)
            .await
            .map_err(|e| ImageError::docker(format!("inspecting {reference}"), e))?;
        let provides = image
            .config
            .as_ref()
            .and_then(|c| c.labels.as_ref())
            .and_then(|l| l.get(LABEL_PROVIDES))
            .map(|p| {
                p.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(ResolvedImage {
            reference: reference.to_owned(),
            id: image.id.unwrap_or_default(),
            source,
            size: image.size.unwrap_or_default(),
            provides,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_parses_both_spellings() {
        assert_eq!(
            PullPolicy::parse("IfNotPresent"),
            Some(PullPolicy::IfNotPresent)
        );
        assert_eq!(
            PullPolicy::parse("if-not-present"),
            Some(PullPolicy::IfNotPresent)
        );
        assert_eq!(PullPolicy::parse("Always"), Some(PullPolicy::Always));
        assert_eq!(PullPolicy::parse("never"), Some(PullPolicy::Never));
        assert_eq!(PullPolicy::parse("sometimes"), None);
    }

    #[test]
    fn source_is_described_for_the_listing() {
        assert_eq!(ImageSource::Local.to_string(), "local");
        assert_eq!(
            ImageSource::StandIn {
                hash: "x".into(),
                built_now: false
            }
            .to_string(),
            "stand-in (cached)"
        );
    }
}
