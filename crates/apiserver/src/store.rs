//! In-memory object storage with one global resourceVersion counter and a bounded event history
//! for watches. Objects are kept as JSON values plus their serialized bytes (lists are built by
//! concatenating the cached bytes, which keeps large lists cheap).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, OnceLock, RwLock};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::kinds;
use crate::table::Cell;

/// How many past events watches can resume from, by default.
const HISTORY: usize = 200_000;

/// The largest object stored: etcd's default request limit (1.5 MiB). The JSON encoding stands
/// in for the protobuf a real server stores, so the limit is met a little earlier than there.
pub const MAX_OBJECT_BYTES: usize = 1536 * 1024;

/// One stored object.
#[derive(Debug)]
pub struct Stored {
    /// The object.
    pub value: Value,
    /// Its JSON encoding (cached).
    pub json: Bytes,
    /// Its resourceVersion.
    pub rv: u64,
    /// Its Table cells, once a Table response needed them.
    pub table_cells: OnceLock<Vec<Cell>>,
    /// Its `PartialObjectMetadata` encoding, once a Table or metadata response needed it.
    partial_metadata: OnceLock<Vec<u8>>,
}

impl Stored {
    /// Wraps an object, encoding it once.
    pub fn new(value: Value, rv: u64) -> Arc<Self> {
        let json = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
        Arc::new(Stored {
            value,
            json,
            rv,
            table_cells: OnceLock::new(),
            partial_metadata: OnceLock::new(),
        })
    }

    /// The object as `meta.k8s.io/v1` PartialObjectMetadata (JSON), encoded on first use.
    pub fn partial_metadata_json(&self) -> &[u8] {
        self.partial_metadata.get_or_init(|| {
            let metadata = self.value.get("metadata").unwrap_or(&Value::Null);
            serde_json::to_vec(&serde_json::json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": metadata,
            }))
            .unwrap_or_default()
        })
    }

    /// metadata.namespace ("" if cluster-scoped).
    pub fn namespace(&self) -> &str {
        crate::meta::str_at(&self.value, &["metadata", "namespace"])
    }

    /// metadata.name.
    pub fn name(&self) -> &str {
        crate::meta::str_at(&self.value, &["metadata", "name"])
    }
}

/// Watch event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// A change, as kept in history and sent to watchers.
#[derive(Debug)]
pub struct Change {
    /// resourceVersion of the change.
    pub rv: u64,
    /// Kind index into [`kinds::all`].
    pub kind: usize,
    /// Event type.
    pub event: EventType,
    /// The object after the change (before deletion for `Deleted`, with the new RV).
    pub object: Arc<Stored>,
}

/// Storage errors; the caller turns them into API Status errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Object exists already.
    #[error("already exists")]
    AlreadyExists,
    /// Object missing.
    #[error("not found")]
    NotFound,
    /// resourceVersion precondition failed.
    #[error("conflict")]
    Conflict,
    /// The encoded object exceeds [`MAX_OBJECT_BYTES`].
    #[error("object too large to store")]
    TooLarge,
}

type Key = (String, String);

struct Inner {
    rv: u64,
    tables: Vec<BTreeMap<Key, Arc<Stored>>>,
    history: VecDeque<Arc<Change>>,
    history_limit: usize,
}

/// The object store.
pub struct Store {
    inner: RwLock<Inner>,
    tx: broadcast::Sender<Arc<Change>>,
}

/// What a watch gets when it subscribes.
pub struct Subscription {
    /// Past changes after the requested resourceVersion.
    pub backlog: Vec<Arc<Change>>,
    /// Live changes.
    pub live: broadcast::Receiver<Arc<Change>>,
    /// The store's resourceVersion at subscription time.
    pub rv: u64,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::with_history(HISTORY)
    }

    /// An empty store that keeps `limit` past changes for watches to resume from.
    pub fn with_history(limit: usize) -> Self {
        let (tx, _) = broadcast::channel(16_384);
        Store {
            inner: RwLock::new(Inner {
                rv: 1,
                tables: kinds::all().iter().map(|_| BTreeMap::new()).collect(),
                history: VecDeque::new(),
                history_limit: limit.max(1),
            }),
            tx,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The latest resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.read().rv
    }

    /// One object.
    pub fn get(&self, kind: usize, ns: &str, name: &str) -> Option<Arc<Stored>> {
        self.read()
            .tables
            .get(kind)?
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    /// All objects of a kind (in one namespace if `ns` is given), sorted by namespace/name.
    pub fn list(&self, kind: usize, ns: Option<&str>) -> (Vec<Arc<Stored>>, u64) {
        let inner = self.read();
        let Some(table) = inner.tables.get(kind) else {
            return (Vec::new(), inner.rv);
        };
        let items = match ns {
            Some(ns) => table
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect(),
            None => table.values().cloned().collect(),
        };
        (items, inner.rv)
    }

    fn record(&self, inner: &mut Inner, kind: usize, event: EventType, object: Arc<Stored>) {
        let change = Arc::new(Change {
            rv: object.rv,
            kind,
            event,
            object,
        });
        inner.history.push_back(change.clone());
        if inner.history.len() > inner.history_limit {
            inner.history.pop_front();
        }
        let _ = self.tx.send(change);
    }

    /// Stores a new object; sets `metadata.resourceVersion`.
    pub fn create(&self, kind: usize, mut value: Value) -> Result<Arc<Stored>, StoreError> {
        let key = key_of(&value);
        let mut inner = self.write();
        if inner.tables[kind].contains_key(&key) {
            return Err(StoreError::AlreadyExists);
        }
        let rv = inner.rv + 1;
        crate::meta::set_rv(&mut value, rv);
        let stored = Stored::new(value, rv);
        if stored.json.len() > MAX_OBJECT_BYTES {
            return Err(StoreError::TooLarge);
        }
        inner.rv = rv;
        inner.tables[kind].insert(key, stored.clone());
        self.record(&mut inner, kind, EventType::Added, stored.clone());
        Ok(stored)
    }

    /// Read-modify-write under the store lock. `f` gets the current object and returns whether it
    /// changed it; unchanged objects are not rewritten. Returns the (possibly new) stored object.
    pub fn modify<E>(
        &self,
        kind: usize,
        ns: &str,
        name: &str,
        f: impl FnOnce(&mut Value) -> Result<bool, E>,
    ) -> Result<Result<Arc<Stored>, E>, StoreError> {
        let key = (ns.to_string(), name.to_string());
        let mut inner = self.write();
        let Some(current) = inner.tables[kind].get(&key).cloned() else {
            return Err(StoreError::NotFound);
        };
        let mut value = current.value.clone();
        match f(&mut value) {
            Err(e) => Ok(Err(e)),
            Ok(false) => Ok(Ok(current)),
            Ok(true) => {
                let rv = inner.rv + 1;
                crate::meta::set_rv(&mut value, rv);
                let stored = Stored::new(value, rv);
                if stored.json.len() > MAX_OBJECT_BYTES {
                    return Err(StoreError::TooLarge);
                }
                inner.rv = rv;
                inner.tables[kind].insert(key, stored.clone());
                self.record(&mut inner, kind, EventType::Modified, stored.clone());
                Ok(Ok(stored))
            }
        }
    }

    /// Removes an object, optionally only if its uid matches.
    pub fn delete(
        &self,
        kind: usize,
        ns: &str,
        name: &str,
        uid: Option<&str>,
    ) -> Result<Arc<Stored>, StoreError> {
        let key = (ns.to_string(), name.to_string());
        let mut inner = self.write();
        let Some(current) = inner.tables[kind].get(&key) else {
            return Err(StoreError::NotFound);
        };
        if let Some(uid) = uid
            && crate::meta::uid(&current.value) != uid
        {
            return Err(StoreError::Conflict);
        }
        let mut value = current.value.clone();
        inner.tables[kind].remove(&key);
        inner.rv += 1;
        let rv = inner.rv;
        crate::meta::set_rv(&mut value, rv);
        let stored = Stored::new(value, rv);
        self.record(&mut inner, kind, EventType::Deleted, stored.clone());
        Ok(stored)
    }

    /// Subscribes to changes after `after_rv`. Err(oldest) if that version left the history.
    pub fn subscribe(&self, after_rv: Option<u64>) -> Result<Subscription, u64> {
        let inner = self.read();
        let live = self.tx.subscribe();
        let backlog = match after_rv {
            None => Vec::new(),
            Some(rv) => {
                let oldest = inner.history.front().map(|c| c.rv).unwrap_or(inner.rv + 1);
                if rv + 1 < oldest && rv < inner.rv {
                    return Err(oldest);
                }
                let start = inner.history.partition_point(|c| c.rv <= rv);
                inner.history.range(start..).cloned().collect()
            }
        };
        Ok(Subscription {
            backlog,
            live,
            rv: inner.rv,
        })
    }

    /// Subscribes to live changes only (controllers).
    pub fn changes(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }

    /// The resourceVersion and every object, read at one instant (for snapshots).
    pub fn snapshot(&self) -> (u64, Vec<(usize, Arc<Stored>)>) {
        let inner = self.read();
        let objects = inner
            .tables
            .iter()
            .enumerate()
            .flat_map(|(k, t)| t.values().map(move |v| (k, v.clone())))
            .collect();
        (inner.rv, objects)
    }

    /// Replaces the contents with saved objects and resourceVersion, as a restarted server does:
    /// no events are sent and the watch history starts empty, so watches from before the restart
    /// get 410 Expired and relist.
    pub fn restore(&self, rv: u64, objects: Vec<(usize, Value)>) {
        let mut inner = self.write();
        for table in inner.tables.iter_mut() {
            table.clear();
        }
        inner.history.clear();
        let mut max_rv = rv;
        for (kind, value) in objects {
            let Some(table) = inner.tables.get_mut(kind) else {
                continue;
            };
            let object_rv = crate::meta::str_at(&value, &["metadata", "resourceVersion"])
                .parse()
                .unwrap_or(0);
            max_rv = max_rv.max(object_rv);
            table.insert(key_of(&value), Stored::new(value, object_rv));
        }
        inner.rv = max_rv;
    }

    /// Every stored object of every kind (GC scans).
    pub fn all_objects(&self) -> Vec<(usize, Arc<Stored>)> {
        self.snapshot().1
    }
}

fn key_of(value: &Value) -> Key {
    (
        crate::meta::str_at(value, &["metadata", "namespace"]).to_string(),
        crate::meta::str_at(value, &["metadata", "name"]).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn watch_resume_and_expiry() {
        let s = Store::with_history(3);
        let cm = kinds::index_of(kinds::find("", "v1", "configmaps").unwrap());
        for i in 0..5 {
            s.create(
                cm,
                json!({"metadata": {"name": format!("c{i}"), "namespace": "n"}}),
            )
            .unwrap();
        }
        // RVs 2..=6 were written; only the last three are kept.
        assert_eq!(s.subscribe(Some(2)).err(), Some(4));
        let sub = s.subscribe(Some(4)).ok().unwrap();
        assert_eq!(
            sub.backlog.iter().map(|c| c.rv).collect::<Vec<_>>(),
            vec![5, 6]
        );
        assert!(s.subscribe(Some(6)).ok().unwrap().backlog.is_empty());
    }
}
