//! The command line, defined with clap's derive API. Help texts are the user manual's first page.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Reproduce a GitLab CI setup whose runner lives in Kubernetes, end to end, on this machine.
///
/// The embedded environment is a Kubernetes API server with a kubelet that runs pods as Docker
/// containers, a GitLab (Runner API + git over HTTP), an image registry, a Maven repository and
/// the gitlab-runner installed from Helm chart values. Scenarios (YAML files under `scenarios/`)
/// bring it up, push the sample project, run the pipeline and assert on the result.
///
/// Typical use:
///   harness doctor --fix            # install and start what the environment needs
///   harness run scenarios/tutorial.yaml
///   harness up                      # leave an environment running, then use kubectl by hand
///
/// Exit codes: 0 success, 1 failed scenario/assertion/lint, 2 usage error or component not
/// available, 3 missing prerequisite (run `harness doctor --fix`), 130 interrupted.
#[derive(Debug, Parser)]
#[command(name = "harness", version, about, long_about, verbatim_doc_comment)]
pub struct Cli {
    /// Show the components' logs on the terminal too (-v debug, -vv trace); they always go to a
    /// log file (the environment's state directory, or the cache directory's `logs/`).
    /// `RUST_LOG` sets the filter and shows them too.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Keep only warnings and errors in the log.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bring an environment up and keep it running until Ctrl-C.
    ///
    /// Prints the kubeconfig path, the GitLab URL and credentials, the registry and copy-paste
    /// commands (`export KUBECONFIG=…`, `kubectl get po -n gitlab-runners`, `git push …`).
    Up(UpArgs),
    /// Remove what a crashed environment left behind (containers, processes, state).
    Down(DownArgs),
    /// Run scenarios and report (summary table, optional JUnit XML).
    Run(RunArgs),
    /// Check a `.gitlab-ci.yml` the way GitLab does; prints each error with its line.
    Lint(LintArgs),
    /// Render the gitlab-runner chart from a values file, as `helm template` would print it.
    Render(RenderArgs),
    /// Report what a chart upgrade silently changes for a values file, with the fix for each.
    UpgradeCheck(UpgradeCheckArgs),
    /// Check (and with --fix provide) the machine's prerequisites: Docker engine, git, JDK,
    /// Maven, kubectl, the registry and debootstrap.
    Doctor(DoctorArgs),
    /// Provide every image the scenarios name: local, pulled, or a stand-in built from Debian
    /// packages; lists image → source → size.
    Images(ImagesArgs),
    /// Serve the Maven repository and the image registry of an environment in the foreground.
    Services(ServicesArgs),
    /// Print the JSON Schema of the scenario format (for editors).
    Schema,
    /// Time the tutorial pipeline through the harness against the same commands run bare.
    Bench(BenchArgs),
    /// Build the real components from their Go modules (upstream Kubernetes, etcd, CoreDNS,
    /// crictl, Helm) into the cache, once per version; `harness doctor --fix` runs it.
    Build(BuildArgs),
    /// The embedded cluster as a process of its own (`harness cluster serve`).
    Cluster(ClusterArgs),
    /// The embedded GitLab as a process of its own (`harness gitlab serve`).
    Gitlab(GitLabArgs),
}

impl Command {
    /// The subcommand's name, which names its log file until an environment has one.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Up(_) => "up",
            Command::Down(_) => "down",
            Command::Run(_) => "run",
            Command::Lint(_) => "lint",
            Command::Render(_) => "render",
            Command::UpgradeCheck(_) => "upgrade-check",
            Command::Doctor(_) => "doctor",
            Command::Images(_) => "images",
            Command::Services(_) => "services",
            Command::Schema => "schema",
            Command::Bench(_) => "bench",
            Command::Build(_) => "build",
            Command::Cluster(_) => "cluster",
            Command::Gitlab(_) => "gitlab",
        }
    }
}

/// Which backends serve the scenarios: the scenario file's choice unless given here (or in the
/// `HARNESS_*` variables named below).
#[derive(Debug, Clone, Default, Args)]
pub struct BackendArgs {
    /// Cluster backend for every scenario: embedded, upstream, existing, k3s or kind.
    #[arg(
        long,
        value_name = "BACKEND",
        env = "HARNESS_CLUSTER",
        help_heading = "Backends"
    )]
    pub cluster: Option<crate::scenario::model::Backend>,
    /// Kubeconfig of an existing cluster (implies --cluster existing).
    #[arg(
        long,
        value_name = "PATH",
        env = "HARNESS_KUBECONFIG",
        help_heading = "Backends"
    )]
    pub kubeconfig: Option<PathBuf>,
    /// Kubernetes version of the upstream backend (a built one).
    #[arg(
        long,
        value_name = "VERSION",
        env = "HARNESS_KUBERNETES_VERSION",
        help_heading = "Backends"
    )]
    pub kubernetes_version: Option<String>,
    /// GitLab backend for every scenario: embedded or external.
    #[arg(
        long,
        value_name = "BACKEND",
        env = "HARNESS_GITLAB",
        help_heading = "Backends"
    )]
    pub gitlab: Option<crate::scenario::model::GitLabBackend>,
    /// URL of an external GitLab (implies --gitlab external).
    #[arg(
        long,
        value_name = "URL",
        env = "HARNESS_GITLAB_URL",
        help_heading = "Backends"
    )]
    pub gitlab_url: Option<String>,
    /// Personal access token (api scope) for the external GitLab.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "HARNESS_GITLAB_TOKEN",
        hide_env_values = true,
        help_heading = "Backends"
    )]
    pub gitlab_token: Option<String>,
    /// Address pods reach this machine at (where GitLab and the Maven service listen), for
    /// clusters whose nodes are not this machine.
    #[arg(
        long,
        value_name = "IP",
        env = "HARNESS_ADVERTISE_ADDRESS",
        help_heading = "Backends"
    )]
    pub advertise_address: Option<std::net::IpAddr>,
}

impl BackendArgs {
    /// As overrides of the scenarios' own choices.
    pub fn overrides(&self) -> crate::backends::Overrides {
        crate::backends::Overrides {
            cluster: self.cluster,
            kubeconfig: self.kubeconfig.clone(),
            kubernetes_version: self.kubernetes_version.clone(),
            gitlab: self.gitlab,
            gitlab_url: self.gitlab_url.clone(),
            gitlab_token: self.gitlab_token.clone(),
            advertise_address: self.advertise_address,
        }
    }
}

/// `harness up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Scenario whose environment and setup steps to bring up (default: scenarios/tutorial.yaml).
    pub scenario: Option<PathBuf>,
    /// Backends.
    #[command(flatten)]
    pub backends: BackendArgs,
}

/// `harness build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// What to build: kubernetes, etcd, coredns, crictl, helm (default: all).
    #[arg(value_name = "TOOL")]
    pub tools: Vec<String>,
    /// Kubernetes version (default: the newest that runs here).
    #[arg(long, value_name = "VERSION", env = "HARNESS_KUBERNETES_VERSION")]
    pub kubernetes_version: Option<String>,
}

/// `harness cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ClusterCommand,
}

/// `harness cluster …`.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Run the embedded cluster (API server + kubelets) in the foreground; prints
    /// `KUBECONFIG=<path>` and keeps it up until Ctrl-C. Use it with `--cluster existing
    /// --kubeconfig <path>` from another shell.
    Serve(ClusterServeArgs),
}

/// `harness cluster serve`.
#[derive(Debug, Args)]
pub struct ClusterServeArgs {
    /// Node names.
    #[arg(long = "node", value_name = "NAME", default_values_t = ["node-1".to_string()])]
    pub nodes: Vec<String>,
}

/// `harness gitlab`.
#[derive(Debug, Args)]
pub struct GitLabArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: GitLabCommand,
}

/// `harness gitlab …`.
#[derive(Debug, Subcommand)]
pub enum GitLabCommand {
    /// Run the embedded GitLab in the foreground; prints `GITLAB_URL=<url>` and
    /// `GITLAB_TOKEN=<personal access token, api scope>` and keeps it up until Ctrl-C. Use it
    /// with `--gitlab external --gitlab-url … --gitlab-token …` from another shell.
    Serve(GitLabServeArgs),
}

/// `harness gitlab serve`.
#[derive(Debug, Args)]
pub struct GitLabServeArgs {
    /// Address to listen on (pods must reach it; default 127.0.0.1).
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    pub listen: std::net::IpAddr,
}

/// `harness down`.
#[derive(Debug, Args)]
pub struct DownArgs {
    /// Only the environment with this id (default: every environment of this user).
    #[arg(long)]
    pub env: Option<String>,
}

/// `harness run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files (YAML).
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Keep the state directory of failed scenarios (always printed).
    #[arg(long)]
    pub keep: bool,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Directory for each scenario's pipeline picture and failed jobs' traces.
    #[arg(long, value_name = "DIR", default_value = "harness-report")]
    pub report_dir: PathBuf,
    /// Backends.
    #[command(flatten)]
    pub backends: BackendArgs,
}

/// `harness lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// The `.gitlab-ci.yml` to check.
    pub file: PathBuf,
}

/// `harness render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The values file (the tutorial's is fixtures/tutorial/values.yaml).
    pub values: PathBuf,
    /// Chart version: 0.14.0, current, or a chart directory.
    #[arg(long, default_value = "0.14.0")]
    pub chart: String,
    /// Set a value, as `helm --set key=value` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Release name.
    #[arg(long, default_value = "gitlab-runner")]
    pub name: String,
    /// Namespace.
    #[arg(long, short = 'n', default_value = "gitlab-runners")]
    pub namespace: String,
    /// Render the chart as published, without the tutorial's configmap patch.
    #[arg(long)]
    pub no_tutorial_patch: bool,
}

/// `harness upgrade-check`.
#[derive(Debug, Args)]
pub struct UpgradeCheckArgs {
    /// The values file to check.
    pub values: PathBuf,
    /// Chart version the values were written for.
    #[arg(long, default_value = "0.14.0")]
    pub from: String,
    /// Chart version to upgrade to.
    #[arg(long, default_value = "current")]
    pub to: String,
    /// Extra manifests installed next to the chart (RBAC, PVC) to check too.
    #[arg(long = "manifest", value_name = "FILE")]
    pub manifests: Vec<PathBuf>,
}

/// `harness doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Install missing packages and start the Docker engine (needs root on Debian/Ubuntu).
    #[arg(long)]
    pub fix: bool,
    /// Print only what is missing or was done, then one summary line (`./x demo` uses it).
    #[arg(long)]
    pub brief: bool,
}

/// `harness images`.
#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Only these image references (default: every image the catalog knows).
    pub images: Vec<String>,
    /// Only list what is present; build nothing.
    #[arg(long)]
    pub list: bool,
    /// Print only images that were built or failed, then one summary line (`./x demo` uses it).
    #[arg(long)]
    pub brief: bool,
}

/// `harness services`.
#[derive(Debug, Args)]
pub struct ServicesArgs {
    /// Registry user (the tutorial's DOCKER_USERNAME).
    #[arg(long, default_value = "gitlab-ci")]
    pub registry_user: String,
    /// Registry password (the tutorial's DOCKER_PASSWORD).
    #[arg(long, default_value = "gitlab-ci-password")]
    pub registry_password: String,
}

/// `harness bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Scenario whose environment and setup steps to use (default: scenarios/tutorial.yaml).
    pub scenario: Option<PathBuf>,
    /// Warm rounds of each.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Backends.
    #[command(flatten)]
    pub backends: BackendArgs,
}
