//! TokenRequest (`kubectl create token`).

use k8s_pb::api::authentication::v1 as authn;
use serde_json::{Map, Value, json};

use super::{decode, object_meta, put, put_list};
use crate::status::ApiError;

/// Decodes a TokenRequest.
pub(super) fn to_json(raw: &[u8]) -> Result<Value, ApiError> {
    let r: authn::TokenRequest = decode(raw, "TokenRequest")?;
    let spec = r.spec.unwrap_or_default();
    let mut s = Map::new();
    put_list(&mut s, "audiences", &spec.audiences);
    put(&mut s, "expirationSeconds", spec.expiration_seconds);
    if let Some(b) = spec.bound_object_ref {
        let mut o = Map::new();
        put(&mut o, "kind", b.kind);
        put(&mut o, "apiVersion", b.api_version);
        put(&mut o, "name", b.name);
        put(&mut o, "uid", b.u_id);
        s.insert("boundObjectRef".into(), Value::Object(o));
    }
    Ok(json!({"metadata": object_meta(r.metadata), "spec": s}))
}
