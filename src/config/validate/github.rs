//! `github`: the API's URL and how revertbot signs in (a token or a GitHub App, not both).

use std::collections::BTreeMap;

use super::problems::Problems;
use super::secrets::{has_env, GITHUB_TOKEN_ENV};
use crate::config::file::{AppFile, GitHubFile};
use crate::config::model::{GitHub, GitHubAuth, Secret};

pub fn github(g: GitHubFile, env: &BTreeMap<String, String>, p: &mut Problems<'_>) -> GitHub {
    let api_url = g
        .api_url
        .unwrap_or_else(|| "https://api.github.com".into())
        .trim_end_matches('/')
        .to_string();
    if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
        p.push(
            "github.api_url",
            format!(
                "{api_url:?} is not an http(s) URL; GitHub Enterprise Server: https://HOST/api/v3"
            ),
        );
    }
    let auth = match (g.app, g.token_file) {
        (Some(_), Some(_)) => {
            p.push("github", "give token_file or app, not both".into());
            None
        }
        (Some(app), None) => app_auth(app, p),
        (None, Some(file)) => Some(GitHubAuth::Token(Secret::File(file))),
        (None, None) if has_env(env, GITHUB_TOKEN_ENV) => {
            Some(GitHubAuth::Token(Secret::Env(GITHUB_TOKEN_ENV.into())))
        }
        (None, None) => None,
    };
    GitHub {
        api_url,
        auth,
        webhook_secret: g.webhook_secret_file.map(Secret::File),
    }
}

fn app_auth(app: AppFile, p: &mut Problems<'_>) -> Option<GitHubAuth> {
    match (app.id, app.key_file) {
        (Some(id), Some(key_file)) => Some(GitHubAuth::App {
            id,
            key_file,
            installation_id: app.installation_id,
        }),
        (None, _) => {
            p.push("github.app.id", "give the GitHub App's id".into());
            None
        }
        (_, None) => {
            p.push(
                "github.app.key_file",
                "give the GitHub App's private key file (PEM)".into(),
            );
            None
        }
    }
}
