//! Pod volumes as host directories bind-mounted into the containers.
//!
//! emptyDir, configMap, secret, projected and downwardAPI volumes are directories under the pod's
//! own state directory; persistentVolumeClaim resolves claim → PV → its hostPath directory;
//! hostPath `/var/run/docker.sock` is the engine's socket, and other hostPaths live in a
//! simulated node filesystem under the state directory (unless configured as passthrough).

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Container, PersistentVolume, PersistentVolumeClaim, Volume};
use kube::Api;

use crate::env::{self, EnvContext, KeyRef, KeySource};
use crate::error::Result;
use crate::{KubeletConfig, KubeletError};

mod files;
mod service_account;

pub(crate) use files::{apply_fs_group, clean_relative, make_dir};
use files::{write_downward, write_file, write_object_keys};
use service_account::{token_for, wants_auto_token, write_service_account_files};

/// Where in-cluster clients look for the ServiceAccount token, CA and namespace.
pub(crate) const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
const AUTO_TOKEN_VOLUME: &str = "kube-api-access-kubelet";

/// A prepared volume: a host path and whether it may only be mounted read-only.
#[derive(Debug, Clone)]
pub(crate) struct HostVolume {
    pub path: PathBuf,
    pub read_only: bool,
}

impl HostVolume {
    /// A volume the kubelet writes and containers only read (configMap, secret, projected,
    /// downwardAPI, the ServiceAccount token).
    fn read_only(path: PathBuf) -> Self {
        HostVolume {
            path,
            read_only: true,
        }
    }
}

/// The prepared volumes of one pod, by volume name.
#[derive(Debug, Default)]
pub(crate) struct PodVolumes {
    volumes: HashMap<String, HostVolume>,
    /// The kubelet-provided ServiceAccount volume, when the pod did not declare one itself.
    auto_token: Option<HostVolume>,
}

/// Prepares every volume of `pod` under `pod_dir`.
pub(crate) async fn prepare(
    ctx: &EnvContext<'_>,
    config: &KubeletConfig,
    pod_dir: &Path,
) -> Result<PodVolumes> {
    let pod = ctx.pod;
    let spec = pod
        .spec
        .as_ref()
        .ok_or_else(|| KubeletError::Spec("pod has no spec".into()))?;
    let fs_group = spec.security_context.as_ref().and_then(|s| s.fs_group);
    let mut out = PodVolumes::default();
    for volume in spec.volumes.iter().flatten() {
        let prepared = prepare_one(ctx, config, pod_dir, volume).await?;
        if let Some(gid) = fs_group
            && volume.host_path.is_none()
        {
            apply_fs_group(&prepared.path, gid as u32)?;
        }
        out.volumes.insert(volume.name.clone(), prepared);
    }
    if wants_auto_token(ctx.client, pod).await? {
        let dir = pod_dir.join("volumes").join(AUTO_TOKEN_VOLUME);
        write_service_account_files(ctx, config, &dir, None, None, 0o644).await?;
        if let Some(gid) = fs_group {
            apply_fs_group(&dir, gid as u32)?;
        }
        out.auto_token = Some(HostVolume::read_only(dir));
    }
    Ok(out)
}

async fn prepare_one(
    ctx: &EnvContext<'_>,
    config: &KubeletConfig,
    pod_dir: &Path,
    volume: &Volume,
) -> Result<HostVolume> {
    let dir = pod_dir.join("volumes").join(&volume.name);
    let ns = ctx.pod.metadata.namespace.as_deref().unwrap_or("default");
    if volume.empty_dir.is_some() {
        make_dir(&dir, 0o777)?;
        return Ok(HostVolume {
            path: dir,
            read_only: false,
        });
    }
    if let Some(host) = &volume.host_path {
        return host_path(config, &host.path, host.type_.as_deref().unwrap_or(""));
    }
    if let Some(claim) = &volume.persistent_volume_claim {
        let path = claim_path(ctx.client, ns, &claim.claim_name).await?;
        return Ok(HostVolume {
            path,
            read_only: claim.read_only.unwrap_or(false),
        });
    }
    if let Some(cm) = &volume.config_map {
        make_dir(&dir, 0o755)?;
        let mode = cm.default_mode.unwrap_or(0o644);
        let items = cm.items.as_deref();
        let object = KeyRef::new(KeySource::ConfigMap, ns, &cm.name, cm.optional);
        write_object_keys(ctx, &dir, object, items, mode).await?;
        return Ok(HostVolume::read_only(dir));
    }
    if let Some(secret) = &volume.secret {
        make_dir(&dir, 0o755)?;
        let name = secret.secret_name.as_deref().unwrap_or_default();
        let mode = secret.default_mode.unwrap_or(0o644);
        let items = secret.items.as_deref();
        let object = KeyRef::new(KeySource::Secret, ns, name, secret.optional);
        write_object_keys(ctx, &dir, object, items, mode).await?;
        return Ok(HostVolume::read_only(dir));
    }
    if let Some(downward) = &volume.downward_api {
        make_dir(&dir, 0o755)?;
        let items = downward.items.as_deref().unwrap_or(&[]);
        write_downward(ctx, &dir, items, downward.default_mode.unwrap_or(0o644))?;
        return Ok(HostVolume::read_only(dir));
    }
    if let Some(projected) = &volume.projected {
        make_dir(&dir, 0o755)?;
        let mode = projected.default_mode.unwrap_or(0o644);
        for source in projected.sources.iter().flatten() {
            if let Some(token) = &source.service_account_token {
                write_service_account_files(
                    ctx,
                    config,
                    &dir,
                    Some(&token.path),
                    token.expiration_seconds,
                    mode,
                )
                .await?;
                write_file(
                    &dir,
                    &token.path,
                    token_for(ctx, token.audience.clone(), token.expiration_seconds)
                        .await?
                        .as_bytes(),
                    mode,
                )?;
            }
            if let Some(cm) = &source.config_map {
                let items = cm.items.as_deref();
                let object = KeyRef::new(KeySource::ConfigMap, ns, &cm.name, cm.optional);
                write_object_keys(ctx, &dir, object, items, mode).await?;
            }
            if let Some(secret) = &source.secret {
                let items = secret.items.as_deref();
                let object = KeyRef::new(KeySource::Secret, ns, &secret.name, secret.optional);
                write_object_keys(ctx, &dir, object, items, mode).await?;
            }
            if let Some(downward) = &source.downward_api {
                write_downward(ctx, &dir, downward.items.as_deref().unwrap_or(&[]), mode)?;
            }
        }
        return Ok(HostVolume::read_only(dir));
    }
    Err(KubeletError::Spec(format!(
        "volume {:?}: unsupported volume type (this node supports emptyDir, hostPath, persistentVolumeClaim, configMap, secret, projected, downwardAPI)",
        volume.name
    )))
}

/// The host path a `hostPath` volume maps to on this node.
fn host_path(config: &KubeletConfig, path: &str, type_: &str) -> Result<HostVolume> {
    if path == "/var/run/docker.sock" || path == "/run/docker.sock" {
        return Ok(HostVolume {
            path: config.docker_socket.clone(),
            read_only: false,
        });
    }
    let requested = Path::new(path);
    let host = if config
        .host_path_passthrough
        .iter()
        .any(|p| requested.starts_with(p))
    {
        requested.to_path_buf()
    } else {
        let relative = clean_relative(path.trim_start_matches('/')).ok_or_else(|| {
            KubeletError::Spec(format!(
                "hostPath {path:?} must be an absolute path without '..'"
            ))
        })?;
        let mapped = config.state_dir.join("node-fs").join(relative);
        tracing::debug!(%path, mapped = %mapped.display(), "hostPath placed in the simulated node filesystem");
        mapped
    };
    match type_ {
        "" | "DirectoryOrCreate" if !host.exists() => make_dir(&host, 0o755)?,
        "FileOrCreate" if !host.exists() => write_file(
            host.parent().unwrap_or(Path::new("/")),
            host.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
            b"",
            0o644,
        )?,
        "Directory" if !host.is_dir() => {
            return Err(KubeletError::Spec(format!(
                "hostPath type check failed: {path} is not a directory"
            )));
        }
        "File" | "Socket" | "CharDevice" | "BlockDevice" if !host.exists() => {
            return Err(KubeletError::Spec(format!(
                "hostPath type check failed: {path} does not exist ({type_})"
            )));
        }
        _ => {}
    }
    Ok(HostVolume {
        path: host,
        read_only: false,
    })
}

/// claim → bound PV → its directory.
async fn claim_path(client: &kube::Client, ns: &str, claim: &str) -> Result<PathBuf> {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let pvc = claims
        .get_opt(claim)
        .await
        .map_err(|e| KubeletError::api(format!("reading persistentvolumeclaim {ns}/{claim}"), e))?
        .ok_or_else(|| {
            KubeletError::Spec(format!(
                "persistentvolumeclaim \"{claim}\" not found in namespace {ns}"
            ))
        })?;
    let pv_name = pvc
        .spec
        .and_then(|s| s.volume_name)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            KubeletError::Spec(format!(
                "persistentvolumeclaim {ns}/{claim} is not bound to a volume yet"
            ))
        })?;
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pv = pvs.get(&pv_name).await.map_err(|e| {
        KubeletError::api(
            format!("reading persistentvolume {pv_name} of claim {ns}/{claim}"),
            e,
        )
    })?;
    let spec = pv.spec.unwrap_or_default();
    let path = spec
        .host_path
        .map(|h| h.path)
        .or(spec.local.map(|l| l.path))
        .ok_or_else(|| {
            KubeletError::Spec(format!(
                "persistentvolume {pv_name} has no hostPath or local path this node can mount"
            ))
        })?;
    let path = PathBuf::from(path);
    if !path.exists() {
        make_dir(&path, 0o777)?;
    }
    Ok(path)
}

impl PodVolumes {
    /// Docker bind specs (`src:dst[:ro]`) for `container`'s mounts; `vars` expands `subPathExpr`.
    pub(crate) fn binds(
        &self,
        container: &Container,
        vars: &[(String, String)],
    ) -> Result<Vec<String>> {
        let mut binds = Vec::new();
        for mount in container.volume_mounts.iter().flatten() {
            let volume = self.volumes.get(&mount.name).ok_or_else(|| {
                KubeletError::Spec(format!(
                    "container {:?}: volumeMount {:?} names no volume of the pod (add it to spec.volumes)",
                    container.name, mount.name
                ))
            })?;
            let sub = match (&mount.sub_path, &mount.sub_path_expr) {
                (Some(s), _) if !s.is_empty() => Some(s.clone()),
                (_, Some(e)) if !e.is_empty() => Some(env::expand(e, vars)),
                _ => None,
            };
            let mut source = volume.path.clone();
            if let Some(sub) = sub {
                let rel = clean_relative(&sub).ok_or_else(|| {
                    KubeletError::Spec(format!(
                        "container {:?}: subPath {sub:?} must be relative without '..'",
                        container.name
                    ))
                })?;
                source = source.join(rel);
                if !source.exists() {
                    let parent_mode = std::fs::metadata(&volume.path)
                        .map(|m| m.permissions().mode() & 0o7777)
                        .unwrap_or(0o755);
                    make_dir(&source, parent_mode)?;
                }
            }
            let read_only = mount.read_only.unwrap_or(false) || volume.read_only;
            binds.push(bind(&source, &mount.mount_path, read_only)?);
        }
        if let Some(auto) = &self.auto_token {
            binds.push(bind(&auto.path, SERVICE_ACCOUNT_DIR, true)?);
        }
        Ok(binds)
    }
}

fn bind(source: &Path, target: &str, read_only: bool) -> Result<String> {
    let source = source.to_string_lossy();
    if source.contains(':') || target.contains(':') {
        return Err(KubeletError::Spec(format!(
            "cannot mount {source} at {target}: paths with ':' are not supported"
        )));
    }
    Ok(format!(
        "{source}:{target}{}",
        if read_only { ":ro" } else { "" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_checked() {
        assert!(clean_relative("a/b").is_some());
        assert!(clean_relative("../etc").is_none());
        assert!(clean_relative("/etc").is_none());
    }

    #[test]
    fn docker_socket_and_sandboxed_host_paths() {
        let state = tempfile::tempdir().unwrap();
        let config = KubeletConfig::new("n", "e", state.path(), "https://127.0.0.1:1", "");
        let sock = host_path(&config, "/var/run/docker.sock", "").unwrap();
        assert_eq!(sock.path, config.docker_socket);
        let other = host_path(&config, "/home/cache", "DirectoryOrCreate").unwrap();
        assert_eq!(other.path, state.path().join("node-fs/home/cache"));
        assert!(other.path.is_dir());
        let inside = state.path().join("pv1");
        let passthrough = host_path(&config, inside.to_str().unwrap(), "").unwrap();
        assert_eq!(passthrough.path, inside);
        assert!(host_path(&config, "/nope/sock", "Socket").is_err());
    }

    #[test]
    fn fs_group_gives_group_write_and_setgid() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("v");
        make_dir(&sub, 0o755).unwrap();
        write_file(&sub, "f", b"x", 0o644).unwrap();
        apply_fs_group(&sub, 4242).unwrap();
        use std::os::unix::fs::MetadataExt;
        let d = std::fs::metadata(&sub).unwrap();
        assert_eq!(d.gid(), 4242);
        assert_eq!(d.mode() & 0o2070, 0o2070);
        let f = std::fs::metadata(sub.join("f")).unwrap();
        assert_eq!(f.mode() & 0o060, 0o060);
    }
}
