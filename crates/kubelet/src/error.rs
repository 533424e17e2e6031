//! Errors of the kubelet.

/// Why the kubelet (or one of its pods) could not do something.
#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    /// The Docker engine refused or failed a request.
    #[error("docker engine: {context}")]
    Docker {
        /// What the kubelet was doing.
        context: String,
        /// The engine's error.
        #[source]
        source: bollard::errors::Error,
    },
    /// The API server refused or failed a request.
    #[error("api server: {context}")]
    Api {
        /// What the kubelet was doing.
        context: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// A file under the state directory could not be written.
    #[error("{context}")]
    Io {
        /// What the kubelet was doing (names the path).
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The pod spec asks for something this node cannot provide; the message names the field.
    #[error("{0}")]
    Spec(String),
    /// The configuration is unusable; the message names the field and the fix.
    #[error("kubelet configuration: {0}")]
    Config(String),
}

impl KubeletError {
    pub(crate) fn docker(context: impl Into<String>, source: bollard::errors::Error) -> Self {
        Self::Docker {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn api(context: impl Into<String>, source: kube::Error) -> Self {
        Self::Api {
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

/// Result alias of this crate.
pub(crate) type Result<T, E = KubeletError> = std::result::Result<T, E>;
