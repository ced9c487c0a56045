//! Credentials for registries from a Docker config file — `{"auths": {HOST: {"auth":
//! base64(user:password)} | {"username", "password"}}}` —, the form of a cluster's own
//! image-pull Secret (`.dockerconfigjson`), so that the Secret can be mounted as it is. Read once
//! at start-up.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use base64::Engine as _;
use serde::Deserialize;

use crate::error::Error;

/// A user name and password per registry host.
#[derive(Clone, Default)]
pub struct Credentials {
    by_host: HashMap<String, (String, String)>,
    /// The file they came from, and the setting that names it, for messages.
    file: Option<(PathBuf, String)>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("hosts", &self.by_host.keys().collect::<Vec<_>>())
            .field("file", &self.file)
            .finish()
    }
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: HashMap<String, Entry>,
}

#[derive(Deserialize)]
struct Entry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl Credentials {
    /// Reads a Docker config file; `setting` names it in messages (`registry.auth_file`).
    pub fn load(path: &Path, setting: &str) -> Result<Credentials> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::usage(format!("{setting}: {}: {e}", path.display())))?;
        let mut credentials = Credentials::parse(&text)
            .map_err(|e| Error::usage(format!("{setting}: {}: {e}", path.display())))?;
        credentials.file = Some((path.to_path_buf(), setting.to_string()));
        Ok(credentials)
    }

    /// The credentials in a Docker config file's text.
    pub fn parse(text: &str) -> Result<Credentials, String> {
        let file: ConfigFile = serde_json::from_str(text).map_err(|e| {
            format!("not a Docker config file ({{\"auths\": {{HOST: {{\"auth\": …}}}}}}): {e}")
        })?;
        let mut by_host = HashMap::new();
        for (key, entry) in file.auths {
            let pair = match (entry.auth, entry.username, entry.password) {
                (Some(auth), _, _) if !auth.is_empty() => {
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(auth.trim())
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok())
                        .ok_or_else(|| {
                            format!("auths.{key}.auth is not base64 of user:password")
                        })?;
                    let (user, password) = decoded.split_once(':').ok_or_else(|| {
                        format!("auths.{key}.auth is not base64 of user:password")
                    })?;
                    (user.to_string(), password.to_string())
                }
                (_, Some(user), Some(password)) => (user, password),
                _ => {
                    return Err(format!(
                        "auths.{key} has neither auth nor username and password"
                    ))
                }
            };
            by_host.insert(host_key(&key), pair);
        }
        Ok(Credentials {
            by_host,
            file: None,
        })
    }

    /// The user name and password for `host` (as its API is reached).
    pub fn for_host(&self, host: &str) -> Option<&(String, String)> {
        self.by_host.get(&host_key(host))
    }

    /// The file as a message names it: `registry.auth_file (/etc/…)`; `None` without one.
    pub fn named(&self) -> Option<String> {
        self.file
            .as_ref()
            .map(|(path, setting)| format!("{setting} ({})", path.display()))
    }
}

/// A host as config files spell it, made comparable: no scheme, no path, lower case, every
/// name of Docker Hub one (`https://index.docker.io/v1/`, `registry-1.docker.io`, `docker.io`).
fn host_key(key: &str) -> String {
    let key = key.trim();
    let key = key.split_once("://").map_or(key, |(_, rest)| rest);
    let host = key.split('/').next().unwrap_or(key).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_string()
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_forms_and_every_spelling_of_docker_hub() {
        let auth = base64::engine::general_purpose::STANDARD.encode("bot:s3cret:with:colons");
        let text = format!(
            r#"{{"auths": {{
                "https://index.docker.io/v1/": {{"auth": "{auth}"}},
                "REGISTRY.internal:5000": {{"username": "ci", "password": "pw"}}
            }}}}"#
        );
        let c = Credentials::parse(&text).unwrap();
        assert_eq!(
            c.for_host("registry-1.docker.io"),
            Some(&("bot".to_string(), "s3cret:with:colons".to_string()))
        );
        assert_eq!(
            c.for_host("registry.internal:5000"),
            Some(&("ci".to_string(), "pw".to_string()))
        );
        assert_eq!(c.for_host("ghcr.io"), None);
        assert!(Credentials::parse(r#"{"auths": {"x": {}}}"#)
            .unwrap_err()
            .contains("auths.x has neither"));
        assert!(Credentials::parse(r#"{"auths": {"x": {"auth": "!!"}}}"#)
            .unwrap_err()
            .contains("not base64"));
        assert!(format!("{c:?}").contains("docker.io") && !format!("{c:?}").contains("pw"));
    }
}
