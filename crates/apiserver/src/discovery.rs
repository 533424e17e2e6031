//! API discovery documents, legacy (`APIVersions`, `APIGroupList`, `APIResourceList`) and
//! aggregated (`APIGroupDiscoveryList`), built from the kinds table.

use serde_json::{Value, json};

use crate::kinds::{self, KindInfo};

/// Content-Type of aggregated discovery answers (kubectl ignores the body without it).
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the Accept header asks for aggregated discovery.
pub fn wants_aggregated(accept: &str) -> bool {
    accept.contains("as=APIGroupDiscoveryList") && accept.contains("v=v2")
}

/// `GET /api` (legacy).
pub fn api_versions(server_address: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
           "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]})
}

/// `GET /apis` (legacy).
pub fn api_group_list() -> Value {
    let groups: Vec<Value> = kinds::group_versions()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, v)| {
            let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
            json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /api/v1` or `/apis/G/V` (legacy). `None` if the group-version is not served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let ks: Vec<&KindInfo> = kinds::all()
        .iter()
        .filter(|k| k.group == group && k.version == version)
        .collect();
    if ks.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for k in ks {
        let mut r = json!({"name": k.plural, "singularName": k.singular, "namespaced": k.namespaced,
                           "kind": k.kind, "verbs": k.verbs()});
        if !k.short_names.is_empty() {
            r["shortNames"] = json!(k.short_names);
        }
        if !k.categories.is_empty() {
            r["categories"] = json!(k.categories);
        }
        resources.push(r);
        for sub in k.subresources {
            let (g, v, kind) = k.subresource_kind(sub);
            let mut s = json!({"name": format!("{}/{sub}", k.plural), "singularName": "",
                               "namespaced": k.namespaced, "kind": kind,
                               "verbs": KindInfo::subresource_verbs(sub)});
            if g != k.group || v != k.version {
                s["group"] = json!(g);
                s["version"] = json!(v);
            }
            resources.push(s);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

/// Aggregated discovery for `/api` (core = true) or `/apis`.
pub fn aggregated(core: bool) -> Value {
    let mut items = Vec::new();
    for (g, v) in kinds::group_versions() {
        if g.is_empty() != core {
            continue;
        }
        let resources: Vec<Value> = kinds::all()
            .iter()
            .filter(|k| k.group == g && k.version == v)
            .map(|k| {
                let subs: Vec<Value> = k
                    .subresources
                    .iter()
                    .map(|s| {
                        let (sg, sv, sk) = k.subresource_kind(s);
                        json!({"subresource": s, "responseKind": {"group": sg, "version": sv, "kind": sk},
                               "verbs": KindInfo::subresource_verbs(s)})
                    })
                    .collect();
                let mut r = json!({
                    "resource": k.plural,
                    "responseKind": {"group": k.group, "version": k.version, "kind": k.kind},
                    "scope": if k.namespaced { "Namespaced" } else { "Cluster" },
                    "singularResource": k.singular,
                    "verbs": k.verbs(),
                });
                if !k.short_names.is_empty() {
                    r["shortNames"] = json!(k.short_names);
                }
                if !k.categories.is_empty() {
                    r["categories"] = json!(k.categories);
                }
                if !subs.is_empty() {
                    r["subresources"] = Value::Array(subs);
                }
                r
            })
            .collect();
        items.push(json!({"metadata": {"name": g, "creationTimestamp": null},
                          "versions": [{"version": v, "resources": resources, "freshness": "Current"}]}));
    }
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}
