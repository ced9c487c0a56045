//! `gitlab` and `gitea`: where a self-hosted (or the public) GitLab, Gitea or Forgejo is, and
//! the token revertbot signs in with (a file, or `REVERTBOT_GITLAB_TOKEN` /
//! `REVERTBOT_GITEA_TOKEN`).

use std::collections::BTreeMap;

use super::problems::Problems;
use super::secrets::{has_env, GITEA_TOKEN_ENV, GITLAB_TOKEN_ENV};
use crate::config::file::ForgeServerFile;
use crate::config::model::{ForgeServer, Secret};

pub fn gitlab(
    file: Option<ForgeServerFile>,
    env: &BTreeMap<String, String>,
    p: &mut Problems<'_>,
) -> ForgeServer {
    server(
        "gitlab",
        file.unwrap_or_default(),
        Some(crate::remote_url::GITLAB_URL),
        GITLAB_TOKEN_ENV,
        env,
        p,
    )
    .expect("GitLab has a default address")
}

/// Gitea or Forgejo: only where the section is given (there is no public default).
pub fn gitea(
    file: Option<ForgeServerFile>,
    env: &BTreeMap<String, String>,
    p: &mut Problems<'_>,
) -> Option<ForgeServer> {
    match file {
        Some(file) => server("gitea", file, None, GITEA_TOKEN_ENV, env, p),
        None if has_env(env, GITEA_TOKEN_ENV) => {
            p.push(
                "gitea.url",
                format!("{GITEA_TOKEN_ENV} is set: give the Gitea or Forgejo server's address (https://HOST)"),
            );
            None
        }
        None => None,
    }
}

fn server(
    key: &str,
    file: ForgeServerFile,
    default_url: Option<&str>,
    token_env: &str,
    env: &BTreeMap<String, String>,
    p: &mut Problems<'_>,
) -> Option<ForgeServer> {
    let Some(url) = file.url.as_deref().or(default_url) else {
        p.push(
            &format!("{key}.url"),
            "give the server's address (https://HOST)".into(),
        );
        return None;
    };
    let url = url.trim().trim_end_matches('/').to_string();
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    if host.is_none_or(|h| h.is_empty() || h.contains(['?', '#'])) {
        p.push(
            &format!("{key}.url"),
            format!("{url:?} is not an http(s) address; give the web address, like https://HOST (the API is found under it)"),
        );
    } else if url.ends_with("/api/v4") || url.ends_with("/api/v1") {
        p.push(
            &format!("{key}.url"),
            format!("{url:?}: give the web address without the API's path (/api/v4, /api/v1)"),
        );
    }
    let token = match file.token_file {
        Some(path) => Some(Secret::File(path)),
        None if has_env(env, token_env) => Some(Secret::Env(token_env.to_string())),
        None => None,
    };
    // GitLab sends its webhook's token as it is; Gitea and Forgejo sign the body: each key
    // belongs to one of them.
    if key == "gitlab" && file.webhook_secret_file.is_some() {
        p.push(
            "gitlab.webhook_secret_file",
            "GitLab does not sign its webhook, it sends a token (X-Gitlab-Token): name that file gitlab.webhook_token_file"
                .into(),
        );
    }
    if key == "gitea" && file.webhook_token_file.is_some() {
        p.push(
            "gitea.webhook_token_file",
            "Gitea and Forgejo sign their webhook with a secret: name that file gitea.webhook_secret_file"
                .into(),
        );
    }
    let (webhook_secret, webhook_token) = if key == "gitlab" {
        (None, file.webhook_token_file.map(Secret::File))
    } else {
        (file.webhook_secret_file.map(Secret::File), None)
    };
    Some(ForgeServer {
        url,
        token,
        ca_file: file.ca_file,
        webhook_secret,
        webhook_token,
    })
}
