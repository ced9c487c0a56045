//! The configuration file as a tree, with `REVERTBOT_<KEY_PATH>` environment variables laid
//! over it: `REVERTBOT_GUARDS_DRY_RUN=true` sets `guards.dry_run`. A `REVERTBOT_` variable
//! that names nothing revertbot reads is a problem, as an unknown key in the file is: a
//! misspelt `REVERTBOT_GUARDS_DRYRUN=true` would otherwise leave the guard off in silence.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

pub const ENV_PREFIX: &str = "REVERTBOT_";

#[derive(Clone, Copy)]
enum Ty {
    Text,
    Integer,
    Bool,
    /// Comma-separated.
    List,
}

/// The settings an environment variable may set: every scalar and list outside `repos` and
/// `rules`.
const SETTINGS: &[(&str, Ty)] = &[
    ("listen", Ty::Text),
    ("data_dir", Ty::Text),
    ("log_format", Ty::Text),
    ("shutdown_timeout", Ty::Text),
    ("retention", Ty::Text),
    ("workers", Ty::Integer),
    ("forge", Ty::Text),
    ("webhook.bearer_tokens_file", Ty::Text),
    ("webhook.read_tokens_file", Ty::Text),
    ("webhook.basic_auth.username", Ty::Text),
    ("webhook.basic_auth.password_file", Ty::Text),
    ("webhook.max_body_bytes", Ty::Integer),
    ("webhook.header_read_timeout", Ty::Text),
    ("webhook.body_read_timeout", Ty::Text),
    ("webhook.idle_timeout", Ty::Text),
    ("webhook.max_connections", Ty::Integer),
    ("tls.cert_file", Ty::Text),
    ("tls.key_file", Ty::Text),
    ("journal.url", Ty::Text),
    ("journal.password_file", Ty::Text),
    ("journal.sslmode", Ty::Text),
    ("journal.sslrootcert", Ty::Text),
    ("github.api_url", Ty::Text),
    ("github.token_file", Ty::Text),
    ("github.app.id", Ty::Integer),
    ("github.app.key_file", Ty::Text),
    ("github.app.installation_id", Ty::Integer),
    ("github.webhook_secret_file", Ty::Text),
    ("gitlab.url", Ty::Text),
    ("gitlab.token_file", Ty::Text),
    ("gitlab.ca_file", Ty::Text),
    ("gitlab.webhook_token_file", Ty::Text),
    ("gitea.url", Ty::Text),
    ("gitea.token_file", Ty::Text),
    ("gitea.ca_file", Ty::Text),
    ("gitea.webhook_secret_file", Ty::Text),
    ("git.author.name", Ty::Text),
    ("git.author.email", Ty::Text),
    ("git.token_file", Ty::Text),
    ("git.username", Ty::Text),
    ("git.password_file", Ty::Text),
    ("git.ssh_key_file", Ty::Text),
    ("git.timeout_seconds", Ty::Integer),
    ("git.signing.format", Ty::Text),
    ("git.signing.key_file", Ty::Text),
    ("git.signing.passphrase_file", Ty::Text),
    ("git.signoff", Ty::Bool),
    ("pull_request.labels", Ty::List),
    ("pull_request.reviewers", Ty::List),
    ("pull_request.team_reviewers", Ty::List),
    ("pull_request.assignees", Ty::List),
    ("pull_request.draft", Ty::Bool),
    ("pull_request.comment_interval", Ty::Text),
    ("pull_request.poll_interval", Ty::Text),
    ("registry.check", Ty::Bool),
    ("registry.on_missing", Ty::Text),
    ("registry.on_error", Ty::Text),
    ("registry.auth_file", Ty::Text),
    ("registry.plain_http", Ty::List),
    ("registry.timeout", Ty::Text),
    ("guards.dry_run", Ty::Bool),
    ("guards.max_rollbacks_per_repo_per_hour", Ty::Integer),
    ("guards.max_alert_age", Ty::Text),
    ("guards.culprit_grace", Ty::Text),
    ("guards.revert_of_revert", Ty::Text),
];

/// Variables the command line reads (clap `env` attributes in `cli/args.rs`), besides the
/// settings and the secrets' variables: set for `revert` and `locate`, they are no mistake
/// when the service's commands run in the same environment.
pub const COMMAND_LINE_VARIABLES: &[&str] = &[
    "REVERTBOT_CONFIG",
    "REVERTBOT_CACHE_DIR",
    "REVERTBOT_AUTHOR_NAME",
    "REVERTBOT_AUTHOR_EMAIL",
    "REVERTBOT_SSH_KEY",
    "REVERTBOT_GITHUB_INSTALLATION_ID",
    "REVERTBOT_SIGNING_KEY",
    "REVERTBOT_SIGNING_FORMAT",
    "REVERTBOT_SIGNING_PASSPHRASE_FILE",
];

/// Whether revertbot reads an environment variable: a setting's, a secret's (`secrets`: the
/// variables that may hold one), or the command line's.
pub fn is_known(name: &str, secrets: &[&str]) -> bool {
    SETTINGS
        .iter()
        .any(|(key_path, _)| variable(key_path) == name)
        || secrets.contains(&name)
        || COMMAND_LINE_VARIABLES.contains(&name)
}

/// A problem for each `REVERTBOT_` variable revertbot does not read, with the closest name it
/// does read when one is near.
pub fn check_names(env: &BTreeMap<String, String>, secrets: &[&str], problems: &mut Vec<String>) {
    for name in env.keys() {
        if !name.starts_with(ENV_PREFIX) || is_known(name, secrets) || is_service_link(name) {
            continue;
        }
        let settings = SETTINGS
            .iter()
            .map(|(key_path, _)| (variable(key_path), Some(*key_path)));
        let others = secrets
            .iter()
            .chain(COMMAND_LINE_VARIABLES)
            .map(|v| (v.to_string(), None));
        let closest = settings
            .chain(others)
            .map(|(known, key_path)| (distance(name, &known), known, key_path))
            .min_by_key(|(d, _, _)| *d)
            .filter(|(d, known, _)| *d <= 3 && *d * 3 <= known.len() - ENV_PREFIX.len());
        problems.push(match closest {
            Some((_, known, Some(key_path))) => format!(
                "{name}: names no setting; did you mean {known} ({key_path})? Rename or unset it"
            ),
            Some((_, known, None)) => {
                format!("{name}: names no setting; did you mean {known}? Rename or unset it")
            }
            None => format!(
                "{name}: names no setting; settings are REVERTBOT_<KEY_PATH>, e.g. REVERTBOT_GUARDS_DRY_RUN for guards.dry_run (see the README's configuration reference); rename or unset it"
            ),
        });
    }
}

/// The variables Kubernetes gives a pod for each Service in its namespace (unless the pod sets
/// `enableServiceLinks: false`): a Service named `revertbot` makes `REVERTBOT_SERVICE_HOST`,
/// `REVERTBOT_PORT`, `REVERTBOT_PORT_9095_TCP_ADDR`... They are not meant for revertbot.
fn is_service_link(name: &str) -> bool {
    // After the Service's name (`revertbot`, or `revertbot-something` as `REVERTBOT_SOMETHING`).
    let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
        return false;
    };
    let words: Vec<&str> = rest.split('_').collect();
    (0..words.len()).any(|start| match &words[start..] {
        ["SERVICE", "HOST"] | ["SERVICE", "PORT", ..] | ["PORT"] => true,
        ["PORT", port, proto, tail @ ..] => {
            port.chars().all(|c| c.is_ascii_digit())
                && matches!(*proto, "TCP" | "UDP" | "SCTP")
                && matches!(tail, [] | ["PROTO" | "PORT" | "ADDR"])
        }
        _ => false,
    })
}

/// Levenshtein distance, in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The environment variable that sets a key path.
pub fn variable(key_path: &str) -> String {
    format!("{ENV_PREFIX}{}", key_path.replace('.', "_").to_uppercase())
}

pub fn tree_with_overrides(
    text: &str,
    env: &BTreeMap<String, String>,
    problems: &mut Vec<String>,
) -> Value {
    let mut tree = if text.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        match serde_saphyr::from_str::<Value>(text) {
            Ok(Value::Null) => Value::Object(Map::new()),
            Ok(tree @ Value::Object(_)) => tree,
            Ok(_) => {
                problems.push("(file): the configuration must be a mapping of settings".into());
                Value::Object(Map::new())
            }
            Err(e) => {
                let message = e.to_string();
                let first = message.lines().next().unwrap_or("").trim();
                problems.push(format!("(file): not valid YAML: {first}"));
                Value::Object(Map::new())
            }
        }
    };
    for (key_path, ty) in SETTINGS {
        let var = variable(key_path);
        let Some(raw) = env.get(&var) else {
            continue;
        };
        let value = match ty {
            Ty::Text => Value::String(raw.clone()),
            Ty::Integer => match raw.trim().parse::<u64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    problems.push(format!("{var}: {raw:?} is not a whole number"));
                    continue;
                }
            },
            Ty::Bool => match raw.trim() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    problems.push(format!("{var}: {raw:?} is not true or false"));
                    continue;
                }
            },
            Ty::List => Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            ),
        };
        set(&mut tree, key_path, value);
    }
    tree
}

fn set(tree: &mut Value, key_path: &str, value: Value) {
    let mut node = tree;
    let mut keys = key_path.split('.').peekable();
    while let Some(key) = keys.next() {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let map = node.as_object_mut().expect("made an object above");
        if keys.peek().is_none() {
            map.insert(key.to_string(), value);
            return;
        }
        node = map
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_service_links_are_not_settings() {
        for name in [
            "REVERTBOT_SERVICE_HOST",
            "REVERTBOT_SERVICE_PORT",
            "REVERTBOT_SERVICE_PORT_HTTP",
            "REVERTBOT_PORT",
            "REVERTBOT_PORT_9095_TCP",
            "REVERTBOT_PORT_9095_TCP_ADDR",
            "REVERTBOT_METRICS_SERVICE_HOST",
        ] {
            assert!(is_service_link(name), "{name}");
        }
        for name in [
            "REVERTBOT_GUARDS_DRYRUN",
            "REVERTBOT_PORT_HTTP",
            "REVERTBOT_PORT_9095_TCP_HOST",
            "REVERTBOT_SERVICE",
        ] {
            assert!(!is_service_link(name), "{name}");
        }
    }

    #[test]
    fn distances_count_edits() {
        assert_eq!(distance("GUARDS_DRYRUN", "GUARDS_DRY_RUN"), 1);
        assert_eq!(distance("abc", "abc"), 0);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
