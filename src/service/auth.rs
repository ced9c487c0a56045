//! Who may post to the webhook: the `Authorization` header Alertmanager's `http_config` sends
//! (`authorization.credentials` as `Bearer`, or `basic_auth`), compared in constant time. The
//! scheme's name is case-insensitive (RFC 7235: `bearer x` is `Bearer x`). The bearer tokens
//! file holds one token a line (several during a rotation) and is read again when it changes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use anyhow::Result;
use base64::Engine as _;
use subtle::ConstantTimeEq;
use tracing::warn;

use super::secrets;
use crate::config::{Secret, Webhook};
use crate::error::Error;

pub struct Auth {
    bearer: Option<Bearer>,
    /// `base64(user:password)`, as the header carries it after `Basic `.
    basic: Option<String>,
    /// Tokens that may read the status page, and nothing else.
    read: Option<Bearer>,
    /// The secret GitHub signs its webhook deliveries with; `None`: that webhook is off.
    github_hook: Option<Vec<u8>>,
    /// The secret Gitea or Forgejo signs its webhook deliveries with.
    gitea_hook: Option<Vec<u8>>,
    /// The token GitLab's webhook deliveries carry.
    gitlab_hook: Option<Vec<u8>>,
}

enum Bearer {
    Fixed(Vec<String>),
    File {
        path: PathBuf,
        read: Mutex<TokensRead>,
    },
}

/// The tokens file's modification time and length when it was read, and its tokens.
type TokensRead = (Option<(SystemTime, u64)>, Vec<String>);

impl Auth {
    pub fn load(webhook: &Webhook, env: &BTreeMap<String, String>) -> Result<Auth> {
        let bearer = match &webhook.bearer_tokens {
            None => None,
            Some(secret) => Some(Bearer::load(secret, "webhook.bearer_tokens_file", env)?),
        };
        let read = match &webhook.read_tokens {
            None => None,
            Some(secret) => Some(Bearer::load(secret, "webhook.read_tokens_file", env)?),
        };
        let basic = match &webhook.basic_auth {
            None => None,
            Some(b) => {
                let password = secrets::read(&b.password, "webhook.basic_auth.password_file", env)?;
                Some(
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{}:{password}", b.username)),
                )
            }
        };
        Ok(Auth {
            bearer,
            basic,
            read,
            github_hook: None,
            gitea_hook: None,
            gitlab_hook: None,
        })
    }

    /// Takes GitHub's and Gitea's webhook deliveries signed with these secrets.
    pub fn with_forge_hooks(mut self, github: Option<String>, gitea: Option<String>) -> Auth {
        self.github_hook = github.map(String::into_bytes);
        self.gitea_hook = gitea.map(String::into_bytes);
        self
    }

    /// Takes GitLab's webhook deliveries that carry this token.
    pub fn with_gitlab_hook(mut self, token: Option<String>) -> Auth {
        self.gitlab_hook = token.map(String::into_bytes);
        self
    }

    /// The secret a forge's (`github`, `gitea`) webhook deliveries are signed with, or the
    /// token they carry (`gitlab`), when that webhook is on.
    pub fn forge_hook(&self, forge: &str) -> Option<&[u8]> {
        match forge {
            "github" => self.github_hook.as_deref(),
            "gitea" => self.gitea_hook.as_deref(),
            "gitlab" => self.gitlab_hook.as_deref(),
            _ => None,
        }
    }

    /// Whether basic authentication is accepted: a browser asked for credentials can give them.
    pub fn takes_basic(&self) -> bool {
        self.basic.is_some()
    }

    /// Whether an `Authorization` header value lets a request in: the webhook's credentials.
    pub fn allows(&self, header: Option<&[u8]>) -> bool {
        let Some(header) = header else {
            return false;
        };
        let mut ok = false;
        if let (Some(bearer), Some(token)) = (&self.bearer, credentials(header, "bearer")) {
            ok |= bearer.matches(token, "webhook.bearer_tokens_file");
        }
        if let (Some(basic), Some(given)) = (&self.basic, credentials(header, "basic")) {
            ok |= basic.as_bytes().ct_eq(given).unwrap_u8() == 1;
        }
        ok
    }

    /// Whether a request may read (the status page): the webhook's credentials, or a read token.
    pub fn allows_read(&self, header: Option<&[u8]>) -> bool {
        let read = match (&self.read, header.and_then(|h| credentials(h, "bearer"))) {
            (Some(read), Some(token)) => read.matches(token, "webhook.read_tokens_file"),
            _ => false,
        };
        // Both are checked, so that timing says nothing about which matched.
        self.allows(header) | read
    }
}

/// The credentials of an `Authorization` header whose scheme is `scheme` (any case).
fn credentials<'a>(header: &'a [u8], scheme: &str) -> Option<&'a [u8]> {
    let header = header.trim_ascii();
    let space = header.iter().position(|b| *b == b' ')?;
    let (name, rest) = header.split_at(space);
    name.eq_ignore_ascii_case(scheme.as_bytes())
        .then(|| rest.trim_ascii())
}

impl Bearer {
    fn load(secret: &Secret, key: &str, env: &BTreeMap<String, String>) -> Result<Bearer> {
        let from = |text: &str| {
            tokens(text).map_err(|why| match secret {
                Secret::File(path) => Error::usage(format!("{key}: {} {why}", path.display())),
                Secret::Env(var) => Error::usage(format!("{key}: {var} {why}")),
            })
        };
        Ok(match secret {
            Secret::Env(_) => Bearer::Fixed(from(&secrets::read(secret, key, env)?)?),
            Secret::File(path) => {
                let text = secrets::read_file(path, key)?;
                Bearer::File {
                    path: path.clone(),
                    read: Mutex::new((stamp(path), from(&text)?)),
                }
            }
        })
    }

    /// Whether `token` is one of the tokens; a file is read again when it changed.
    fn matches(&self, token: &[u8], key: &str) -> bool {
        let check = |tokens: &[String]| {
            // Every token is compared, so that timing says nothing about which matched.
            tokens
                .iter()
                .fold(0u8, |acc, t| acc | t.as_bytes().ct_eq(token).unwrap_u8())
                == 1
        };
        match self {
            Bearer::Fixed(tokens) => check(tokens),
            Bearer::File { path, read } => {
                let mut read = read.lock().unwrap_or_else(|p| p.into_inner());
                let now = stamp(path);
                if now.is_some() && now != read.0 {
                    match secrets::read_file(path, key).map(|text| tokens(&text)) {
                        Ok(Ok(tokens)) => *read = (now, tokens),
                        Ok(Err(why)) => warn!(
                            "keeping the tokens read before from {key}: {} {why}",
                            path.display()
                        ),
                        Err(e) => warn!("keeping the tokens read before from {key}: {e:#}"),
                    }
                }
                check(&read.1)
            }
        }
    }
}

/// The tokens, one a line; `#` starts a comment line. None at all would let nobody in.
fn tokens(text: &str) -> Result<Vec<String>, &'static str> {
    let tokens: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    if tokens.is_empty() {
        return Err("holds no token, only comments; put one token a line");
    }
    Ok(tokens)
}

fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BasicAuth;

    fn webhook(bearer: Option<Secret>, basic: Option<BasicAuth>) -> Webhook {
        Webhook {
            bearer_tokens: bearer,
            read_tokens: None,
            basic_auth: basic,
            max_body_bytes: 1 << 20,
            header_read_timeout: std::time::Duration::from_secs(10),
            body_read_timeout: std::time::Duration::from_secs(30),
            idle_timeout: std::time::Duration::from_secs(60),
            max_connections: 10_000,
        }
    }

    #[test]
    fn bearer_tokens_rotate_with_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens");
        std::fs::write(&file, "old-token\n").unwrap();
        let auth = Auth::load(
            &webhook(Some(Secret::File(file.clone())), None),
            &BTreeMap::new(),
        )
        .unwrap();
        assert!(auth.allows(Some(b"Bearer old-token")));
        assert!(!auth.allows(Some(b"Bearer old-toke")));
        assert!(!auth.allows(Some(b"old-token")));
        assert!(!auth.allows(None));
        std::fs::write(&file, "# rotating\nold-token\nnew-token-longer\n").unwrap();
        assert!(auth.allows(Some(b"Bearer new-token-longer")));
        std::fs::write(&file, "new-token-longer\n").unwrap();
        assert!(!auth.allows(Some(b"Bearer old-token")));
        assert!(auth.allows(Some(b"Bearer new-token-longer")));
    }

    #[test]
    fn basic_auth_as_alertmanager_sends_it() {
        let env = BTreeMap::from([("PW".to_string(), "s3cret".to_string())]);
        let basic = BasicAuth {
            username: "am".into(),
            password: Secret::Env("PW".into()),
        };
        let auth = Auth::load(&webhook(None, Some(basic)), &env).unwrap();
        // base64("am:s3cret")
        assert!(auth.allows(Some(b"Basic YW06czNjcmV0")));
        assert!(!auth.allows(Some(b"Basic YW06d3Jvbmc=")));
        assert!(!auth.allows(Some(b"Bearer s3cret")));
    }

    #[test]
    fn the_scheme_is_case_insensitive_and_the_credentials_are_not() {
        let env = BTreeMap::from([
            ("TOKEN".to_string(), "t0ken".to_string()),
            ("PW".to_string(), "s3cret".to_string()),
        ]);
        let basic = BasicAuth {
            username: "am".into(),
            password: Secret::Env("PW".into()),
        };
        let auth = Auth::load(
            &webhook(Some(Secret::Env("TOKEN".into())), Some(basic)),
            &env,
        )
        .unwrap();
        for header in [
            "Bearer t0ken",
            "bearer t0ken",
            "BEARER t0ken",
            "bEaReR   t0ken ",
            "Basic YW06czNjcmV0",
            "basic YW06czNjcmV0",
            "BASIC YW06czNjcmV0",
        ] {
            assert!(auth.allows(Some(header.as_bytes())), "{header}");
            assert!(auth.allows_read(Some(header.as_bytes())), "{header}");
        }
        for header in [
            "bearer T0KEN",
            "Bearert0ken",
            "Bearer",
            "Token t0ken",
            "basic yw06czNjcmV0",
            "t0ken",
            "",
        ] {
            assert!(!auth.allows(Some(header.as_bytes())), "{header}");
        }
    }

    #[test]
    fn a_tokens_file_of_comments_only_is_refused_at_start_up() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens");
        std::fs::write(&file, "# put the token here\n\n").unwrap();
        let err = Auth::load(
            &webhook(Some(Secret::File(file.clone())), None),
            &BTreeMap::new(),
        )
        .err()
        .unwrap();
        assert_eq!(
            err.to_string(),
            format!(
                "webhook.bearer_tokens_file: {} holds no token, only comments; put one token a line",
                file.display()
            )
        );
    }
}
