use std::path::PathBuf;

/// Why an image could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The Docker engine could not be reached or refused a request.
    #[error("docker engine: {context}")]
    Docker {
        /// What the harness was doing.
        context: String,
        /// The engine's error.
        #[source]
        source: bollard::errors::Error,
    },
    /// The image is not present, cannot be pulled and has no stand-in recipe.
    #[error(
        "image {reference} is not available: not present locally, {pull}, and no stand-in recipe exists \
         (add one under crates/images/recipes/ and to the catalog, or load the image with `docker load`)"
    )]
    Unavailable {
        /// The image reference.
        reference: String,
        /// What happened to the pull attempt.
        pull: String,
    },
    /// `imagePullPolicy: Never` and the image is not present.
    #[error("image {reference} is not present locally and the pull policy is Never")]
    NotPresentNeverPull {
        /// The image reference.
        reference: String,
    },
    /// Building a stand-in failed.
    #[error("building stand-in {reference} failed: {message}")]
    Build {
        /// The image reference.
        reference: String,
        /// The builder's message (last lines of its output).
        message: String,
    },
    /// The Debian base could not be made.
    #[error("making the Debian base image failed: {0}")]
    Base(String),
    /// A file a recipe copies in is missing.
    #[error("stand-in {reference} needs {path}")]
    ContextFile {
        /// The image reference.
        reference: String,
        /// The missing file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Local I/O failed.
    #[error("{context}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl ImageError {
    pub(crate) fn docker(context: impl Into<String>, source: bollard::errors::Error) -> Self {
        Self::Docker {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
