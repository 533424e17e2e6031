//! The one user, `root`: who may sign in with a password.

use crate::shared::Shared;

/// The logins root answers to: its username and its e-mail address (GitLab's `find_by_login`).
const ROOT_LOGINS: [&str; 2] = ["root", "admin@example.com"];

/// Whether `login` names root.
pub(crate) fn is_root_login(login: &str) -> bool {
    ROOT_LOGINS.iter().any(|l| l.eq_ignore_ascii_case(login))
}

/// Whether `login`/`password` are root's: the check behind the sign-in form, git over HTTP and
/// the OAuth password grant.
pub(crate) fn password_matches(shared: &Shared, login: &str, password: &str) -> bool {
    is_root_login(login) && secrets_equal(password, &shared.root_password)
}

/// Compares two secrets in time that depends on their lengths only.
pub(crate) fn secrets_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "abcd"));
        assert!(is_root_login("ROOT"));
        assert!(!is_root_login("rooted"));
    }
}
