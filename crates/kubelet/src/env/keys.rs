//! The ConfigMaps and Secrets a pod reads keys from, for `envFrom`, `valueFrom` and volumes.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::{ConfigMap, EnvVarSource, Secret};
use kube::Api;
use serde::de::DeserializeOwned;

use crate::KubeletError;
use crate::error::Result;

/// The kind of object keys are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// A ConfigMap: `data`, then `binaryData` as text.
    ConfigMap,
    /// A Secret: `data`, then `stringData`.
    Secret,
}

impl KeySource {
    /// How messages name the kind (as kubectl does).
    fn noun(self) -> &'static str {
        match self {
            KeySource::ConfigMap => "configmap",
            KeySource::Secret => "secret",
        }
    }
}

/// One ConfigMap or Secret of the pod's namespace; a missing `optional` one reads as `None`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyRef<'a> {
    source: KeySource,
    ns: &'a str,
    name: &'a str,
    optional: bool,
}

impl fmt::Display for KeyRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.source.noun(), self.ns, self.name)
    }
}

impl<'a> KeyRef<'a> {
    /// `source` `ns/name`; `optional` as the pod spec gives it (absent means required).
    pub(crate) fn new(
        source: KeySource,
        ns: &'a str,
        name: &'a str,
        optional: Option<bool>,
    ) -> Self {
        KeyRef {
            source,
            ns,
            name,
            optional: optional.unwrap_or(false),
        }
    }

    /// The object and key an env var's `valueFrom` names, if it names one.
    pub(crate) fn of_env_var(from: &'a EnvVarSource, ns: &'a str) -> Option<(Self, &'a str)> {
        if let Some(r) = &from.config_map_key_ref {
            let object = KeyRef::new(KeySource::ConfigMap, ns, &r.name, r.optional);
            return Some((object, &r.key));
        }
        let r = from.secret_key_ref.as_ref()?;
        Some((
            KeyRef::new(KeySource::Secret, ns, &r.name, r.optional),
            &r.key,
        ))
    }

    /// The object's data as text.
    pub(crate) async fn text(
        &self,
        client: &kube::Client,
    ) -> Result<Option<BTreeMap<String, String>>> {
        Ok(self.bytes(client).await?.map(|d| {
            d.into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
                .collect()
        }))
    }

    /// The object's data as bytes, for volume files.
    pub(crate) async fn bytes(
        &self,
        client: &kube::Client,
    ) -> Result<Option<BTreeMap<String, Vec<u8>>>> {
        Ok(match self.source {
            KeySource::ConfigMap => self.get::<ConfigMap>(client).await?.map(|cm| {
                let mut data: BTreeMap<String, Vec<u8>> = cm
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.into_bytes()))
                    .collect();
                for (k, v) in cm.binary_data.unwrap_or_default() {
                    data.insert(k, String::from_utf8_lossy(&v.0).into_owned().into_bytes());
                }
                data
            }),
            KeySource::Secret => self.get::<Secret>(client).await?.map(|secret| {
                let mut data: BTreeMap<String, Vec<u8>> = secret
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.0))
                    .collect();
                for (k, v) in secret.string_data.unwrap_or_default() {
                    data.insert(k, v.into_bytes());
                }
                data
            }),
        })
    }

    /// The value of `key`; `None` when the object is optional and it or the key is missing.
    pub(crate) async fn lookup(&self, client: &kube::Client, key: &str) -> Result<Option<String>> {
        match self.text(client).await?.and_then(|mut d| d.remove(key)) {
            Some(v) => Ok(Some(v)),
            None if self.optional => Ok(None),
            None => Err(KubeletError::Spec(format!(
                "couldn't find key {key} in {self}"
            ))),
        }
    }

    async fn get<K>(&self, client: &kube::Client) -> Result<Option<K>>
    where
        K: kube::Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + fmt::Debug,
    {
        let (ns, name) = (self.ns, self.name);
        let api: Api<K> = Api::namespaced(client.clone(), ns);
        match api.get_opt(name).await {
            Ok(Some(object)) => Ok(Some(object)),
            Ok(None) if self.optional => Ok(None),
            Ok(None) => Err(KubeletError::Spec(format!(
                "{} \"{name}\" not found in namespace {ns}",
                self.source.noun()
            ))),
            Err(e) => Err(KubeletError::api(format!("reading {self}"), e)),
        }
    }
}
