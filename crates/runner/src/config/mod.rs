//! `config.toml`: where it lives, how it is read, and how it is written back like runner 12.8.0.

mod model;
mod write;

use std::path::{Path, PathBuf};

pub use model::{
    CacheConfig, CacheGcs, CacheS3, Config, CustomBuildDir, EmptyDirVolume, HostPathVolume,
    KubernetesConfig, NamedVolume, PodSecurityContext, PvcVolume, RunnerConfig, SessionServer,
    Volumes,
};
pub use write::to_toml_string;

/// Why `config.toml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("config file {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for the runner's schema.
    #[error("config file {path} is not a valid runner configuration")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said (names the line and the key).
        #[source]
        source: Box<toml::de::Error>,
    },
}

/// The default path the real runner uses: `/etc/gitlab-runner/config.toml` for root, else
/// `$HOME/.gitlab-runner/config.toml` (the chart's runner pod runs as uid 100, so the entrypoint
/// copies its base file to `/home/gitlab-runner/.gitlab-runner/`).
pub fn default_config_path() -> PathBuf {
    if is_root() {
        return PathBuf::from("/etc/gitlab-runner/config.toml");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".gitlab-runner").join("config.toml")
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Reads `path`; a missing file is an empty configuration (as for the real runner's `register`).
pub fn load_or_default(path: &Path) -> Result<Config, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(source) => Err(ConfigError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Reads and parses `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Parses the text of a `config.toml` (`path` only names it in errors).
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    toml::from_str(text).map_err(|source| ConfigError::Parse {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}

/// Writes `config` to `path` (creating the directory), replacing the file atomically.
pub fn save(path: &Path, config: &Config) -> Result<(), ConfigError> {
    let io = |source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, to_toml_string(config)).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests;
