//! Server-side `Table` output (`Accept: …;as=Table`) with the columns `kubectl get` users know.

use serde_json::{Value, json};

use crate::kinds::KindInfo;

mod cells;
use cells::cells;

/// Whether the Accept header asks for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept.contains("as=Table")
}

fn col(name: &str, ty: &str, priority: u8) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": ty, "format": format, "description": name, "priority": priority})
}

fn columns(info: &KindInfo) -> Vec<Value> {
    let s = |n: &str| col(n, "string", 0);
    let w = |n: &str| col(n, "string", 1);
    match (info.group, info.plural) {
        ("", "pods") => vec![
            s("Name"),
            s("Ready"),
            s("Status"),
            col("Restarts", "string", 0),
            s("Age"),
            w("IP"),
            w("Node"),
            w("Nominated Node"),
            w("Readiness Gates"),
        ],
        ("apps", "deployments") => vec![
            s("Name"),
            s("Ready"),
            col("Up-to-date", "integer", 0),
            col("Available", "integer", 0),
            s("Age"),
            w("Containers"),
            w("Images"),
            w("Selector"),
        ],
        ("apps", "replicasets") => vec![
            s("Name"),
            col("Desired", "integer", 0),
            col("Current", "integer", 0),
            col("Ready", "integer", 0),
            s("Age"),
            w("Containers"),
            w("Images"),
            w("Selector"),
        ],
        ("", "persistentvolumeclaims") => vec![
            s("Name"),
            s("Status"),
            s("Volume"),
            s("Capacity"),
            s("Access Modes"),
            s("StorageClass"),
            s("VolumeAttributesClass"),
            s("Age"),
            w("VolumeMode"),
        ],
        ("", "persistentvolumes") => vec![
            s("Name"),
            s("Capacity"),
            s("Access Modes"),
            s("Reclaim Policy"),
            s("Status"),
            s("Claim"),
            s("StorageClass"),
            s("VolumeAttributesClass"),
            s("Reason"),
            s("Age"),
            w("VolumeMode"),
        ],
        ("", "services") => vec![
            s("Name"),
            s("Type"),
            s("Cluster-IP"),
            s("External-IP"),
            s("Port(s)"),
            s("Age"),
            w("Selector"),
        ],
        ("", "namespaces") => vec![s("Name"), s("Status"), s("Age")],
        ("", "nodes") => vec![
            s("Name"),
            s("Status"),
            s("Roles"),
            s("Age"),
            s("Version"),
            w("Internal-IP"),
            w("External-IP"),
            w("OS-Image"),
            w("Kernel-Version"),
            w("Container-Runtime"),
        ],
        ("", "events") => vec![
            s("Last Seen"),
            s("Type"),
            s("Reason"),
            s("Object"),
            s("Message"),
        ],
        ("", "serviceaccounts") => vec![s("Name"), col("Secrets", "integer", 0), s("Age")],
        ("", "configmaps") => vec![s("Name"), col("Data", "integer", 0), s("Age")],
        ("", "secrets") => vec![s("Name"), s("Type"), col("Data", "integer", 0), s("Age")],
        ("", "endpoints") => vec![s("Name"), s("Endpoints"), s("Age")],
        ("storage.k8s.io", "storageclasses") => vec![
            s("Name"),
            s("Provisioner"),
            s("ReclaimPolicy"),
            s("VolumeBindingMode"),
            s("AllowVolumeExpansion"),
            s("Age"),
        ],
        ("rbac.authorization.k8s.io", "rolebindings")
        | ("rbac.authorization.k8s.io", "clusterrolebindings") => vec![
            s("Name"),
            s("Role"),
            s("Age"),
            w("Users"),
            w("Groups"),
            w("ServiceAccounts"),
        ],
        ("rbac.authorization.k8s.io", _) => vec![s("Name"), s("Created At")],
        _ => vec![s("Name"), s("Age")],
    }
}

/// Builds a Table for `items`. `include_object` = "None", "Object" or "Metadata" (default).
pub fn to_table(
    info: &KindInfo,
    items: &[&Value],
    rv: &str,
    cont: Option<&str>,
    include_object: &str,
    with_columns: bool,
) -> Value {
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let object = match include_object {
                "None" => Value::Null,
                "Object" => (*o).clone(),
                _ => {
                    let mut m = o.get("metadata").cloned().unwrap_or(json!({}));
                    if let Some(mm) = m.as_object_mut() {
                        mm.remove("managedFields");
                    }
                    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": m})
                }
            };
            json!({"cells": cells(info, o), "object": object})
        })
        .collect();
    let mut md = json!({"resourceVersion": rv});
    if let Some(c) = cont {
        md["continue"] = json!(c);
    }
    let defs = if with_columns {
        columns(info)
    } else {
        Vec::new()
    };
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": md, "columnDefinitions": defs, "rows": rows})
}
