//! Who may post to the webhook: the `Authorization` header Alertmanager's `http_config` sends
//! (`authorization.credentials` as `Bearer`, or `basic_auth`), compared in constant time. The
//! bearer tokens file holds one token a line (several during a rotation) and is read again
//! when it changes.

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

pub struct Auth {
    bearer: Option<Bearer>,
    /// `Basic <base64(user:password)>`, as the header carries it.
    basic: Option<String>,
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
            Some(Secret::Env(_)) => {
                let secret = webhook.bearer_tokens.as_ref().expect("matched Some");
                Some(Bearer::Fixed(tokens(&secrets::read(
                    secret,
                    "webhook.bearer_tokens_file",
                    env,
                )?)))
            }
            Some(Secret::File(path)) => {
                let text = secrets::read_file(path, "webhook.bearer_tokens_file")?;
                Some(Bearer::File {
                    path: path.clone(),
                    read: Mutex::new((stamp(path), tokens(&text))),
                })
            }
        };
        let basic = match &webhook.basic_auth {
            None => None,
            Some(b) => {
                let password = secrets::read(&b.password, "webhook.basic_auth.password_file", env)?;
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{}:{password}", b.username))
                ))
            }
        };
        Ok(Auth { bearer, basic })
    }

    /// Whether an `Authorization` header value lets the request in.
    /// Whether basic authentication is accepted: a browser asked for credentials can give them.
    pub fn takes_basic(&self) -> bool {
        self.basic.is_some()
    }

    pub fn allows(&self, header: Option<&[u8]>) -> bool {
        let Some(header) = header else {
            return false;
        };
        let mut ok = false;
        if let (Some(bearer), Some(token)) = (&self.bearer, header.strip_prefix(b"Bearer ")) {
            let token = token.trim_ascii();
            let check = |tokens: &[String]| {
                // Every token is compared, so that timing says nothing about which matched.
                tokens
                    .iter()
                    .fold(0u8, |acc, t| acc | t.as_bytes().ct_eq(token).unwrap_u8())
                    == 1
            };
            ok |= match bearer {
                Bearer::Fixed(tokens) => check(tokens),
                Bearer::File { path, read } => {
                    let mut read = read.lock().unwrap_or_else(|p| p.into_inner());
                    let now = stamp(path);
                    if now.is_some() && now != read.0 {
                        match secrets::read_file(path, "webhook.bearer_tokens_file") {
                            Ok(text) => *read = (now, tokens(&text)),
                            Err(e) => warn!("keeping the webhook tokens read before: {e:#}"),
                        }
                    }
                    check(&read.1)
                }
            };
        }
        if let Some(basic) = &self.basic {
            ok |= basic.as_bytes().ct_eq(header.trim_ascii()).unwrap_u8() == 1;
        }
        ok
    }
}

fn tokens(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
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
            basic_auth: basic,
            max_body_bytes: 1 << 20,
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
}
