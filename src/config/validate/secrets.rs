//! The environment variables that may hold a secret instead of a file the configuration names.

use std::collections::BTreeMap;

pub const GITHUB_TOKEN_ENV: &str = "GITHUB_TOKEN";
pub const GITLAB_TOKEN_ENV: &str = "REVERTBOT_GITLAB_TOKEN";
pub const GITEA_TOKEN_ENV: &str = "REVERTBOT_GITEA_TOKEN";
pub const GIT_TOKEN_ENV: &str = "REVERTBOT_GIT_TOKEN";
pub const GIT_PASSWORD_ENV: &str = "REVERTBOT_GIT_PASSWORD";
pub const WEBHOOK_TOKEN_ENV: &str = "REVERTBOT_WEBHOOK_TOKEN";
pub const WEBHOOK_PASSWORD_ENV: &str = "REVERTBOT_WEBHOOK_PASSWORD";
pub const JOURNAL_PASSWORD_ENV: &str = "REVERTBOT_JOURNAL_PASSWORD";
/// Those of them that start with `REVERTBOT_`.
pub const SECRET_VARIABLES: &[&str] = &[
    GITLAB_TOKEN_ENV,
    GITEA_TOKEN_ENV,
    GIT_TOKEN_ENV,
    GIT_PASSWORD_ENV,
    WEBHOOK_TOKEN_ENV,
    WEBHOOK_PASSWORD_ENV,
    JOURNAL_PASSWORD_ENV,
];

/// Whether the environment gives the variable a value: an empty one counts as unset, as a
/// secret left blank in a deployment's manifest would be.
pub fn has_env(env: &BTreeMap<String, String>, name: &str) -> bool {
    env.get(name).is_some_and(|v| !v.trim().is_empty())
}
