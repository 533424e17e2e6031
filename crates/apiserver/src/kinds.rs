//! The table of resource kinds the server serves. Adding a kind is one `kind::<T>(…)` line here;
//! discovery, OpenAPI, storage, RBAC and Table output all read this table.

use std::sync::OnceLock;

use k8s_openapi::Resource;
use k8s_openapi::api::{apps, authorization, coordination, core, rbac, storage};
use schemars::{Schema, SchemaGenerator};
use serde::de::DeserializeOwned;

/// Everything the server knows about one resource type.
pub struct KindInfo {
    /// API group ("" for core).
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Kind name, e.g. `Pod`.
    pub kind: &'static str,
    /// Plural resource name used in URLs, e.g. `pods`.
    pub plural: &'static str,
    /// Singular name (lower-case kind).
    pub singular: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names advertised in discovery (`po`, `deploy`).
    pub short_names: &'static [&'static str],
    /// Categories (`all`).
    pub categories: &'static [&'static str],
    /// Subresources served (`status`, `log`, …).
    pub subresources: &'static [&'static str],
    /// Virtual kinds (reviews) accept only `create` and are not stored.
    pub virtual_only: bool,
    /// Adds the kind's schema to an OpenAPI generator.
    pub schema: fn(&mut SchemaGenerator) -> Schema,
    /// Checks that a JSON object decodes as the typed kind.
    pub typed_check: fn(&serde_json::Value) -> Result<(), String>,
    /// Decodes and re-encodes through the typed kind (what the schema keeps of an object).
    pub round_trip: fn(&serde_json::Value) -> Result<serde_json::Value, String>,
}

impl std::fmt::Debug for KindInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.api_version(), self.kind)
    }
}

impl KindInfo {
    /// `group/version`, or `version` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural` or `plural.group`, as used in error messages.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Verbs advertised in discovery.
    pub fn verbs(&self) -> Vec<&'static str> {
        if self.virtual_only {
            vec!["create"]
        } else {
            vec![
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ]
        }
    }

    /// The kind a subresource answers with (group, version, kind).
    pub fn subresource_kind(&self, sub: &str) -> (&'static str, &'static str, &'static str) {
        match sub {
            "scale" => ("autoscaling", "v1", "Scale"),
            "eviction" => ("policy", "v1", "Eviction"),
            "binding" => ("", "v1", "Binding"),
            "token" => ("authentication.k8s.io", "v1", "TokenRequest"),
            _ => (self.group, self.version, self.kind),
        }
    }

    /// Verbs a subresource supports.
    pub fn subresource_verbs(sub: &str) -> Vec<&'static str> {
        match sub {
            "status" | "scale" => vec!["get", "patch", "update"],
            "log" => vec!["get"],
            "exec" | "attach" => vec!["create", "get"],
            _ => vec!["create"],
        }
    }
}

fn schema_of<T: schemars::JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

fn typed_check<T: DeserializeOwned>(v: &serde_json::Value) -> Result<(), String> {
    T::deserialize(v).map(|_| ()).map_err(|e| e.to_string())
}

fn round_trip<T: DeserializeOwned + serde::Serialize>(
    v: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    let typed = T::deserialize(v).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

fn kind<T>(
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &'static [&'static str],
) -> KindInfo
where
    T: Resource + schemars::JsonSchema + DeserializeOwned + serde::Serialize,
{
    let namespaced = std::any::type_name::<T::Scope>()
        == std::any::type_name::<k8s_openapi::NamespaceResourceScope>();
    KindInfo {
        group: T::GROUP,
        version: T::VERSION,
        kind: T::KIND,
        plural: T::URL_PATH_SEGMENT,
        singular: T::KIND.to_lowercase(),
        namespaced,
        short_names,
        categories,
        subresources,
        virtual_only: false,
        schema: schema_of::<T>,
        typed_check: typed_check::<T>,
        round_trip: round_trip::<T>,
    }
}

fn review<T>() -> KindInfo
where
    T: Resource + schemars::JsonSchema + DeserializeOwned + serde::Serialize,
{
    KindInfo {
        virtual_only: true,
        ..kind::<T>(&[], &[], &[])
    }
}

const ALL: &[&str] = &["all"];

/// All kinds, in discovery order (this order is also `kubectl get all`'s order).
///
/// Only kinds something on the embedded cluster acts on are served. Jobs, CronJobs, StatefulSets
/// and DaemonSets have no controller here, so they are left out: a client creating one gets what
/// a real server answers for a kind it does not serve (kubectl: `no matches for kind "Job" in
/// version "batch/v1"`, a direct POST: 404) rather than a `created` for an object that would
/// never run.
pub fn all() -> &'static [KindInfo] {
    static KINDS: OnceLock<Vec<KindInfo>> = OnceLock::new();
    KINDS.get_or_init(|| {
        vec![
            kind::<core::v1::Pod>(
                &["po"],
                ALL,
                &["status", "log", "exec", "attach", "binding", "eviction"],
            ),
            kind::<core::v1::Service>(&["svc"], ALL, &["status"]),
            kind::<core::v1::Namespace>(&["ns"], &[], &["status", "finalize"]),
            kind::<core::v1::Node>(&["no"], &[], &["status"]),
            kind::<core::v1::Endpoints>(&["ep"], &[], &[]),
            kind::<core::v1::ConfigMap>(&["cm"], &[], &[]),
            kind::<core::v1::Secret>(&[], &[], &[]),
            kind::<core::v1::ServiceAccount>(&["sa"], &[], &["token"]),
            kind::<core::v1::Event>(&["ev"], &[], &[]),
            kind::<core::v1::PersistentVolumeClaim>(&["pvc"], &[], &["status"]),
            kind::<core::v1::PersistentVolume>(&["pv"], &[], &["status"]),
            kind::<apps::v1::Deployment>(&["deploy"], ALL, &["status", "scale"]),
            kind::<apps::v1::ReplicaSet>(&["rs"], ALL, &["status", "scale"]),
            kind::<rbac::v1::Role>(&[], &[], &[]),
            kind::<rbac::v1::RoleBinding>(&[], &[], &[]),
            kind::<rbac::v1::ClusterRole>(&[], &[], &[]),
            kind::<rbac::v1::ClusterRoleBinding>(&[], &[], &[]),
            kind::<storage::v1::StorageClass>(&["sc"], &[], &[]),
            kind::<coordination::v1::Lease>(&[], &[], &[]),
            review::<authorization::v1::SelfSubjectAccessReview>(),
            review::<authorization::v1::SubjectAccessReview>(),
            review::<authorization::v1::SelfSubjectRulesReview>(),
            review::<k8s_openapi::api::authentication::v1::TokenReview>(),
            review::<k8s_openapi::api::authentication::v1::SelfSubjectReview>(),
        ]
    })
}

/// One step of the path to a field: a map key, or a list item (its index and the item itself,
/// whose key fields name it in server-side apply's messages).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PathStep<'a> {
    /// A key of a map.
    Field(&'a str),
    /// An item of a list.
    Item(usize, &'a serde_json::Value),
}

/// The path as strict decoding prints it: `spec.containers[0].foo`.
pub fn dotted(path: &[PathStep<'_>]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            PathStep::Field(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            PathStep::Item(n, _) => out.push_str(&format!("[{n}]")),
        }
    }
    out
}

/// Fields of `input` that the typed kind does not know, in key order, each as its path; for
/// `fieldValidation=Strict` and server-side apply.
pub fn unknown_fields<'a>(info: &KindInfo, input: &'a serde_json::Value) -> Vec<Vec<PathStep<'a>>> {
    fn walk<'a>(
        input: &'a serde_json::Value,
        kept: &serde_json::Value,
        path: &mut Vec<PathStep<'a>>,
        out: &mut Vec<Vec<PathStep<'a>>>,
    ) {
        match (input, kept) {
            (serde_json::Value::Object(i), serde_json::Value::Object(k)) => {
                for (key, v) in i {
                    if v.is_null() {
                        continue;
                    }
                    path.push(PathStep::Field(key));
                    match k.get(key) {
                        Some(kv) => walk(v, kv, path, out),
                        None => out.push(path.clone()),
                    }
                    path.pop();
                }
            }
            (serde_json::Value::Array(i), serde_json::Value::Array(k)) => {
                for (n, (a, b)) in i.iter().zip(k.iter()).enumerate() {
                    path.push(PathStep::Item(n, a));
                    walk(a, b, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(kept) = (info.round_trip)(input) {
        walk(input, &kept, &mut Vec::new(), &mut out);
    }
    out
}

/// Finds a kind by group, version and plural.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static KindInfo> {
    all()
        .iter()
        .find(|k| k.group == group && k.version == version && k.plural == plural)
}

/// A lookup by (group, plural) that matched no served kind. Callers name kinds they rely on, so
/// a miss is a bug (a misspelt plural, a kind taken out of the table); it is reported rather than
/// answered with some other kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no served resource \"{plural}\" in API group \"{group}\"")]
pub struct UnknownKind {
    /// The API group asked for.
    pub group: String,
    /// The plural asked for.
    pub plural: String,
}

/// Finds a kind by its plural name within a group (any version).
pub fn find_plural(group: &str, plural: &str) -> Result<&'static KindInfo, UnknownKind> {
    all()
        .iter()
        .find(|k| k.group == group && k.plural == plural)
        .ok_or_else(|| UnknownKind {
            group: group.into(),
            plural: plural.into(),
        })
}

/// Index of a kind in [`all`], used as a compact storage key.
pub fn index_of(info: &KindInfo) -> usize {
    all()
        .iter()
        .position(|k| std::ptr::eq(k, info))
        .unwrap_or_default()
}

/// The API groups served (name, version), in discovery order; core ("") first.
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for k in all() {
        if !out.contains(&(k.group, k.version)) {
            out.push((k.group, k.version));
        }
    }
    out
}
