//! Starting and stopping the server: certificates, kubeconfig, HTTPS accept loop, bootstrap
//! objects and controllers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::auth::{Authenticator, UserInfo, random_token};
use crate::config::ApiServerConfig;
use crate::http::{AppState, PeerIdentity};
use crate::node_streams::NodeStreams;
use crate::registry::{Registry, WriteOptions};
use crate::snapshot::{self, Identity, Snapshot, SnapshotError};
use crate::status::ApiError;
use crate::tls::{Pki, TlsError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ApiServerError {
    /// A file under the state directory could not be written.
    #[error("writing {path} (is the state directory writable?)")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Certificates or TLS configuration failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Binding 127.0.0.1:0 failed.
    #[error("binding 127.0.0.1: {0}")]
    Bind(std::io::Error),
    /// The kube client could not be built from the generated kubeconfig.
    #[error("building a kube client: {0}")]
    Client(String),
    /// The saved state could not be read.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

/// The embedded API server.
pub struct ApiServer;

/// A running server; stops when shut down or dropped.
pub struct ApiServerHandle {
    state: Arc<AppState>,
    addr: SocketAddr,
    pki: Pki,
    admin_token: String,
    kubeconfig: PathBuf,
    config: ApiServerConfig,
    tasks: Vec<JoinHandle<()>>,
    /// Set when the state is kept on disk (`config.persist`).
    saved_as: Option<(Arc<Identity>, PathBuf)>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ApiServerError + '_ {
    move |source| ApiServerError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl ApiServer {
    /// Starts a server on 127.0.0.1 and writes `state_dir/kubeconfig`. With `config.persist` and
    /// a snapshot in the state directory, it starts from that snapshot (same CA, tokens, objects
    /// and, when the port is free, address); otherwise with a fresh CA and an empty cluster.
    pub async fn start(config: ApiServerConfig) -> Result<ApiServerHandle, ApiServerError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        std::fs::create_dir_all(config.state_dir.join("volumes"))
            .map_err(io_err(&config.state_dir))?;
        let snapshot_path = snapshot::path_in(&config.state_dir);
        let saved = if config.persist {
            Snapshot::load(&snapshot_path)?
        } else {
            None
        };
        let (pki, admin_token, auth) = match &saved {
            Some(s) => {
                let auth = Authenticator::import(&s.service_account_key, s.tokens.clone())
                    .ok_or_else(|| SnapshotError::Unreadable {
                        path: snapshot_path.clone(),
                        reason: "the ServiceAccount signing key is not 32 hex bytes".into(),
                    })?;
                (Pki::from_pem(&s.pki)?, s.admin_token.clone(), auth)
            }
            None => {
                let admin_token = random_token();
                let auth = Authenticator::new();
                auth.add_token(&admin_token, UserInfo::new("admin", &["system:masters"]));
                (Pki::generate()?, admin_token, auth)
            }
        };
        let tls = tokio_rustls::TlsAcceptor::from(pki.server_config()?);
        let listener = bind(saved.as_ref().map(|s| s.address)).await?;
        let addr = listener.local_addr().map_err(ApiServerError::Bind)?;
        let registry = Arc::new(Registry::with_history(config.watch_history));
        registry.set_root_ca(&pki.ca_pem);
        let shutdown = CancellationToken::new();
        let state = Arc::new(AppState {
            registry: registry.clone(),
            auth,
            nodes: RwLock::new(HashMap::new()),
            version: config.version,
            address: addr.to_string(),
            shutdown: shutdown.clone(),
        });
        match saved {
            Some(mut s) => {
                let objects = s.take_objects();
                tracing::info!(objects = objects.len(), path = %snapshot_path.display(), "cluster restored from its snapshot");
                registry.store.restore(s.resource_version, objects);
                if s.address != addr {
                    tracing::warn!(was = %s.address, now = %addr, "the saved address is taken; clients must use the rewritten kubeconfig");
                    point_kubernetes_service_at(&registry, addr);
                }
            }
            None => bootstrap(&registry, &config, addr),
        }
        let kubeconfig = config.state_dir.join("kubeconfig");
        write_kubeconfig(
            &kubeconfig,
            &config.cluster_name,
            addr,
            &pki.ca_pem,
            &admin_token,
        )?;
        std::fs::write(config.state_dir.join("ca.crt"), &pki.ca_pem)
            .map_err(io_err(&config.state_dir))?;

        let mut tasks = vec![tokio::spawn(accept_loop(listener, tls, state.clone()))];
        tasks.extend(crate::controllers::spawn_all(
            registry,
            &config,
            shutdown.clone(),
            &pki.ca_pem,
        ));
        let saved_as = if config.persist {
            let identity = Arc::new(Identity {
                address: addr,
                pki: pki.to_pem()?,
                admin_token: admin_token.clone(),
            });
            tasks.push(tokio::spawn(snapshot::keep_saved(
                state.clone(),
                identity.clone(),
                snapshot_path.clone(),
                shutdown,
            )));
            Some((identity, snapshot_path))
        } else {
            None
        };
        tracing::info!(url = %format!("https://{addr}"), kubeconfig = %kubeconfig.display(), "embedded API server started");
        Ok(ApiServerHandle {
            state,
            addr,
            pki,
            admin_token,
            kubeconfig,
            config,
            tasks,
            saved_as,
        })
    }
}

/// Binds the saved address when there is one and it is free, else a new port on 127.0.0.1.
async fn bind(saved: Option<SocketAddr>) -> Result<TcpListener, ApiServerError> {
    if let Some(addr) = saved
        && let Ok(listener) = TcpListener::bind(addr).await
    {
        return Ok(listener);
    }
    TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(ApiServerError::Bind)
}

/// How long a connection may take to finish its responses once the server stops.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

async fn accept_loop(listener: TcpListener, tls: tokio_rustls::TlsAcceptor, state: Arc<AppState>) {
    let router = crate::http::router(state.clone());
    loop {
        let accepted = tokio::select! {
            _ = state.shutdown.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((tcp, _)) = accepted else { continue };
        let tls = tls.clone();
        let router = router.clone();
        let shutdown = state.shutdown.clone();
        tokio::spawn(async move {
            let Ok(stream) = tls.accept(tcp).await else {
                return;
            };
            let identity = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|c| crate::tls::identity_from_cert(c.as_ref()));
            let peer = PeerIdentity(identity);
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(peer.clone());
                    router.clone().oneshot(req.map(axum::body::Body::new))
                },
            );
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = shutdown.cancelled() => {}
            }
            // Let the responses in flight end (watches end on shutdown) and close with TLS
            // close_notify: dropped mid-stream, a client sees a truncated watch and warns.
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(CLOSE_GRACE, conn).await;
        });
    }
}

fn write_kubeconfig(
    path: &Path,
    cluster: &str,
    addr: SocketAddr,
    ca_pem: &str,
    token: &str,
) -> Result<(), ApiServerError> {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let doc = json!({
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": cluster, "cluster": {"server": format!("https://{addr}"), "certificate-authority-data": ca}}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": "admin", "namespace": "default"}}],
        "current-context": cluster,
    });
    let yaml = serde_norway::to_string(&doc).unwrap_or_default();
    std::fs::write(path, yaml).map_err(io_err(path))
}

fn bootstrap(registry: &Registry, config: &ApiServerConfig, addr: SocketAddr) {
    let opts = WriteOptions {
        field_manager: "kube-apiserver".into(),
        ..Default::default()
    };
    let create = |group: &str, plural: &str, ns: &str, obj: Value| {
        let created = registry
            .kind(group, plural)
            .map_err(ApiError::from)
            .and_then(|kind| registry.create(kind, ns, obj, &opts));
        if let Err(e) = created {
            tracing::warn!(error = %e.message, "bootstrap object");
        }
    };
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        create("", "namespaces", "", json!({"metadata": {"name": ns}}));
    }
    for (plural, obj) in crate::rbac::bootstrap_objects() {
        create("rbac.authorization.k8s.io", plural, "", obj);
    }
    for sc in &config.storage_classes {
        let mut annotations = serde_json::Map::new();
        if sc.is_default {
            annotations.insert(
                "storageclass.kubernetes.io/is-default-class".into(),
                json!("true"),
            );
        }
        annotations.insert(
            "harness.gitlab-k8s/simulated-provisioner".into(),
            json!("true"),
        );
        create(
            "storage.k8s.io",
            "storageclasses",
            "",
            json!({
            "metadata": {"name": sc.name, "annotations": annotations},
            "provisioner": sc.provisioner, "reclaimPolicy": "Delete",
            "volumeBindingMode": sc.volume_binding_mode}),
        );
    }
    create(
        "",
        "services",
        "default",
        json!({"metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": addr.port()}]}}),
    );
    create(
        "",
        "endpoints",
        "default",
        json!({"metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": kubernetes_subsets(addr)}),
    );
}

fn kubernetes_subsets(addr: SocketAddr) -> Value {
    json!([{"addresses": [{"ip": addr.ip().to_string()}], "ports": [{"name": "https", "port": addr.port(), "protocol": "TCP"}]}])
}

/// After a restart on another port: the `kubernetes` Service and Endpoints name the new one.
fn point_kubernetes_service_at(registry: &Registry, addr: SocketAddr) {
    let store = &registry.store;
    let (Ok(endpoints), Ok(services)) = (
        registry.kind("", "endpoints"),
        registry.kind("", "services"),
    ) else {
        tracing::error!(
            "the kubernetes Service keeps its old port: Services or Endpoints are not served"
        );
        return;
    };
    let _ = store.modify(
        crate::kinds::index_of(endpoints),
        "default",
        "kubernetes",
        |v| -> Result<bool, ()> {
            v["subsets"] = kubernetes_subsets(addr);
            Ok(true)
        },
    );
    let _ = store.modify(
        crate::kinds::index_of(services),
        "default",
        "kubernetes",
        |v| -> Result<bool, ()> {
            v["spec"]["ports"][0]["targetPort"] = json!(addr.port());
            Ok(true)
        },
    );
}

impl ApiServerHandle {
    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Path of the admin kubeconfig (`KUBECONFIG=… kubectl` works with it).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The CA certificate (PEM) clients must trust.
    pub fn ca_pem(&self) -> &str {
        &self.pki.ca_pem
    }

    /// The admin bearer token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &ApiServerConfig {
        &self.config
    }

    /// Direct access to objects (in-process callers and tests).
    pub fn registry(&self) -> &Arc<Registry> {
        &self.state.registry
    }

    /// An admin `kube::Client`.
    pub async fn client(&self) -> Result<kube::Client, ApiServerError> {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig)
            .map_err(|e| ApiServerError::Client(e.to_string()))?;
        let cfg =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| ApiServerError::Client(e.to_string()))?;
        kube::Client::try_from(cfg).map_err(|e| ApiServerError::Client(e.to_string()))
    }

    /// Issues a client certificate (PEM cert, PEM key) for a user and groups, signed by the CA.
    pub fn issue_client_cert(
        &self,
        user: &str,
        groups: &[&str],
    ) -> Result<(String, String), ApiServerError> {
        let c = self.pki.client_cert(user, groups)?;
        Ok((c.cert_pem, c.key_pem))
    }

    /// Registers a static bearer token for a user (e.g. a kubelet identity).
    pub fn add_token(&self, token: &str, user: &str, groups: &[&str]) {
        self.state
            .auth
            .add_token(token, UserInfo::new(user, groups));
    }

    /// Issues a ServiceAccount token as TokenRequest would (None if the ServiceAccount is missing).
    pub fn service_account_token(
        &self,
        namespace: &str,
        name: &str,
        expiration_seconds: i64,
    ) -> Option<String> {
        let reg = &self.state.registry;
        let sa_kind = reg
            .kind("", "serviceaccounts")
            .inspect_err(|e| tracing::error!(error = %e, "issuing a ServiceAccount token"))
            .ok()?;
        let sa = reg.get(sa_kind, namespace, name).ok()?;
        Some(
            self.state
                .auth
                .issue_sa_token(
                    namespace,
                    name,
                    crate::meta::uid(&sa.value),
                    expiration_seconds,
                    &[],
                    None,
                )
                .0,
        )
    }

    /// Registers the stream provider (kubelet) of a node; replaces an earlier one.
    pub fn register_node_streams(&self, node_name: &str, streams: Arc<dyn NodeStreams>) {
        if let Ok(mut m) = self.state.nodes.write() {
            m.insert(node_name.to_string(), streams);
        }
    }

    /// Removes a node's stream provider.
    pub fn unregister_node_streams(&self, node_name: &str) {
        if let Ok(mut m) = self.state.nodes.write() {
            m.remove(node_name);
        }
    }

    /// Stops serving and all controllers, waits for them and, when the state is kept on disk,
    /// saves it a last time.
    pub async fn shutdown(mut self) {
        self.state.shutdown.cancel();
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        self.save_now();
    }

    /// Writes the snapshot now (no-op unless `config.persist`).
    pub fn save_now(&self) {
        if let Some((identity, path)) = &self.saved_as {
            let snapshot =
                snapshot::capture(&self.state.registry.store, identity, &self.state.auth);
            if let Err(e) = snapshot.save(path) {
                tracing::warn!(error = %harness_error_chain::Chain(&e), "saving the cluster snapshot");
            }
        }
    }
}

impl Drop for ApiServerHandle {
    fn drop(&mut self) {
        if !self.state.shutdown.is_cancelled() {
            self.save_now();
        }
        self.state.shutdown.cancel();
        for t in &self.tasks {
            t.abort();
        }
    }
}
