//! `GET /openapi/v2`: a Swagger 2.0 document without definitions.
//!
//! kubectl 1.27+ reads schemas from OpenAPI v3 ([`crate::openapi`]) and turns to v2 only for a
//! kind the v3 index lacks, to validate it on the client side. A real server always answers
//! there; a 404 made kubectl stop at `error validating data: the server could not find the
//! requested resource` instead of reporting what is actually wrong (`no matches for kind …`).
//! With no definitions, kubectl finds no schema for such a kind, skips the client-side check and
//! reports the missing mapping as it does against a real cluster.

use prost::Message;
use serde_json::json;

/// What kubectl asks for (gnostic's `openapi_v2.Document` in protobuf).
const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// The Content-Type of the protobuf answer: the same type spelled without `@`, which Go's MIME
/// parser rejects (a real server answers with this spelling too).
const PROTOBUF_ANSWER: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// `openapi.v2.Document`, only the fields this server fills (tags as in gnostic's
/// `OpenAPIv2.proto`).
#[derive(Clone, PartialEq, Message)]
struct Document {
    #[prost(string, tag = "1")]
    swagger: String,
    #[prost(message, optional, tag = "2")]
    info: Option<Info>,
}

/// `openapi.v2.Info`.
#[derive(Clone, PartialEq, Message)]
struct Info {
    #[prost(string, tag = "1")]
    title: String,
    #[prost(string, tag = "2")]
    version: String,
}

/// The document in the representation `accept` asks for: (body, content type).
pub(crate) fn document(accept: &str, version: &str) -> (Vec<u8>, &'static str) {
    if accept.contains(PROTOBUF) {
        let doc = Document {
            swagger: "2.0".into(),
            info: Some(Info {
                title: "Kubernetes".into(),
                version: version.into(),
            }),
        };
        return (doc.encode_to_vec(), PROTOBUF_ANSWER);
    }
    let doc = json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": version},
                     "paths": {}, "definitions": {}});
    (
        serde_json::to_vec(&doc).unwrap_or_default(),
        "application/json",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_when_asked_and_json_otherwise() {
        let (body, ct) = document(PROTOBUF, "v1.32.4");
        assert_eq!(ct, PROTOBUF_ANSWER);
        let doc = Document::decode(body.as_slice()).unwrap();
        assert_eq!(doc.swagger, "2.0");
        assert_eq!(doc.info.unwrap().version, "v1.32.4");
        let (body, ct) = document("application/json", "v1.32.4");
        assert_eq!(ct, "application/json");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["definitions"], json!({}));
    }
}
