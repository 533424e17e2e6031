//! A real image registry: Debian's `docker-registry` (distribution 2.x) with htpasswd auth on
//! 127.0.0.1, storage under the environment's state directory.
//!
//! The Docker engine treats `127.0.0.0/8` as insecure registries, so `docker login` and
//! `docker push 127.0.0.1:PORT/…` from a job (through the mounted docker.sock) and the kubelet's
//! pull of the pushed image are all real HTTP registry traffic.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;

use super::wait_until;

/// The Debian package's binary.
pub const REGISTRY_BINARY: &str = "docker-registry";

/// The user and password the registry accepts (the tutorial's DOCKER_USERNAME/DOCKER_PASSWORD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryCredentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Why the registry could not be run or queried.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The binary is missing.
    #[error(
        "`{REGISTRY_BINARY}` is not installed: run `harness doctor --fix` (Debian package docker-registry)"
    )]
    NotInstalled,
    /// Preparing its files failed.
    #[error("preparing the registry under {dir}")]
    Prepare {
        /// The state directory.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Hashing the password failed.
    #[error("hashing the registry password: {0}")]
    Hash(String),
    /// It did not answer in time.
    #[error("the registry did not answer on {addr} within {seconds} s; its log: {log}")]
    NotReady {
        /// Where it should listen.
        addr: SocketAddr,
        /// How long we waited.
        seconds: u64,
        /// The end of its log.
        log: String,
    },
    /// An API request failed.
    #[error("registry API {url}: {message}")]
    Api {
        /// The request URL.
        url: String,
        /// What went wrong.
        message: String,
    },
}

/// A running registry process; killed when dropped.
pub struct RegistryHandle {
    addr: SocketAddr,
    credentials: RegistryCredentials,
    dir: PathBuf,
    child: Option<tokio::process::Child>,
    http: reqwest::Client,
}

impl RegistryHandle {
    /// Starts a registry storing under `dir` (created), accepting `credentials`.
    pub async fn start(
        dir: &Path,
        credentials: RegistryCredentials,
    ) -> Result<Self, RegistryError> {
        let binary = crate::process::which(REGISTRY_BINARY).ok_or(RegistryError::NotInstalled)?;
        let prepare = |source| RegistryError::Prepare {
            dir: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir.join("storage")).map_err(prepare)?;
        let hash = bcrypt::hash(&credentials.password, 10)
            .map_err(|e| RegistryError::Hash(e.to_string()))?;
        std::fs::write(
            dir.join("htpasswd"),
            format!("{}:{hash}\n", credentials.username),
        )
        .map_err(prepare)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| RegistryError::Api {
                url: String::new(),
                message: e.to_string(),
            })?;
        let mut last_error = None;
        for _attempt in 0..3 {
            let addr = free_loopback_port().map_err(prepare)?;
            let config = dir.join("config.yml");
            std::fs::write(&config, config_yaml(dir, addr)).map_err(prepare)?;
            let log = std::fs::File::create(dir.join("registry.log")).map_err(prepare)?;
            let child = tokio::process::Command::new(&binary)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(prepare)?)
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .map_err(prepare)?;
            let mut handle = Self {
                addr,
                credentials: credentials.clone(),
                dir: dir.to_owned(),
                child: Some(child),
                http: http.clone(),
            };
            let url = format!("http://{addr}/v2/");
            let answered = wait_until(Duration::from_secs(15), || {
                let http = http.clone();
                let url = url.clone();
                async move { http.get(&url).send().await.is_ok_and(|r| r.status() == 401) }
            })
            .await;
            if answered {
                tracing::info!(%addr, "image registry listening (htpasswd auth)");
                return Ok(handle);
            }
            handle.stop().await;
            last_error = Some(RegistryError::NotReady {
                addr,
                seconds: 15,
                log: crate::process::tail(
                    &std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default(),
                    5,
                ),
            });
        }
        Err(last_error.unwrap_or(RegistryError::NotInstalled))
    }

    /// `127.0.0.1:PORT`, the registry host jobs push to (the tutorial's `REGISTRY`).
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The credentials it accepts.
    pub fn credentials(&self) -> &RegistryCredentials {
        &self.credentials
    }

    /// The directory holding its storage, config and log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Repositories in the registry (`/v2/_catalog`).
    pub async fn repositories(&self) -> Result<Vec<String>, RegistryError> {
        #[derive(Deserialize)]
        struct Catalog {
            repositories: Vec<String>,
        }
        let catalog: Catalog = self.get_json("_catalog").await?;
        Ok(catalog.repositories)
    }

    /// Tags of one repository (`/v2/<name>/tags/list`); empty when the repository is unknown.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, RegistryError> {
        #[derive(Deserialize)]
        struct Tags {
            tags: Option<Vec<String>>,
        }
        match self
            .get_json::<Tags>(&format!("{repository}/tags/list"))
            .await
        {
            Ok(tags) => Ok(tags.tags.unwrap_or_default()),
            Err(RegistryError::Api { message, .. }) if message.starts_with("404") => Ok(vec![]),
            Err(e) => Err(e),
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, RegistryError> {
        let url = format!("http://{}/v2/{path}", self.addr);
        let api = |message: String| RegistryError::Api {
            url: url.clone(),
            message,
        };
        let response = self
            .http
            .get(&url)
            .basic_auth(&self.credentials.username, Some(&self.credentials.password))
            .send()
            .await
            .map_err(|e| api(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(api(format!(
                "{} {}",
                status.as_u16(),
                response.text().await.unwrap_or_default()
            )));
        }
        response.json().await.map_err(|e| api(e.to_string()))
    }

    /// Stops the process (fault injection uses this too: "registry down").
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }
}

fn free_loopback_port() -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.local_addr()
}

fn config_yaml(dir: &Path, addr: SocketAddr) -> String {
    format!(
        "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n  secret: gitlab-k8s-harness\nauth:\n  htpasswd:\n    realm: gitlab-k8s-harness registry\n    path: {htpasswd}\n",
        storage = dir.join("storage").display(),
        htpasswd = dir.join("htpasswd").display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_names_storage_address_and_htpasswd() {
        let yaml = config_yaml(
            Path::new("/state/registry"),
            "127.0.0.1:5000".parse().unwrap(),
        );
        assert!(yaml.contains("rootdirectory: /state/registry/storage"));
        assert!(yaml.contains("addr: 127.0.0.1:5000"));
        assert!(yaml.contains("path: /state/registry/htpasswd"));
    }
}
