//! The one user, `root`: password sign-ins and Devise's lockable behaviour — 10 failed
//! sign-ins in a row lock the account until [`crate::GitLabConfig::unlock_after`] passes.

use std::time::Instant;

use crate::shared::Shared;

/// The logins root answers to: its username and its e-mail address (GitLab's `find_by_login`).
const ROOT_LOGINS: [&str; 2] = ["root", "admin@example.com"];

/// Failed sign-ins in a row that lock the account (GitLab's `max_login_attempts`).
pub(crate) const MAX_FAILED_ATTEMPTS: u32 = 10;

/// Root's lockable state.
#[derive(Debug, Default)]
pub(crate) struct Lockout {
    failed_attempts: u32,
    locked_at: Option<Instant>,
}

/// The outcome of a password sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignIn {
    /// Root's password: the failure count starts again.
    Accepted,
    /// Wrong login or password (counted against root when the login is root's).
    Refused,
    /// Root is locked: the password is not even looked at.
    Locked,
}

/// Whether `login` names root.
pub(crate) fn is_root_login(login: &str) -> bool {
    ROOT_LOGINS.iter().any(|l| l.eq_ignore_ascii_case(login))
}

/// A password sign-in (the sign-in form, git over HTTP, the OAuth password grant), counted the
/// way Devise counts them.
pub(crate) fn sign_in(shared: &Shared, login: &str, password: &str) -> SignIn {
    if !is_root_login(login) {
        return SignIn::Refused;
    }
    let mut store = shared.store();
    let lockout = &mut store.lockout;
    if let Some(at) = lockout.locked_at {
        if at.elapsed() < shared.config.unlock_after {
            return SignIn::Locked;
        }
        *lockout = Lockout::default();
    }
    if secrets_equal(password, &shared.root_password) {
        lockout.failed_attempts = 0;
        return SignIn::Accepted;
    }
    lockout.failed_attempts += 1;
    if lockout.failed_attempts >= MAX_FAILED_ATTEMPTS {
        lockout.locked_at = Some(Instant::now());
        tracing::warn!(
            attempts = lockout.failed_attempts,
            "root locked after failed sign-ins"
        );
    }
    SignIn::Refused
}

/// Whether root is locked now (GitLab then refuses its tokens for git too).
pub(crate) fn is_locked(shared: &Shared) -> bool {
    shared
        .store()
        .lockout
        .locked_at
        .is_some_and(|at| at.elapsed() < shared.config.unlock_after)
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
