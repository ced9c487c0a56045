//! Docker config files (`~/.docker/config.json`, a Kubernetes `dockerconfigjson` secret)
//! holding credentials for a test registry, in both forms clients meet: `auth` as
//! base64(`user:password`), which `docker login` writes, and `username` with `password`.

use base64::Engine;
use serde_json::json;

use super::Registry;

/// `{"auths": {"127.0.0.1:PORT": {"auth": base64("USER:PASSWORD")}}}`.
pub fn docker_config(registry: &Registry, user: &str, password: &str) -> String {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    json!({"auths": {registry.host(): {"auth": auth}}}).to_string()
}

/// `{"auths": {"127.0.0.1:PORT": {"username": "USER", "password": "PASSWORD"}}}`.
pub fn docker_config_username_password(registry: &Registry, user: &str, password: &str) -> String {
    json!({"auths": {registry.host(): {"username": user, "password": password}}}).to_string()
}
