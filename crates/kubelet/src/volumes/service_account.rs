//! The ServiceAccount volume: a bound token from TokenRequest, `ca.crt` and `namespace`.

use std::path::Path;

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::Api;
use kube::api::PostParams;

use super::SERVICE_ACCOUNT_DIR;
use super::files::{make_dir, write_file};
use crate::env::EnvContext;
use crate::error::Result;
use crate::{KubeletConfig, KubeletError};

pub(crate) async fn wants_auto_token(client: &kube::Client, pod: &Pod) -> Result<bool> {
    let Some(spec) = pod.spec.as_ref() else {
        return Ok(false);
    };
    let declared = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .flat_map(|c| c.volume_mounts.iter().flatten())
        .any(|m| m.mount_path.trim_end_matches('/') == SERVICE_ACCOUNT_DIR);
    if declared {
        return Ok(false);
    }
    if let Some(automount) = spec.automount_service_account_token {
        return Ok(automount);
    }
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = service_account_name(pod);
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let sa = api
        .get_opt(&name)
        .await
        .map_err(|e| KubeletError::api(format!("reading serviceaccount {ns}/{name}"), e))?;
    Ok(sa
        .and_then(|sa| sa.automount_service_account_token)
        .unwrap_or(true))
}

pub(crate) fn service_account_name(pod: &Pod) -> String {
    pod.spec
        .as_ref()
        .and_then(|s| s.service_account_name.clone().or(s.service_account.clone()))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into())
}

/// `token` (unless `token_path` says the projection writes it), `ca.crt` and `namespace`.
pub(crate) async fn write_service_account_files(
    ctx: &EnvContext<'_>,
    config: &KubeletConfig,
    dir: &Path,
    token_path: Option<&str>,
    expiration: Option<i64>,
    mode: i32,
) -> Result<()> {
    make_dir(dir, 0o755)?;
    if token_path.is_none() {
        write_file(
            dir,
            "token",
            token_for(ctx, None, expiration).await?.as_bytes(),
            mode,
        )?;
    }
    write_file(dir, "ca.crt", config.ca_pem.as_bytes(), mode)?;
    let ns = ctx.pod.metadata.namespace.as_deref().unwrap_or("default");
    write_file(dir, "namespace", ns.as_bytes(), mode)
}

/// A bound ServiceAccount token for the pod, from the API server's TokenRequest.
pub(crate) async fn token_for(
    ctx: &EnvContext<'_>,
    audience: Option<String>,
    expiration: Option<i64>,
) -> Result<String> {
    let pod = ctx.pod;
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let sa = service_account_name(pod);
    let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), ns);
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: audience.into_iter().filter(|a| !a.is_empty()).collect(),
            expiration_seconds: Some(expiration.unwrap_or(3607)),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: pod.metadata.name.clone(),
                uid: pod.metadata.uid.clone(),
            }),
        },
        ..Default::default()
    };
    let answer = api
        .create_token_request(&sa, &PostParams::default(), &request)
        .await
        .map_err(|e| {
            KubeletError::api(
                format!("requesting a token for serviceaccount {ns}/{sa}"),
                e,
            )
        })?;
    answer
        .status
        .map(|s| s.token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            KubeletError::Spec(format!(
                "the TokenRequest for serviceaccount {ns}/{sa} returned no token"
            ))
        })
}
