//! Container environment: in-cluster API variables, `envFrom`, `env` with `valueFrom`, and
//! Kubernetes' `$(VAR)` expansion (also applied to command and args).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, ObjectFieldSelector, Pod};

use crate::KubeletError;
use crate::error::Result;

mod keys;

pub(crate) use keys::{KeyRef, KeySource};

/// What the environment of a pod's containers is computed from.
pub(crate) struct EnvContext<'a> {
    pub client: &'a kube::Client,
    pub pod: &'a Pod,
    /// Where containers reach the API server (host network: the server's own address).
    pub api_host: &'a str,
    pub api_port: u16,
    /// The pod's (and node's) IP: pods use the host network.
    pub pod_ip: &'a str,
}

/// The ordered `NAME=value` list of `container`.
pub(crate) async fn container_env(
    ctx: &EnvContext<'_>,
    container: &Container,
) -> Result<Vec<(String, String)>> {
    let mut vars: Vec<(String, String)> = service_vars(ctx.api_host, ctx.api_port);
    let ns = namespace(ctx.pod);
    for source in container.env_from.iter().flatten() {
        let prefix = source.prefix.clone().unwrap_or_default();
        let config_map = source.config_map_ref.as_ref();
        let secret = source.secret_ref.as_ref();
        let objects = [
            config_map.map(|r| KeyRef::new(KeySource::ConfigMap, ns, &r.name, r.optional)),
            secret.map(|r| KeyRef::new(KeySource::Secret, ns, &r.name, r.optional)),
        ];
        for object in objects.into_iter().flatten() {
            if let Some(data) = object.text(ctx.client).await? {
                for (k, v) in data {
                    set(&mut vars, format!("{prefix}{k}"), v);
                }
            }
        }
    }
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(value), _) => Some(expand(value, &vars)),
            (None, Some(from)) => {
                if let Some(field) = &from.field_ref {
                    Some(field_value(ctx, field)?)
                } else if let Some((object, key)) = KeyRef::of_env_var(from, ns) {
                    object.lookup(ctx.client, key).await?
                } else if let Some(res) = &from.resource_field_ref {
                    Some(resource_value(container, &res.resource))
                } else {
                    Some(String::new())
                }
            }
            (None, None) => Some(String::new()),
        };
        if let Some(value) = value {
            set(&mut vars, var.name.clone(), value);
        }
    }
    Ok(vars)
}

/// The variables in-cluster clients (kubectl, the kube crate) read to find the API server.
fn service_vars(host: &str, port: u16) -> Vec<(String, String)> {
    vec![
        ("KUBERNETES_SERVICE_HOST".into(), host.into()),
        ("KUBERNETES_SERVICE_PORT".into(), port.to_string()),
        ("KUBERNETES_SERVICE_PORT_HTTPS".into(), port.to_string()),
        ("KUBERNETES_PORT".into(), format!("tcp://{host}:{port}")),
        (
            format!("KUBERNETES_PORT_{port}_TCP"),
            format!("tcp://{host}:{port}"),
        ),
        (format!("KUBERNETES_PORT_{port}_TCP_PROTO"), "tcp".into()),
        (format!("KUBERNETES_PORT_{port}_TCP_PORT"), port.to_string()),
        (format!("KUBERNETES_PORT_{port}_TCP_ADDR"), host.into()),
    ]
}

fn set(vars: &mut Vec<(String, String)>, name: String, value: String) {
    match vars.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = value,
        None => vars.push((name, value)),
    }
}

fn namespace(pod: &Pod) -> &str {
    pod.metadata.namespace.as_deref().unwrap_or("default")
}

/// The value of a downward-API field (`metadata.name`, `status.podIP`, `metadata.labels['x']`, …).
pub(crate) fn field_value(ctx: &EnvContext<'_>, field: &ObjectFieldSelector) -> Result<String> {
    let pod = ctx.pod;
    let meta = &pod.metadata;
    let path = field.field_path.as_str();
    let map_entry = |map: &Option<BTreeMap<String, String>>, prefix: &str| -> Option<String> {
        let key = path.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(
            map.as_ref()
                .and_then(|m| m.get(key))
                .cloned()
                .unwrap_or_default(),
        )
    };
    let spec = pod.spec.as_ref();
    let value = match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => namespace(pod).to_owned(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_else(|| "default".into()),
        "status.hostIP" | "status.hostIPs" | "status.podIP" | "status.podIPs" => {
            ctx.pod_ip.to_owned()
        }
        "metadata.labels" => format_map(&meta.labels),
        "metadata.annotations" => format_map(&meta.annotations),
        _ => {
            if let Some(v) = map_entry(&meta.labels, "metadata.labels['") {
                v
            } else if let Some(v) = map_entry(&meta.annotations, "metadata.annotations['") {
                v
            } else {
                return Err(KubeletError::Spec(format!(
                    "unsupported fieldRef.fieldPath {path:?} (supported: metadata.name, metadata.namespace, metadata.uid, \
                     metadata.labels['k'], metadata.annotations['k'], spec.nodeName, spec.serviceAccountName, status.podIP, status.hostIP)"
                )));
            }
        }
    };
    Ok(value)
}

/// `key="value"` lines, as the downward API writes label and annotation files.
pub(crate) fn format_map(map: &Option<BTreeMap<String, String>>) -> String {
    map.iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A container's resource limit or request for `resourceFieldRef` (`0` when unset).
pub(crate) fn resource_value(container: &Container, resource: &str) -> String {
    let resources = container.resources.as_ref();
    let (map, key) = match resource.split_once('.') {
        Some(("limits", key)) => (resources.and_then(|r| r.limits.as_ref()), key),
        Some(("requests", key)) => (resources.and_then(|r| r.requests.as_ref()), key),
        _ => (None, resource),
    };
    let Some(quantity) = map.and_then(|m| m.get(key)) else {
        return "0".into();
    };
    if key == "cpu" {
        crate::quantity::parse_nano_cpus(&quantity.0)
            .map(|n| ((n + 999_999_999) / 1_000_000_000).to_string())
            .unwrap_or_else(|| quantity.0.clone())
    } else {
        crate::quantity::parse_bytes(&quantity.0)
            .map(|n| n.to_string())
            .unwrap_or_else(|| quantity.0.clone())
    }
}

/// Kubernetes' `$(VAR)` expansion: defined variables are replaced, `$$` escapes, unknown
/// references stay as written.
pub(crate) fn expand(text: &str, vars: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
        {
            let name = &inner[..end];
            match vars.iter().rev().find(|(n, _)| n == name) {
                Some((_, value)) => out.push_str(value),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vec<(String, String)> {
        vec![("A".into(), "1".into()), ("B".into(), "two".into())]
    }

    #[test]
    fn expansion_follows_kubernetes_rules() {
        assert_eq!(expand("x$(A)y$(B)", &vars()), "x1ytwo");
        assert_eq!(expand("$$(A)", &vars()), "$(A)");
        assert_eq!(expand("$(NOPE) $HOME", &vars()), "$(NOPE) $HOME");
        assert_eq!(expand("$(A", &vars()), "$(A");
    }

    #[test]
    fn service_vars_point_at_the_api_server() {
        let v = service_vars("127.0.0.1", 6443);
        assert!(v.contains(&("KUBERNETES_SERVICE_HOST".into(), "127.0.0.1".into())));
        assert!(v.contains(&("KUBERNETES_SERVICE_PORT".into(), "6443".into())));
    }

    #[test]
    fn label_maps_are_quoted_lines() {
        let mut m = BTreeMap::new();
        m.insert("app".to_string(), "web".to_string());
        m.insert("tier".to_string(), "a b".to_string());
        assert_eq!(format_map(&Some(m)), "app=\"web\"\ntier=\"a b\"");
    }
}
