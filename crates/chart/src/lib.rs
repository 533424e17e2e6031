//! gitlab-runner Helm chart rendering (values -> objects, config.toml) and upgrade checks between chart versions.
