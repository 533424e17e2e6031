//! Server-side `Table` output (`Accept: …;as=Table`) with the columns `kubectl get` users know.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::ser::SerializeSeq;
use serde_json::{Value, json};

use crate::kinds::KindInfo;
use crate::store::Stored;

mod cells;
use cells::cells;

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

/// What each row carries besides its cells (`?includeObject=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object (`None`).
    Nothing,
    /// The whole object (`Object`).
    Object,
    /// `PartialObjectMetadata` without managedFields (`Metadata`, the default).
    Metadata,
}

impl IncludeObject {
    /// From the query parameter; anything unknown means the default.
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("None") => IncludeObject::Nothing,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

/// One cell of a row: a fixed value, or a span of time since a timestamp (AGE, LAST SEEN) that
/// is rendered when the response is written, so rows can be cached while ages keep growing.
#[derive(Debug, Clone)]
pub enum Cell {
    /// Known once and for all.
    Fixed(Value),
    /// kubectl's human duration since this instant; `None` prints `<unknown>`.
    Since(Option<DateTime<Utc>>),
}

impl Cell {
    fn since(timestamp: &str) -> Self {
        Cell::Since(
            DateTime::parse_from_rfc3339(timestamp)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        )
    }
}

impl From<Value> for Cell {
    fn from(v: Value) -> Self {
        Cell::Fixed(v)
    }
}

/// The cells of a row rendered at one instant.
struct CellsAt<'a>(&'a [Cell], DateTime<Utc>);

impl Serialize for CellsAt<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for cell in self.0 {
            match cell {
                Cell::Fixed(v) => seq.serialize_element(v)?,
                Cell::Since(Some(t)) => seq.serialize_element(&crate::meta::human_duration(
                    (self.1 - *t).num_seconds().max(0),
                ))?,
                Cell::Since(None) => seq.serialize_element("<unknown>")?,
            }
        }
        seq.end()
    }
}

/// Writes a Table of `items` as JSON. `with_columns` is false for watch events after the first.
pub fn to_table(
    info: &KindInfo,
    items: &[&Stored],
    rv: &str,
    cont: Option<&str>,
    include: IncludeObject,
    with_columns: bool,
) -> Vec<u8> {
    let mut md = json!({"resourceVersion": rv});
    if let Some(c) = cont {
        md["continue"] = json!(c);
    }
    let defs = if with_columns {
        columns(info)
    } else {
        Vec::new()
    };
    let head = json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": md, "columnDefinitions": defs});
    let now = Utc::now();
    crate::meta::object_with_array(&head, "rows", items, |out, o| {
        let cells = o.table_cells.get_or_init(|| cells(info, &o.value));
        out.extend_from_slice(b"{\"cells\":");
        let _ = serde_json::to_writer(&mut *out, &CellsAt(cells, now));
        out.extend_from_slice(b",\"object\":");
        match include {
            IncludeObject::Nothing => out.extend_from_slice(b"null"),
            IncludeObject::Object => out.extend_from_slice(&o.json),
            IncludeObject::Metadata => out.extend_from_slice(o.partial_metadata_json()),
        }
        out.push(b'}');
    })
}
