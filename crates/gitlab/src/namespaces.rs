//! Namespaces a project lives in: root's own (`root`, kind `user`) and groups (kind `group`,
//! nested through `parent_id`), as GitLab keeps them.

use chrono::{DateTime, Utc};

use crate::error::GitLabError;
use crate::model::Visibility;
use crate::store::Store;

/// A group (or subgroup).
#[derive(Debug, Clone)]
pub struct Group {
    /// Group id (a namespace id).
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Last path segment.
    pub path: String,
    /// `parent/child` path.
    pub full_path: String,
    /// The parent group of a subgroup.
    pub parent_id: Option<u64>,
    /// Who may see it.
    pub visibility: Visibility,
    /// Free text.
    pub description: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A namespace as the API shows it: root's user namespace or a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Namespace {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) full_path: String,
    pub(crate) parent_id: Option<u64>,
    /// `user` or `group`.
    pub(crate) kind: &'static str,
}

/// Root's user namespace path.
pub(crate) const ROOT_NAMESPACE: &str = "root";

/// Whether `s` may be a path segment (GitLab's path rule, simplified: letters, digits, `-`,
/// `_`, `.`; not starting with `-` or `.`, not ending in `.git`).
pub(crate) fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(['.', '-'])
        && !s.ends_with(".git")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A path made from a display name, as GitLab suggests one: lowercase, runs of other
/// characters become `-`.
pub(crate) fn path_from_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches(['-', '.']).to_string()
}

impl Store {
    /// Every namespace: root's first, then the groups by id.
    pub(crate) fn namespaces(&self) -> Vec<Namespace> {
        let user = Namespace {
            id: self.user_namespace_id,
            name: "Administrator".into(),
            path: ROOT_NAMESPACE.into(),
            full_path: ROOT_NAMESPACE.into(),
            parent_id: None,
            kind: "user",
        };
        std::iter::once(user)
            .chain(self.groups.values().map(|g| Namespace {
                id: g.id,
                name: g.name.clone(),
                path: g.path.clone(),
                full_path: g.full_path.clone(),
                parent_id: g.parent_id,
                kind: "group",
            }))
            .collect()
    }

    /// The namespace with this id or full path.
    pub(crate) fn namespace_by_ref(&self, id_or_path: &str) -> Option<Namespace> {
        self.namespaces()
            .into_iter()
            .find(|n| n.id.to_string() == id_or_path || n.full_path == id_or_path)
    }

    /// The group with this id or full path.
    pub(crate) fn group_by_ref(&self, id_or_path: &str) -> Option<&Group> {
        match id_or_path.parse::<u64>() {
            Ok(id) => self.groups.get(&id),
            Err(_) => self.groups.values().find(|g| g.full_path == id_or_path),
        }
    }

    /// Whether a project or group already uses `full_path`.
    pub(crate) fn path_taken(&self, full_path: &str) -> bool {
        full_path == ROOT_NAMESPACE
            || self.groups.values().any(|g| g.full_path == full_path)
            || self
                .projects
                .values()
                .any(|p| p.path_with_namespace == full_path)
    }

    /// Creates a group under `parent` (or at the top).
    pub(crate) fn create_group(
        &mut self,
        name: &str,
        path: &str,
        parent: Option<u64>,
        visibility: Visibility,
    ) -> Result<Group, GitLabError> {
        if !valid_segment(path) {
            return Err(GitLabError::Invalid(format!(
                "Failed to save group {{:path=>[\"{path} is not a valid path\"]}}"
            )));
        }
        let parent_path = match parent {
            Some(id) => Some(
                self.groups
                    .get(&id)
                    .ok_or_else(|| GitLabError::not_found("group", id))?
                    .full_path
                    .clone(),
            ),
            None => None,
        };
        let full_path = match parent_path {
            Some(p) => format!("{p}/{path}"),
            None => path.to_string(),
        };
        if self.path_taken(&full_path) {
            return Err(GitLabError::Invalid(
                "Failed to save group {:path=>[\"has already been taken\"]}".into(),
            ));
        }
        let id = self.next_id();
        let group = Group {
            id,
            name: name.to_string(),
            path: path.to_string(),
            full_path,
            parent_id: parent,
            visibility,
            description: String::new(),
            created_at: Utc::now(),
        };
        self.groups.insert(id, group.clone());
        Ok(group)
    }

    /// The namespace `full_path` names, creating missing groups on the way (private), for
    /// handle callers that name a project `group/sub/name` directly.
    pub(crate) fn ensure_namespace(&mut self, full_path: &str) -> Result<Namespace, GitLabError> {
        if let Some(ns) = self.namespace_by_ref(full_path) {
            return Ok(ns);
        }
        let mut parent: Option<u64> = None;
        let mut so_far = String::new();
        for segment in full_path.split('/') {
            if !so_far.is_empty() {
                so_far.push('/');
            }
            so_far.push_str(segment);
            parent = Some(match self.group_by_ref(&so_far) {
                Some(g) => g.id,
                None => {
                    self.create_group(segment, segment, parent, Visibility::Private)?
                        .id
                }
            });
        }
        self.namespace_by_ref(full_path)
            .ok_or_else(|| GitLabError::not_found("namespace", full_path))
    }

    /// A group and all its subgroups, parents first.
    pub(crate) fn group_tree(&self, id: u64) -> Vec<u64> {
        let mut out = vec![id];
        let mut i = 0;
        while i < out.len() {
            let parent = out[i];
            out.extend(
                self.groups
                    .values()
                    .filter(|g| g.parent_id == Some(parent))
                    .map(|g| g.id),
            );
            i += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_from_names_follow_gitlab() {
        assert_eq!(path_from_name("Just A Name"), "just-a-name");
        assert_eq!(path_from_name("  web_app v2! "), "web_app-v2");
        assert!(valid_segment("web-app.v2"));
        assert!(!valid_segment("-x"));
        assert!(!valid_segment("x.git"));
    }
}
