//! OpenAPI v3 documents generated from the `k8s-openapi` schemas of the kinds table: the index at
//! `/openapi/v3` and one document per group-version (schemas for `kubectl explain`, PATCH
//! operations with `fieldValidation` so kubectl leaves validation to the server).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use bytes::Bytes;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::kinds::{self, KindInfo};

struct Docs {
    /// key "api/v1" / "apis/apps/v1" → (hash, body)
    by_path: BTreeMap<String, (String, Bytes)>,
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn param(name: &str, location: &str) -> Value {
    json!({"name": name, "in": location, "schema": {"type": "string", "uniqueItems": true}})
}

fn operations(k: &KindInfo, schema_ref: &str) -> Map<String, Value> {
    let prefix = if k.group.is_empty() {
        format!("/api/{}", k.version)
    } else {
        format!("/apis/{}/{}", k.group, k.version)
    };
    let ns = if k.namespaced {
        "/namespaces/{namespace}"
    } else {
        ""
    };
    let gvk = json!({"group": k.group, "version": k.version, "kind": k.kind});
    let body = json!({"content": {"application/json": {"schema": {"$ref": schema_ref}}}});
    let ok = json!({"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": schema_ref}}}}});
    let write_params = json!([
        param("dryRun", "query"),
        param("fieldManager", "query"),
        param("fieldValidation", "query")
    ]);
    let op = |action: &str, params: &Value, with_body: bool| {
        let mut o = json!({"x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk,
                           "parameters": params, "responses": ok});
        if with_body {
            o["requestBody"] = body.clone();
        }
        o
    };
    let mut paths = Map::new();
    let mut item_params =
        vec![json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}})];
    if k.namespaced {
        item_params.push(json!({"name": "namespace", "in": "path", "required": true, "schema": {"type": "string"}}));
    }
    if k.virtual_only {
        paths.insert(
            format!("{prefix}{ns}/{}", k.plural),
            json!({"post": op("post", &write_params, true), "parameters": item_params[1..]}),
        );
        return paths;
    }
    let mut patch_params = write_params.clone();
    if let Some(a) = patch_params.as_array_mut() {
        a.push(param("force", "query"));
    }
    let mut patch = op("patch", &patch_params, false);
    patch["requestBody"] = json!({"content": {
        "application/apply-patch+yaml": {"schema": {"type": "object"}},
        "application/json-patch+json": {"schema": {"type": "object"}},
        "application/merge-patch+json": {"schema": {"type": "object"}},
        "application/strategic-merge-patch+json": {"schema": {"type": "object"}}}});
    paths.insert(
        format!("{prefix}{ns}/{}/{{name}}", k.plural),
        json!({"get": op("get", &json!([]), false), "put": op("put", &write_params, true),
               "patch": patch, "delete": op("delete", &json!([param("dryRun", "query"), param("gracePeriodSeconds", "query")]), false),
               "parameters": item_params}),
    );
    let mut coll = json!({"get": op("list", &json!([param("labelSelector", "query"), param("fieldSelector", "query"), param("limit", "query"), param("continue", "query"), param("watch", "query")]), false),
                          "post": op("post", &write_params, true)});
    if k.namespaced {
        coll["parameters"] = json!([item_params[1]]);
    }
    paths.insert(format!("{prefix}{ns}/{}", k.plural), coll);
    paths
}

fn build() -> Docs {
    let mut by_path = BTreeMap::new();
    for (g, v) in kinds::group_versions() {
        let mut generator = SchemaSettings::openapi3().into_generator();
        let mut paths = Map::new();
        let mut gvk_of: Vec<(String, &KindInfo)> = Vec::new();
        for k in kinds::all()
            .iter()
            .filter(|k| k.group == g && k.version == v)
        {
            let schema = (k.schema)(&mut generator);
            let reference = schema
                .as_object()
                .and_then(|o| o.get("$ref"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let name = reference.rsplit('/').next().unwrap_or_default().to_string();
            paths.extend(operations(k, &reference));
            gvk_of.push((name, k));
        }
        let mut schemas = generator.take_definitions(true);
        for (name, k) in gvk_of {
            if let Some(Value::Object(s)) = schemas.get_mut(&name) {
                s.insert(
                    "x-kubernetes-group-version-kind".into(),
                    json!([{"group": k.group, "kind": k.kind, "version": k.version}]),
                );
            }
        }
        let doc = json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.32.4"},
            "paths": paths,
            "components": {"schemas": schemas},
        });
        let body = serde_json::to_vec(&doc).unwrap_or_default();
        let hash = hex::encode(Sha256::digest(&body)).to_uppercase();
        by_path.insert(gv_path(g, v), (hash, Bytes::from(body)));
    }
    Docs { by_path }
}

fn docs() -> &'static Docs {
    static DOCS: OnceLock<Docs> = OnceLock::new();
    DOCS.get_or_init(build)
}

/// `GET /openapi/v3`.
pub fn index() -> Value {
    let mut paths = Map::new();
    for (p, (hash, _)) in &docs().by_path {
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

/// `GET /openapi/v3/<gv path>`; `None` if not served.
pub fn document(path: &str) -> Option<Bytes> {
    docs().by_path.get(path).map(|(_, b)| b.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_doc_has_deployment_schema_and_patch_validation() {
        let doc: Value = serde_json::from_slice(&document("apis/apps/v1").unwrap()).unwrap();
        let dep = &doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            dep["x-kubernetes-group-version-kind"][0]["kind"],
            "Deployment"
        );
        let patch =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert!(patch["parameters"].to_string().contains("fieldValidation"));
        assert!(index()["paths"]["api/v1"]["serverRelativeURL"].is_string());
    }
}
