//! A Maven 2 repository served over HTTP from Debian's system repository (`/usr/share/maven-repo`).
//!
//! Maven Central cannot be reached here, so the Maven stand-in image mirrors every repository to
//! this service. Jobs then really *download* into their local repository (the tutorial's
//! `-Dmaven.repo.local=/home/cache/maven` on the PVC), and a second build downloads nothing.
//!
//! Two things are added on top of Debian's files: checksums (`.sha1`, `.md5`) computed on the fly,
//! and `org.codehaus.plexus:plexus-utils:1.1`, which stock Maven injects into plugins and Debian
//! does not ship (it is served as a relocation-free shim over Debian's plexus-utils jar).

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::Digest;
use tokio::sync::oneshot;

/// Debian's system Maven repository.
pub const DEBIAN_MAVEN_REPO: &str = "/usr/share/maven-repo";

const SHIM_DIR: &str = "org/codehaus/plexus/plexus-utils/1.1/";
const SHIM_POM: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n  <modelVersion>4.0.0</modelVersion>\n  <groupId>org.codehaus.plexus</groupId>\n  <artifactId>plexus-utils</artifactId>\n  <version>1.1</version>\n  <packaging>jar</packaging>\n  <description>Served by gitlab-k8s-harness: Debian ships no plexus-utils 1.1; this is Debian's plexus-utils jar.</description>\n</project>\n";

/// Why the Maven service could not start.
#[derive(Debug, thiserror::Error)]
pub enum MavenRepoError {
    /// The repository directory is missing.
    #[error(
        "Maven repository {0} does not exist: install Debian's Maven packages (`harness doctor --fix`)"
    )]
    MissingRepository(PathBuf),
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

struct Shared {
    root: PathBuf,
    shim_jar: Option<PathBuf>,
    downloads: AtomicU64,
}

/// A running Maven service; stops when dropped.
pub struct MavenRepoHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

impl MavenRepoHandle {
    /// Starts serving `root` at `addr` (`/maven2/…`).
    pub async fn start(addr: SocketAddr, root: &Path) -> Result<Self, MavenRepoError> {
        if !root.is_dir() {
            return Err(MavenRepoError::MissingRepository(root.to_owned()));
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| MavenRepoError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| MavenRepoError::Bind { addr, source })?;
        let shared = Arc::new(Shared {
            root: root.to_owned(),
            shim_jar: find_plexus_utils_jar(root),
            downloads: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/maven2/{*path}", axum::routing::get(serve).head(serve))
            .route("/healthz", axum::routing::get(|| async { "ok" }))
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = server.await {
                tracing::warn!(error = %e, "Maven service stopped with an error");
            }
        });
        tracing::info!(%addr, root = %root.display(), "Maven repository service listening");
        Ok(Self {
            addr,
            shared,
            stop: Some(stop),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The repository URL clients use.
    pub fn url(&self) -> String {
        format!("http://{}/maven2/", self.addr)
    }

    /// How many artifact files (not checksums, not metadata) were served so far.
    pub fn downloads(&self) -> u64 {
        self.shared.downloads.load(Ordering::Relaxed)
    }
}

impl Drop for MavenRepoHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn find_plexus_utils_jar(root: &Path) -> Option<PathBuf> {
    let dir = root.join("org/codehaus/plexus/plexus-utils");
    let mut jars: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .filter_map(|version| std::fs::read_dir(version.path()).ok())
        .flatten()
        .flatten()
        .map(|f| f.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jar"))
        .collect();
    jars.sort();
    jars.pop()
}

/// Maps a request path to a file below `root`, refusing anything that leaves it.
fn resolve(root: &Path, request: &str) -> Option<PathBuf> {
    let relative = Path::new(request);
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return None;
    }
    Some(root.join(relative))
}

async fn serve(
    method: Method,
    State(shared): State<Arc<Shared>>,
    UrlPath(path): UrlPath<String>,
) -> Response {
    let (artifact, checksum) = match path
        .strip_suffix(".sha1")
        .map(|p| (p, Some("sha1")))
        .or_else(|| path.strip_suffix(".md5").map(|p| (p, Some("md5"))))
    {
        Some(split) => split,
        None => (path.as_str(), None),
    };
    let Some(bytes) = read_artifact(&shared, artifact).await else {
        return (StatusCode::NOT_FOUND, format!("{path} not found\n")).into_response();
    };
    let (body, content_type) = match checksum {
        Some("sha1") => {
            let mut h = sha1_smol::Sha1::new();
            h.update(&bytes);
            (h.digest().to_string().into_bytes(), "text/plain")
        }
        Some(_) => (
            format!("{:x}", md5::compute(&bytes)).into_bytes(),
            "text/plain",
        ),
        None => {
            if method == Method::GET && !artifact.ends_with("maven-metadata.xml") {
                shared.downloads.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(artifact, "Maven download");
            }
            let kind = if artifact.ends_with(".pom") || artifact.ends_with(".xml") {
                "text/xml"
            } else {
                "application/java-archive"
            };
            (bytes, kind)
        }
    };
    let mut response = Response::new(if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(body.clone())
    });
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    let etag = hex::encode(&sha2::Sha256::digest(&body)[..8]);
    if let Ok(value) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        headers.insert(header::ETAG, value);
    }
    response
}

async fn read_artifact(shared: &Shared, artifact: &str) -> Option<Vec<u8>> {
    if let Some(name) = artifact.strip_prefix(SHIM_DIR) {
        return match name {
            "plexus-utils-1.1.pom" => Some(SHIM_POM.as_bytes().to_vec()),
            "plexus-utils-1.1.jar" => tokio::fs::read(shared.shim_jar.as_ref()?).await.ok(),
            _ => None,
        };
    }
    let file = resolve(&shared.root, artifact)?;
    tokio::fs::read(file).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_leave_the_repository() {
        let root = Path::new("/repo");
        assert_eq!(
            resolve(root, "a/b.pom"),
            Some(PathBuf::from("/repo/a/b.pom"))
        );
        assert_eq!(resolve(root, "../etc/passwd"), None);
        assert_eq!(resolve(root, "a/../../x"), None);
        assert_eq!(resolve(root, "/etc/passwd"), None);
    }

    #[tokio::test]
    async fn serves_files_checksums_and_the_shim_and_counts_downloads() {
        let dir = tempfile::tempdir().unwrap();
        let art = dir.path().join("g/a/1.0");
        std::fs::create_dir_all(&art).unwrap();
        std::fs::write(art.join("a-1.0.pom"), "<project/>").unwrap();
        let jar_dir = dir.path().join("org/codehaus/plexus/plexus-utils/3.4.2");
        std::fs::create_dir_all(&jar_dir).unwrap();
        std::fs::write(jar_dir.join("plexus-utils-3.4.2.jar"), "jar-bytes").unwrap();

        let service = MavenRepoHandle::start("127.0.0.1:0".parse().unwrap(), dir.path())
            .await
            .unwrap();
        let base = service.url();
        let get = |p: &str| reqwest::get(format!("{base}{p}"));
        let pom = get("g/a/1.0/a-1.0.pom").await.unwrap();
        assert_eq!(pom.status(), 200);
        assert_eq!(pom.text().await.unwrap(), "<project/>");
        let sha1 = get("g/a/1.0/a-1.0.pom.sha1")
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(sha1.len(), 40);
        assert_eq!(get("g/a/1.0/missing.jar").await.unwrap().status(), 404);
        assert_eq!(get("../../etc/passwd").await.unwrap().status(), 404);
        let shim = get("org/codehaus/plexus/plexus-utils/1.1/plexus-utils-1.1.jar")
            .await
            .unwrap();
        assert_eq!(shim.text().await.unwrap(), "jar-bytes");
        assert_eq!(
            service.downloads(),
            2,
            "the pom and the shim jar, not the checksum"
        );
    }

    #[tokio::test]
    async fn missing_repository_is_a_clear_error() {
        let err = MavenRepoHandle::start(
            "127.0.0.1:0".parse().unwrap(),
            Path::new("/nonexistent/repo"),
        )
        .await
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("/nonexistent/repo") && err.contains("doctor --fix"),
            "{err}"
        );
    }
}
