//! `webhook`: authentication is required, so that nobody who can reach the service can make
//! it open rollbacks.

use std::collections::BTreeMap;

use super::problems::Problems;
use super::secrets::{has_env, WEBHOOK_PASSWORD_ENV, WEBHOOK_TOKEN_ENV};
use crate::config::file::{BasicAuthFile, WebhookFile};
use crate::config::model::{BasicAuth, Secret, Webhook};

pub fn webhook(w: WebhookFile, env: &BTreeMap<String, String>, p: &mut Problems<'_>) -> Webhook {
    let read_tokens = w.read_tokens_file.clone().map(Secret::File);
    let bearer_tokens = w
        .bearer_tokens_file
        .map(Secret::File)
        .or_else(|| has_env(env, WEBHOOK_TOKEN_ENV).then(|| Secret::Env(WEBHOOK_TOKEN_ENV.into())));
    let basic_auth = w.basic_auth.and_then(|b| basic_auth(b, env, p));
    if bearer_tokens.is_none() && basic_auth.is_none() {
        p.push(
            "webhook",
            format!(
                "set bearer_tokens_file (or {WEBHOOK_TOKEN_ENV}) or basic_auth: without them anyone who can reach the service could make it open rollbacks"
            ),
        );
    }
    let max_body_bytes = w.max_body_bytes.unwrap_or(1 << 20);
    if max_body_bytes < 1024 {
        p.push(
            "webhook.max_body_bytes",
            format!("{max_body_bytes}: give at least 1024 (Alertmanager's payloads are a few KiB)"),
        );
    }
    let header_read_timeout = p.timeout(
        "webhook.header_read_timeout",
        w.header_read_timeout.as_ref(),
        "10s",
    );
    let body_read_timeout = p.timeout(
        "webhook.body_read_timeout",
        w.body_read_timeout.as_ref(),
        "30s",
    );
    let idle_timeout = p.timeout("webhook.idle_timeout", w.idle_timeout.as_ref(), "60s");
    let max_connections = w.max_connections.unwrap_or(10_000);
    if max_connections < 16 {
        p.push(
            "webhook.max_connections",
            format!(
                "{max_connections}: give at least 16 (Alertmanager, probes and scrapes share them)"
            ),
        );
    }
    Webhook {
        bearer_tokens,
        read_tokens,
        basic_auth,
        max_body_bytes,
        header_read_timeout,
        body_read_timeout,
        idle_timeout,
        max_connections,
    }
}

fn basic_auth(
    b: BasicAuthFile,
    env: &BTreeMap<String, String>,
    p: &mut Problems<'_>,
) -> Option<BasicAuth> {
    let password = b.password_file.map(Secret::File).or_else(|| {
        has_env(env, WEBHOOK_PASSWORD_ENV).then(|| Secret::Env(WEBHOOK_PASSWORD_ENV.into()))
    });
    match (b.username.filter(|u| !u.is_empty()), password) {
        (Some(username), Some(password)) => Some(BasicAuth { username, password }),
        (None, _) => {
            p.push(
                "webhook.basic_auth.username",
                "give the user name Alertmanager sends".into(),
            );
            None
        }
        (Some(_), None) => {
            p.push(
                "webhook.basic_auth.password_file",
                format!("give the file holding the password (or set {WEBHOOK_PASSWORD_ENV})"),
            );
            None
        }
    }
}
