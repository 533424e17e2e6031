//! Whether one set of RBAC rules grants everything another does, and the rules it lacks in the
//! compact form Kubernetes prints in its escalation errors.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::meta::strings_at;

/// A PolicyRule as lists of strings (absent lists are empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) api_groups: Vec<String>,
    pub(crate) resources: Vec<String>,
    pub(crate) resource_names: Vec<String>,
    pub(crate) non_resource_urls: Vec<String>,
    pub(crate) verbs: Vec<String>,
}

fn one(s: &str) -> Vec<String> {
    vec![s.to_string()]
}

fn has(set: &[String], s: &str) -> bool {
    set.iter().any(|x| x == s)
}

impl Rule {
    /// Reads a rule from its JSON form.
    pub(crate) fn from_json(v: &Value) -> Self {
        Rule {
            api_groups: strings_at(v, &["apiGroups"]),
            resources: strings_at(v, &["resources"]),
            resource_names: strings_at(v, &["resourceNames"]),
            non_resource_urls: strings_at(v, &["nonResourceURLs"]),
            verbs: strings_at(v, &["verbs"]),
        }
    }

    /// The rule split into rules of one group, resource, verb and resource name each (and one
    /// URL and verb each for non-resource URLs), so that each is covered by a single rule or not.
    fn atoms(&self) -> Vec<Rule> {
        let mut out = Vec::new();
        for group in &self.api_groups {
            for resource in &self.resources {
                for verb in &self.verbs {
                    let atom = |names: Vec<String>| Rule {
                        api_groups: one(group),
                        resources: one(resource),
                        resource_names: names,
                        verbs: one(verb),
                        ..Default::default()
                    };
                    if self.resource_names.is_empty() {
                        out.push(atom(Vec::new()));
                    } else {
                        out.extend(self.resource_names.iter().map(|n| atom(one(n))));
                    }
                }
            }
        }
        for url in &self.non_resource_urls {
            for verb in &self.verbs {
                out.push(Rule {
                    non_resource_urls: one(url),
                    verbs: one(verb),
                    ..Default::default()
                });
            }
        }
        out
    }

    /// Whether this (owner) rule grants all of `atom`, a rule from [`Rule::atoms`].
    fn covers(&self, atom: &Rule) -> bool {
        let all_in = |set: &[String], wanted: &[String]| wanted.iter().all(|w| has(set, w));
        let verbs = has(&self.verbs, "*") || all_in(&self.verbs, &atom.verbs);
        let groups = has(&self.api_groups, "*") || all_in(&self.api_groups, &atom.api_groups);
        let resources = has(&self.resources, "*")
            || atom.resources.iter().all(|r| {
                has(&self.resources, r)
                    || r.split_once('/')
                        .is_some_and(|(_, sub)| has(&self.resources, &format!("*/{sub}")))
            });
        let urls = atom.non_resource_urls.iter().all(|path| {
            self.non_resource_urls.iter().any(|owner| {
                owner == path
                    || owner
                        .strip_suffix('*')
                        .is_some_and(|prefix| path.starts_with(prefix.trim_end_matches('*')))
            })
        });
        let names = self.resource_names.is_empty()
            || (!atom.resource_names.is_empty()
                && all_in(&self.resource_names, &atom.resource_names));
        verbs && groups && resources && urls && names
    }

    /// Kubernetes' compact form: `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}`.
    pub(crate) fn compact_string(&self) -> String {
        let quoted = |list: &[String]| {
            let items: Vec<String> = list
                .iter()
                .map(|s| serde_json::to_string(s).unwrap_or_default())
                .collect();
            format!("[{}]", items.join(" "))
        };
        let parts: Vec<String> = [
            ("APIGroups", &self.api_groups),
            ("Resources", &self.resources),
            ("NonResourceURLs", &self.non_resource_urls),
            ("ResourceNames", &self.resource_names),
            ("Verbs", &self.verbs),
        ]
        .into_iter()
        .filter(|(_, list)| !list.is_empty())
        .map(|(name, list)| format!("{name}:{}", quoted(list)))
        .collect();
        format!("{{{}}}", parts.join(", "))
    }
}

/// The parts of `wanted` that `owner` does not grant, one rule per group, resource, verb and
/// name (empty when `owner` covers everything).
pub(crate) fn missing(owner: &[Rule], wanted: &[Rule]) -> Vec<Rule> {
    wanted
        .iter()
        .flat_map(Rule::atoms)
        .filter(|atom| !owner.iter().any(|o| o.covers(atom)))
        .collect()
}

/// The missing rules as Kubernetes lists them: rules that differ only by verb merged into one,
/// each in compact form, sorted and without duplicates.
pub(crate) fn describe(missing: &[Rule]) -> Vec<String> {
    let mut merged: BTreeMap<(String, String, Vec<String>), Rule> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for rule in missing {
        let simple = rule.non_resource_urls.is_empty()
            && rule.api_groups.len() == 1
            && rule.resources.len() == 1
            && rule.resource_names.len() <= 1;
        if !simple {
            out.insert(rule.compact_string());
            continue;
        }
        let key = (
            rule.api_groups[0].clone(),
            rule.resources[0].clone(),
            rule.resource_names.clone(),
        );
        match merged.get_mut(&key) {
            Some(m) => m.verbs.extend(rule.verbs.iter().cloned()),
            None => {
                merged.insert(key, rule.clone());
            }
        }
    }
    out.extend(merged.values().map(Rule::compact_string));
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(v: Value) -> Vec<Rule> {
        v.as_array().unwrap().iter().map(Rule::from_json).collect()
    }

    #[test]
    fn cluster_admin_is_not_covered_by_role_editing_rights() {
        let owner = rules(json!([{"apiGroups": ["rbac.authorization.k8s.io"],
            "resources": ["roles", "rolebindings"], "verbs": ["create", "update"]}]));
        let admin = rules(
            json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        );
        assert_eq!(
            describe(&missing(&owner, &admin)),
            [
                r#"{APIGroups:["*"], Resources:["*"], Verbs:["*"]}"#,
                r#"{NonResourceURLs:["*"], Verbs:["*"]}"#
            ]
        );
    }

    #[test]
    fn wildcards_subresources_names_and_urls_cover_what_they_name() {
        let owner = rules(json!([
            {"apiGroups": [""], "resources": ["pods", "*/log"], "verbs": ["get", "list"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"], "verbs": ["*"]},
            {"nonResourceURLs": ["/healthz/*"], "verbs": ["get"]}]));
        let covered = rules(json!([
            {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["list"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"], "verbs": ["delete"]},
            {"nonResourceURLs": ["/healthz/ping"], "verbs": ["get"]}]));
        assert!(missing(&owner, &covered).is_empty());
        let wider = rules(json!([
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete", "watch"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]));
        assert_eq!(
            describe(&missing(&owner, &wider)),
            [
                r#"{APIGroups:[""], Resources:["pods"], Verbs:["delete" "watch"]}"#,
                r#"{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}"#
            ]
        );
    }
}
