//! Which representation of objects a reader asked for in its Accept header: the objects
//! themselves, a `Table` (what `kubectl get` prints), or only their metadata
//! (`PartialObjectMetadata[List]`, what the kube crate's `list_metadata` and `metadata_watcher`
//! ask for). Media ranges are tried in order, as the real server does; one without `as=` is the
//! fallback to the objects themselves.

use crate::status::{ApiError, ApiResult};

/// The representation to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    /// The objects (or the `…List`).
    Object,
    /// `meta.k8s.io/v1` Table.
    Table,
    /// `meta.k8s.io/v1` PartialObjectMetadata (a list of them for collections).
    Metadata,
}

/// Picks the representation for a request. `collection` is true for lists (not watches: watch
/// events carry single objects, so a metadata watch asks for `PartialObjectMetadata`).
pub fn negotiate(accept: &str, collection: bool) -> ApiResult<Representation> {
    if accept.trim().is_empty() {
        return Ok(Representation::Object);
    }
    for range in accept.split(',') {
        let as_ = range
            .split(';')
            .skip(1)
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == "as")
            .map(|(_, v)| v.trim());
        match (as_, collection) {
            (None, _) => return Ok(Representation::Object),
            (Some("Table"), _) => return Ok(Representation::Table),
            (Some("PartialObjectMetadataList"), true) | (Some("PartialObjectMetadata"), false) => {
                return Ok(Representation::Metadata);
            }
            _ => continue,
        }
    }
    Err(ApiError::not_acceptable(accept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_get_asks_for_a_table_with_a_fallback() {
        let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(negotiate(accept, true).ok(), Some(Representation::Table));
    }

    #[test]
    fn metadata_lists_and_single_objects() {
        let list = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
        let one = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
        assert_eq!(negotiate(list, true).ok(), Some(Representation::Metadata));
        assert_eq!(negotiate(one, false).ok(), Some(Representation::Metadata));
        // The wrong one for the request is skipped; without a fallback it is 406.
        assert_eq!(negotiate(one, true).err().map(|e| e.code), Some(406));
        assert_eq!(
            negotiate(&format!("{list},application/json"), false).ok(),
            Some(Representation::Object)
        );
    }

    #[test]
    fn plain_and_missing_accept_mean_the_objects() {
        for accept in ["", "application/json", "*/*", "application/json, */*"] {
            assert_eq!(negotiate(accept, true).ok(), Some(Representation::Object));
        }
    }
}
