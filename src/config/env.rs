//! The configuration file as a tree, with `REVERTBOT_<KEY_PATH>` environment variables laid
//! over it: `REVERTBOT_GUARDS_DRY_RUN=true` sets `guards.dry_run`.

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
    ("git.author.name", Ty::Text),
    ("git.author.email", Ty::Text),
    ("git.token_file", Ty::Text),
    ("git.username", Ty::Text),
    ("git.password_file", Ty::Text),
    ("git.ssh_key_file", Ty::Text),
    ("git.timeout_seconds", Ty::Integer),
    ("pull_request.labels", Ty::List),
    ("pull_request.reviewers", Ty::List),
    ("pull_request.team_reviewers", Ty::List),
    ("pull_request.assignees", Ty::List),
    ("pull_request.draft", Ty::Bool),
    ("pull_request.comment_interval", Ty::Text),
    ("guards.dry_run", Ty::Bool),
    ("guards.max_rollbacks_per_repo_per_hour", Ty::Integer),
    ("guards.max_alert_age", Ty::Text),
    ("guards.culprit_grace", Ty::Text),
    ("guards.revert_of_revert", Ty::Text),
];

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
