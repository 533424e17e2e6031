//! Saving the server's state to its state directory and starting again from it, so an
//! environment kept on disk survives a restart of the process that serves it: every object, the
//! resourceVersion counter, the PKI (the CA that kubeconfigs and client certificates trust), the
//! admin and static tokens and the ServiceAccount signing key, and the address clients know.
//!
//! The file is `state_dir/cluster-state.json`, written atomically (temporary file + rename) a
//! moment after changes settle and once more at shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::auth::UserInfo;
use crate::kinds;
use crate::store::Store;
use crate::tls::PkiPem;

/// The snapshot file's name inside the state directory.
pub const FILE_NAME: &str = "cluster-state.json";

/// The format this version writes and reads.
const FORMAT: u32 = 1;

/// How long changes must settle before the file is rewritten.
const SETTLE: Duration = Duration::from_millis(500);

/// Why a snapshot could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Reading or writing the file failed.
    #[error("{path}")]
    Io {
        /// The snapshot file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a snapshot this version understands.
    #[error(
        "{path}: not a cluster snapshot this version can read ({reason}); move the file away to start with an empty cluster"
    )]
    Unreadable {
        /// The snapshot file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// One saved object with the resource it belongs to.
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedObject {
    /// API group ("" for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Resource (plural).
    pub resource: String,
    /// The object as stored.
    pub object: Value,
}

/// Everything a restarted server needs.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// File format version.
    pub format: u32,
    /// The address clients were given.
    pub address: SocketAddr,
    /// The store's resourceVersion.
    pub resource_version: u64,
    /// CA and server certificate with their keys.
    pub pki: PkiPem,
    /// The admin's bearer token (in the kubeconfig).
    pub admin_token: String,
    /// Static bearer tokens (kubelets and other registered identities).
    pub tokens: Vec<(String, UserInfo)>,
    /// The key ServiceAccount tokens are signed with (hex).
    pub service_account_key: String,
    /// Every object.
    pub objects: Vec<SavedObject>,
}

/// The snapshot file of a state directory.
pub fn path_in(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

impl Snapshot {
    /// Reads the snapshot at `path`; `Ok(None)` when there is none.
    pub fn load(path: &Path) -> Result<Option<Self>, SnapshotError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(SnapshotError::Io {
                    path: path.into(),
                    source,
                });
            }
        };
        let unreadable = |reason: String| SnapshotError::Unreadable {
            path: path.into(),
            reason,
        };
        let snapshot: Snapshot =
            serde_json::from_slice(&bytes).map_err(|e| unreadable(e.to_string()))?;
        if snapshot.format != FORMAT {
            return Err(unreadable(format!(
                "format {} where {FORMAT} is expected",
                snapshot.format
            )));
        }
        Ok(Some(snapshot))
    }

    /// Writes the snapshot to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), SnapshotError> {
        let io = |source| SnapshotError::Io {
            path: path.into(),
            source,
        };
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(self).map_err(|e| io(std::io::Error::other(e)))?;
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The objects with their kind indexes; objects of kinds this version lacks are skipped
    /// with a warning.
    pub fn take_objects(&mut self) -> Vec<(usize, Value)> {
        std::mem::take(&mut self.objects)
            .into_iter()
            .filter_map(
                |o| match kinds::find(&o.group, &o.version, &o.resource) {
                    Some(info) => Some((kinds::index_of(info), o.object)),
                    None => {
                        tracing::warn!(group = %o.group, resource = %o.resource, "snapshot holds a resource this server does not serve; skipped");
                        None
                    }
                },
            )
            .collect()
    }
}

/// What a snapshot needs besides the store: fixed for the server's lifetime.
pub struct Identity {
    /// Listening address.
    pub address: SocketAddr,
    /// PKI as PEM.
    pub pki: PkiPem,
    /// Admin token.
    pub admin_token: String,
}

/// Captures the current state.
pub fn capture(store: &Store, identity: &Identity, auth: &crate::auth::Authenticator) -> Snapshot {
    let (rv, objects) = store.snapshot();
    let (service_account_key, tokens) = auth.export();
    let all = kinds::all();
    Snapshot {
        format: FORMAT,
        address: identity.address,
        resource_version: rv,
        pki: identity.pki.clone(),
        admin_token: identity.admin_token.clone(),
        tokens,
        service_account_key,
        objects: objects
            .into_iter()
            .map(|(kind, stored)| SavedObject {
                group: all[kind].group.into(),
                version: all[kind].version.into(),
                resource: all[kind].plural.into(),
                object: stored.value.clone(),
            })
            .collect(),
    }
}

/// Rewrites the snapshot a moment after changes settle, until `shutdown`.
pub async fn keep_saved(
    state: Arc<crate::http::AppState>,
    identity: Arc<Identity>,
    path: PathBuf,
    shutdown: CancellationToken,
) {
    let mut changes = state.registry.store.changes();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            change = changes.recv() => match change {
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
        }
        // Let a burst of changes settle, then write once.
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(SETTLE) => {}
        }
        changes = changes.resubscribe();
        let snapshot = capture(&state.registry.store, &identity, &state.auth);
        let path = path.clone();
        let saved = tokio::task::spawn_blocking(move || snapshot.save(&path)).await;
        if let Ok(Err(e)) = saved {
            tracing::warn!(error = %e, "saving the cluster snapshot");
        }
    }
}
