//! Project CI/CD variables: GitLab's checks, and one variable per key and environment scope.

use crate::error::GitLabError;
use crate::model::Variable;
use crate::shared::Shared;

/// GitLab's rule for maskable values: one line, ≥ 8 characters, Base64 alphabet plus `@:.~-_`.
pub fn maskable(value: &str) -> bool {
    value.len() >= 8
        && value.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '+' | '/' | '=' | '@' | ':' | '.' | '~' | '-' | '_')
        })
}

/// GitLab's validation of a variable's key and (when masked) value.
fn validate(variable: &Variable) -> Result<(), GitLabError> {
    if variable.key.is_empty()
        || variable.key.len() > 255
        || !variable
            .key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(GitLabError::Invalid(
            "{:key=>[\"can contain only letters, digits and '_'.\"]}".into(),
        ));
    }
    if variable.masked && !maskable(&variable.value) {
        return Err(GitLabError::Invalid(format!(
            "{{:value=>[\"is invalid\"]}} (variable {} cannot be masked: the value must be a single line of at least 8 characters from the Base64 alphabet plus @:.~-_)",
            variable.key
        )));
    }
    Ok(())
}

fn same(a: &Variable, key: &str, scope: &str) -> bool {
    a.key == key && a.environment_scope == scope
}

/// Checks `variable`, then runs `change` on the variables of project `project_id`.
fn change_variables<T>(
    shared: &Shared,
    project_id: u64,
    variable: &Variable,
    change: impl FnOnce(&mut Vec<Variable>) -> Result<T, GitLabError>,
) -> Result<T, GitLabError> {
    validate(variable)?;
    let mut store = shared.store();
    if !store.projects.contains_key(&project_id) {
        return Err(GitLabError::not_found("project", project_id));
    }
    change(store.variables.entry(project_id).or_default())
}

/// GitLab's refusal of a second variable with `variable`'s key and environment scope.
fn refuse_taken(list: &[Variable], variable: &Variable) -> Result<(), GitLabError> {
    if list
        .iter()
        .any(|v| same(v, &variable.key, &variable.environment_scope))
    {
        return Err(GitLabError::Validation(serde_json::json!({
            "key": [format!("({}) has already been taken", variable.key)],
        })));
    }
    Ok(())
}

/// Creates or replaces the project variable with this key and environment scope.
pub fn set_variable(
    shared: &Shared,
    project_id: u64,
    variable: Variable,
) -> Result<Variable, GitLabError> {
    change_variables(shared, project_id, &variable, |list| {
        list.retain(|v| !same(v, &variable.key, &variable.environment_scope));
        list.push(variable.clone());
        Ok(())
    })?;
    Ok(variable)
}

/// Creates a project variable; a key already used in that environment scope is refused with
/// GitLab's message.
pub(crate) fn add_variable(
    shared: &Shared,
    project_id: u64,
    variable: Variable,
) -> Result<Variable, GitLabError> {
    change_variables(shared, project_id, &variable, |list| {
        refuse_taken(list, &variable)?;
        list.push(variable.clone());
        Ok(())
    })?;
    Ok(variable)
}

/// Replaces the variable `key` in scope `scope` with `variable` (whose scope may differ).
pub(crate) fn update_variable(
    shared: &Shared,
    project_id: u64,
    (key, scope): (&str, &str),
    variable: Variable,
) -> Result<Variable, GitLabError> {
    change_variables(shared, project_id, &variable, |list| {
        if variable.key != key || variable.environment_scope != scope {
            refuse_taken(list, &variable)?;
        }
        let Some(slot) = list.iter_mut().find(|v| same(v, key, scope)) else {
            return Err(GitLabError::not_found("variable", key));
        };
        *slot = variable.clone();
        Ok(())
    })?;
    Ok(variable)
}

/// Deletes the project variable `key` (in `scope`, or the only one with that key).
pub fn delete_variable(shared: &Shared, project_id: u64, key: &str) -> Result<(), GitLabError> {
    delete_scoped(shared, project_id, key, None)
}

/// Deletes the project variable `key` in `scope` (any scope when `None`).
pub(crate) fn delete_scoped(
    shared: &Shared,
    project_id: u64,
    key: &str,
    scope: Option<&str>,
) -> Result<(), GitLabError> {
    let mut store = shared.store();
    let list = store.variables.entry(project_id).or_default();
    let before = list.len();
    list.retain(|v| !(v.key == key && scope.is_none_or(|s| v.environment_scope == s)));
    if list.len() == before {
        return Err(GitLabError::not_found("variable", key));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::maskable;

    #[test]
    fn masking_requirements_follow_gitlab() {
        assert!(maskable("s3cr3t-Value_1234"));
        assert!(maskable("dXNlcjpwYXNz=="));
        assert!(!maskable("short"), "fewer than 8 characters");
        assert!(!maskable("has a space in it"));
        assert!(!maskable("two\nlines-value"));
        assert!(!maskable("dollar$sign-value"));
    }
}
