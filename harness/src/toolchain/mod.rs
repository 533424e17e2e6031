//! Real components built from their Go modules, through the `go` command and the Go module proxy
//! only: upstream Kubernetes, etcd, CoreDNS, crictl and Helm.
//!
//! Each is built once per version from a *recipe* — a wrapper module in the cache and the `go`
//! commands that make and build it — into `<cache>/bin/<tool>-<version>/`, next to a stamp that
//! holds the recipe's hash: a binary is rebuilt exactly when its recipe (or the Go toolchain)
//! changes. Go's own module and build caches stay where Go keeps them. A build takes a lock, so
//! two harness processes never build the same tool at once.

mod go;
mod recipes;

use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

pub use recipes::Tool;

/// Why a tool could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    /// There is no usable `go` command.
    #[error(
        "the go command is not installed (Go ≥ 1.26 with the module proxy builds the real components)"
    )]
    NoGo,
    /// A `go` command failed.
    #[error("`{command}` failed in {dir}:\n{output}")]
    Go {
        /// The command line.
        command: String,
        /// Where it ran.
        dir: PathBuf,
        /// The end of what it printed.
        output: String,
    },
    /// A version nobody can build.
    #[error("{tool} {version} is not a version the harness can build; known: {known}")]
    UnknownVersion {
        /// The tool.
        tool: Tool,
        /// The version asked for.
        version: String,
        /// The versions it knows.
        known: String,
    },
    /// The cache could not be written.
    #[error("{what} {path}")]
    Io {
        /// What was done.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ToolchainError {
    let path = path.to_owned();
    move |source| ToolchainError::Io { what, path, source }
}

/// A built tool: where its binaries are.
#[derive(Debug, Clone)]
pub struct Built {
    /// The tool.
    pub tool: Tool,
    /// Its version.
    pub version: String,
    /// The directory holding its binaries.
    pub dir: PathBuf,
    /// How long the build took; `None` when it was already built.
    pub build_seconds: Option<f64>,
}

impl Built {
    /// The path of one of its binaries.
    pub fn binary(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Where the built binaries of `tool` at `version` live.
pub fn install_dir(tool: Tool, version: &str) -> PathBuf {
    crate::paths::cache_dir()
        .join("bin")
        .join(format!("{}-{version}", tool.name()))
}

/// The tool if it is built for its current recipe (nothing is built).
pub async fn installed(tool: Tool, version: Option<&str>) -> Option<Built> {
    let version = version.unwrap_or(tool.default_version()).to_owned();
    let recipe = tool.recipe(&version).ok()?;
    let go_version = go::version().await.ok()?;
    let dir = install_dir(tool, &version);
    let stamp = std::fs::read_to_string(dir.join(STAMP)).ok()?;
    let complete = recipe.outputs.iter().all(|o| dir.join(o).is_file());
    (complete && stamp.trim() == recipe.hash(&go_version)).then_some(Built {
        tool,
        version,
        dir,
        build_seconds: None,
    })
}

/// The name of the stamp file next to the binaries.
const STAMP: &str = "recipe.sha256";

/// Builds `tool` at `version` (default: the tool's default) unless it is built already.
/// `progress` receives short lines while the build runs.
pub async fn ensure(
    tool: Tool,
    version: Option<&str>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Built, ToolchainError> {
    let version = version.unwrap_or(tool.default_version()).to_owned();
    let recipe = tool.recipe(&version)?;
    let go_version = go::version().await?;
    let hash = recipe.hash(&go_version);
    let dir = install_dir(tool, &version);
    std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
    let lock_path = dir.with_extension("lock");
    let lock = std::fs::File::create(&lock_path).map_err(io("creating", &lock_path))?;
    if lock.try_lock().is_err() {
        progress(&format!("waiting for another build of {tool} {version}"));
        lock.lock().map_err(io("locking", &lock_path))?;
    }
    if let Some(built) = installed(tool, Some(&version)).await {
        return Ok(built);
    }
    let started = Instant::now();
    let work = crate::paths::cache_dir()
        .join("go")
        .join(format!("{}-{version}", tool.name()));
    recipe.run(&work, &dir, progress).await?;
    let stamp = dir.join(STAMP);
    std::fs::write(&stamp, &hash).map_err(io("writing", &stamp))?;
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(%tool, %version, seconds, "built from the Go module proxy");
    Ok(Built {
        tool,
        version,
        dir,
        build_seconds: Some(seconds),
    })
}

/// How one tool is built: files and `go` commands that make the wrapper module, then the build.
#[derive(Debug, Clone)]
pub(crate) struct Recipe {
    /// Steps, in order, run in the wrapper module's directory.
    pub(crate) steps: Vec<Step>,
    /// Binaries the build leaves in the install directory.
    pub(crate) outputs: Vec<&'static str>,
}

/// One step of a [`Recipe`].
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Write a file of the wrapper module.
    File(&'static str, String),
    /// Run `go` with these arguments (`{out}` stands for the install directory).
    Go(Vec<String>),
    /// Replace every staging module `k8s.io/kubernetes@version`'s go.mod maps to `./staging/…`
    /// with its published `v0.X.Y`, and every one the proxy does not serve with an empty local
    /// module (nothing the built commands import).
    KubernetesStaging(String),
}

impl Recipe {
    fn hash(&self, go_version: &str) -> String {
        hex::encode(Sha256::digest(format!("{go_version}\n{self:?}")))
    }

    async fn run(
        &self,
        work: &Path,
        out: &Path,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<(), ToolchainError> {
        if work.exists() {
            std::fs::remove_dir_all(work).map_err(io("clearing", work))?;
        }
        std::fs::create_dir_all(work).map_err(io("creating", work))?;
        let out_text = format!("{}/", out.display());
        for step in &self.steps {
            match step {
                Step::File(name, content) => {
                    let path = work.join(name);
                    std::fs::write(&path, content).map_err(io("writing", &path))?;
                }
                Step::Go(args) => {
                    let args: Vec<String> =
                        args.iter().map(|a| a.replace("{out}", &out_text)).collect();
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    go::run(work, &args, progress).await?;
                }
                Step::KubernetesStaging(version) => {
                    recipes::replace_staging(work, version, progress).await?;
                }
            }
        }
        Ok(())
    }
}
